// Drains the ring buffer on its own thread, on a timer: the probes submit
// without wake-ups (a wake-up is a trap in the traced thread), so nothing
// would wake a poll. Records are copied out in batches, decoded into columns
// and handed to the aggregator under a lock that report readers share.
//
// The timer adapts: every 2 ms while records flow in full batches, backing
// off to 8 ms when batches are small, because every wake-up costs agent CPU
// even when the ring is empty (docs/measurements.md#drain-wake-ups). The back-off never
// lets the ring fill past a quarter at the highest rate seen so far.
#pragma once
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "aggregate/aggregator.h"
#include "aggregate/ring_reader.h"

namespace memscope {

class RingDrainer {
 public:
  // `new_site_fd` (an eventfd, or -1) is signalled when a batch brings
  // sites not seen before, so that their process's mappings can be read
  // while it still lives.
  RingDrainer(int ringbuf_fd, Aggregator& aggregator, std::mutex& lock, int new_site_fd = -1,
              std::chrono::microseconds period = std::chrono::milliseconds(2));
  ~RingDrainer();

  void start();
  // Drains what is left, then stops the thread. Idempotent.
  void stop();

  uint64_t batches() const { return batches_.load(std::memory_order_relaxed); }
  uint64_t records() const { return records_.load(std::memory_order_relaxed); }

 private:
  void run();
  size_t drain_once();  // returns the records drained

  RingReader reader_;
  Aggregator& aggregator_;
  std::mutex& lock_;
  int new_site_fd_;
  size_t known_sites_ = 0;
  std::chrono::microseconds period_;
  std::vector<ms_record> pending_;
  RecordBatch batch_;
  double peak_records_per_s_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> batches_{0}, records_{0};
  std::thread thread_;
};

}  // namespace memscope
