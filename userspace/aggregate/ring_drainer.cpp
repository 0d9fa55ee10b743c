#include "aggregate/ring_drainer.h"

#include <bpf/libbpf.h>

#include <unistd.h>

#include <cstring>
#include <ctime>

#include "common/error.h"

namespace memscope {
namespace {
uint64_t monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + ts.tv_nsec;
}
constexpr size_t kMaxBatch = 65536;
}  // namespace

RingDrainer::RingDrainer(int ringbuf_fd, Aggregator& aggregator, std::mutex& lock, int new_site_fd,
                         std::chrono::microseconds period)
    : aggregator_(aggregator), lock_(lock), new_site_fd_(new_site_fd), period_(period) {
  rb_ = ring_buffer__new(ringbuf_fd, &RingDrainer::on_record, this, nullptr);
  if (!rb_) throw Error("cannot open the BPF ring buffer");
  pending_.reserve(kMaxBatch);
}

RingDrainer::~RingDrainer() {
  stop();
  ring_buffer__free(rb_);
}

int RingDrainer::on_record(void* ctx, void* data, size_t size) {
  auto* self = static_cast<RingDrainer*>(ctx);
  if (size < sizeof(ms_record)) return 0;
  ms_record r;
  std::memcpy(&r, data, sizeof r);
  self->pending_.push_back(r);
  // Stop consuming at a full batch; the rest waits for the next round.
  // A negative return makes libbpf stop after this record.
  return self->pending_.size() >= kMaxBatch ? -1 : 0;
}

void RingDrainer::drain_once() {
  for (;;) {
    pending_.clear();
    ring_buffer__consume(rb_);
    if (pending_.empty()) return;
    decode(pending_, monotonic_ns(), batch_);
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
    if (pending_.size() < kMaxBatch) return;
  }
}

void RingDrainer::start() {
  thread_ = std::thread([this] { run(); });
}

void RingDrainer::run() {
  while (!stop_.load(std::memory_order_acquire)) {
    drain_once();
    std::this_thread::sleep_for(period_);
  }
}

void RingDrainer::stop() {
  if (!stop_.exchange(true) && thread_.joinable()) thread_.join();
  if (thread_.joinable()) thread_.join();
  drain_once();
}

}  // namespace memscope
