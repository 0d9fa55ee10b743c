#include "attach/release_queue.h"

#include <system_error>

namespace memscope {

ReleaseQueue::~ReleaseQueue() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void ReleaseQueue::push(std::function<void()> job) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!worker_.joinable()) {
      try {
        worker_ = std::thread(&ReleaseQueue::run, this);
      } catch (const std::system_error&) {
      }
    }
    if (worker_.joinable()) {
      jobs_.push_back(std::move(job));
      wake_.notify_all();
      return;
    }
  }
  job();
}

void ReleaseQueue::drain() {
  std::unique_lock<std::mutex> lock(mutex_);
  idle_.wait(lock, [this] { return jobs_.empty() && running_ == 0; });
}

// Runs the jobs in order; at the end, those still queued too.
void ReleaseQueue::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
    if (jobs_.empty()) return;
    std::function<void()> job = std::move(jobs_.front());
    jobs_.pop_front();
    ++running_;
    lock.unlock();
    job();
    lock.lock();
    --running_;
    if (jobs_.empty() && running_ == 0) idle_.notify_all();
  }
}

}  // namespace memscope
