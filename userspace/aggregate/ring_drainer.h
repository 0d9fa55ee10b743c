// Drains the ring buffer on its own thread, on a timer: the probes submit
// without wake-ups (a wake-up is a trap in the traced thread), so nothing
// would wake a poll. Records are copied out in batches, decoded into columns
// and handed to the aggregator under a lock that report readers share.
#pragma once
#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "aggregate/aggregator.h"

struct ring_buffer;

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

  uint64_t batches() const { return batches_.load(); }

 private:
  static int on_record(void* ctx, void* data, size_t size);
  void run();
  void drain_once();

  ring_buffer* rb_ = nullptr;
  Aggregator& aggregator_;
  std::mutex& lock_;
  int new_site_fd_;
  size_t known_sites_ = 0;
  std::chrono::microseconds period_;
  std::vector<ms_record> pending_;
  RecordBatch batch_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> batches_{0};
  std::thread thread_;
};

}  // namespace memscope
