#include "aggregate/ring_drainer.h"

#include <unistd.h>

#include <algorithm>
#include <ctime>

#include "common/clock.h"

namespace memscope {
namespace {
constexpr size_t kMaxBatch = 65536;
// A drain smaller than this means the timer could wait longer.
constexpr size_t kSmallBatch = 1024;
constexpr int kMaxBackoff = 4;  // the period grows to at most 4x the base
// Rates assumed before any are seen: about what two CPUs can submit when
// every call is traced on a host with cheap traps.
constexpr double kAssumedPeakRecordsPerS = 1e6;
// Ring bytes per record: the record and the kernel's 8-byte header.
constexpr double kRingBytesPerRecord = sizeof(ms_record) + 8;
}  // namespace

RingDrainer::RingDrainer(int ringbuf_fd, Aggregator& aggregator, std::mutex& lock, int new_site_fd,
                         std::chrono::microseconds period)
    : reader_(ringbuf_fd), aggregator_(aggregator), lock_(lock), new_site_fd_(new_site_fd), period_(period) {
  pending_.resize(kMaxBatch);
}

RingDrainer::~RingDrainer() { stop(); }

size_t RingDrainer::drain_once() {
  size_t total = 0;
  for (;;) {
    const size_t n = reader_.read(pending_.data(), kMaxBatch);
    if (!n) return total;
    decode({pending_.data(), n}, monotonic_ns(), batch_);
    size_t sites;
    {
      std::lock_guard<std::mutex> g(lock_);
      aggregator_.apply(batch_);
      sites = aggregator_.sites().size();
    }
    if (sites != known_sites_ && new_site_fd_ >= 0) {
      uint64_t one = 1;
      (void)!write(new_site_fd_, &one, sizeof one);
    }
    known_sites_ = sites;
    batches_.fetch_add(1, std::memory_order_relaxed);
    records_.fetch_add(n, std::memory_order_relaxed);
    total += n;
    if (n < kMaxBatch) return total;
  }
}

void RingDrainer::start() {
  thread_ = std::thread([this] { run(); });
}

void RingDrainer::run() {
  using std::chrono::microseconds;
  microseconds wait = period_;
  uint64_t last = monotonic_ns();
  while (!stop_.load(std::memory_order_acquire)) {
    const size_t n = drain_once();
    const uint64_t now = monotonic_ns();
    if (now > last) peak_records_per_s_ = std::max(peak_records_per_s_, n * 1e9 / static_cast<double>(now - last));
    last = now;
    // Longest wait that keeps the ring under a quarter full at the peak rate.
    const double peak = std::max(peak_records_per_s_, kAssumedPeakRecordsPerS);
    const auto safe = microseconds(static_cast<int64_t>(reader_.size_bytes() / 4 / kRingBytesPerRecord / peak * 1e6));
    const auto longest = std::max(period_, std::min(period_ * kMaxBackoff, safe));
    wait = n >= kSmallBatch ? period_ : std::min(wait * 2, longest);
    std::this_thread::sleep_for(wait);
  }
}

void RingDrainer::stop() {
  if (!stop_.exchange(true) && thread_.joinable()) thread_.join();
  if (thread_.joinable()) thread_.join();
  drain_once();
}

}  // namespace memscope
