// The sampled user-mode clock's events (bpf/user_clock.bpf.h): a cpu-clock
// perf event on each CPU, sampling at a fixed period of the CPU's time
// (MS_USER_CLOCK_PERIOD_NS while tracing), each sample running the clock's
// program. A software event: it needs
// no hardware PMU, which these hosts lack.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

struct bpf_link;
struct bpf_program;

namespace memscope {

class UserClockEvents {
 public:
  UserClockEvents() = default;
  UserClockEvents(const UserClockEvents&) = delete;
  UserClockEvents& operator=(const UserClockEvents&) = delete;
  ~UserClockEvents() { stop(); }

  // Opens the events on every online CPU, one sample per `period_ns` of
  // the CPU's time, and attaches `prog` to each. Returns an empty string,
  // or why the clock cannot run (then nothing is left open). Calling it
  // again while running does nothing.
  std::string start(bpf_program* prog, uint64_t period_ns);
  bool running() const { return !links_.empty(); }
  // Detaches the program and closes the events.
  void stop();

 private:
  std::vector<bpf_link*> links_;  // one per CPU, each owning its event
};

}  // namespace memscope
