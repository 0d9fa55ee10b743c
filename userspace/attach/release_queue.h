// Probe events closed one batch after another on a thread of their own,
// while the agent goes on: a close takes a kernel mutex that another's
// grace periods may hold (~90 ms each, one at a time), which must not stall
// the agent's loop.
#pragma once
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace memscope {

class ReleaseQueue {
 public:
  ReleaseQueue() = default;
  ~ReleaseQueue();  // runs what is queued, then joins
  ReleaseQueue(const ReleaseQueue&) = delete;
  ReleaseQueue& operator=(const ReleaseQueue&) = delete;

  // Queues `job`; the thread starts with the first. Where no thread can be
  // started the job runs here and now.
  void push(std::function<void()> job);
  // Returns once every job queued so far has run.
  void drain();

 private:
  void run();

  std::mutex mutex_;
  std::condition_variable wake_, idle_;
  std::deque<std::function<void()>> jobs_;
  size_t running_ = 0;
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace memscope
