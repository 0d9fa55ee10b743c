// The control loop's decisions without BPF: a fake port stands for the
// kernel's counters and the probes' windows, and records what the loop asks.
#include "sampling/control_loop.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <ctime>

using namespace memscope;

namespace {

constexpr uint64_t kSec = 1'000'000'000;

class FakePort : public ControlPort {
 public:
  ExactCounts counts{};
  std::map<pid_t, ProcessCounts> processes;  // and their PIDs live
  std::vector<ms_config> published;
  std::vector<std::string> log;  // the window calls, in order
  int rate_changes = 0;

  ExactCounts totals() const override { return counts; }
  std::map<pid_t, ProcessCounts> per_process() const override { return processes; }
  std::vector<pid_t> live_pids() const override {
    std::vector<pid_t> out;
    for (const auto& [pid, c] : processes) out.push_back(pid);
    return out;
  }
  void publish(const ms_config& config) override { published.push_back(config); }
  void rates_changed(double, const TierConfig&, const TierConfig&, const std::string&) override { ++rate_changes; }
  void split_windowed(bool releases) override { log.push_back(releases ? "split releases" : "split"); }
  std::vector<std::string> attach_window(ProbeWindow kind, const std::set<pid_t>&) override {
    log.push_back(kind == ProbeWindow::releases ? "attach releases" : "attach");
    return {};
  }
  void count_window(ProbeWindow kind, bool on) override {
    log.push_back(std::string(on ? "count on" : "count off") + (kind == ProbeWindow::releases ? " releases" : ""));
  }
  void detach_window(ProbeWindow kind) override {
    log.push_back(kind == ProbeWindow::releases ? "detach releases" : "detach");
  }
  bool window_closing() const override { return false; }
};

// `calls` small mallocs of 64 bytes counted by the kernel in all.
void count_mallocs(FakePort& port, uint64_t calls) {
  port.counts.by_api_class[MS_API_MALLOC][6].calls = calls;
  port.counts.by_api_class[MS_API_MALLOC][6].bytes = calls * 64;
}

// Uses this process's CPU for `seconds`: the loop reads it from /proc as a
// target's.
void burn_cpu(double seconds) {
  timespec t0{}, t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
  volatile uint64_t x = 0;
  do {
    for (int i = 0; i < 100000; ++i) x = x + i;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  } while ((t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9 < seconds);
}

}  // namespace

TEST_CASE("control loop: without a budget or windows it publishes the user's rates once and never wakes", "[control]") {
  FakePort port;
  ConfigHistory history;
  std::mutex lock;
  ControlSettings s;
  ControlLoop loop(s, {}, history, lock, port, 0);
  loop.start({});
  loop.begin();
  CHECK(port.published.size() == 1);
  CHECK(loop.next_wake(0) == 0);
  count_mallocs(port, 1'000'000);
  loop.step(5 * kSec);
  CHECK(port.published.size() == 1);
  CHECK(port.log.empty());
  CHECK(!loop.windowed());
}

TEST_CASE("control loop: over an events budget the optimizer lowers the rates through the port", "[control]") {
  FakePort port;
  ConfigHistory history;
  std::mutex lock;
  ControlSettings s;
  s.budget.max_events_per_s = 100;
  s.interval_s = 1;
  ControlLoop loop(s, {}, history, lock, port, 0);
  loop.begin();
  CHECK(loop.next_wake(0) == 1 * kSec);
  // 1 M small mallocs a second: at the default small rate, thousands of
  // records a second, far over 100.
  count_mallocs(port, 1'000'000);
  loop.step(1 * kSec);
  REQUIRE(port.published.size() == 2);
  CHECK(port.rate_changes == 1);
  CHECK(history.current().rate[0] < s.tiers.rate[0]);
  CHECK(loop.next_wake(1 * kSec) == 2 * kSec);
}

TEST_CASE("control loop: a fixed duty cycle splits the probes, then closes and opens windows on time", "[control]") {
  FakePort port;
  ConfigHistory history;
  std::mutex lock;
  ControlSettings s;
  s.duty.window_s = 1;
  s.duty.period_s = 3;
  ControlLoop loop(s, {}, history, lock, port, 0);
  REQUIRE(loop.windowed());
  loop.start({});
  loop.begin();
  CHECK(port.log == std::vector<std::string>{"split"});
  loop.step(kSec / 2);  // inside the first window: nothing to do
  CHECK(port.log.size() == 1);
  loop.step(1 * kSec);  // the window closes
  CHECK(port.log == std::vector<std::string>{"split", "count off", "detach"});
  loop.step(3 * kSec);  // the next one opens
  CHECK(port.log == std::vector<std::string>{"split", "count off", "detach", "attach", "count on"});
  loop.end(3 * kSec + kSec / 2);  // an open window is closed at the end
  CHECK(port.log.back() == "count off");
  const DutyCycleReport r = loop.finish(4 * kSec, {}, {});
  CHECK(r.enabled);
  CHECK(r.windows == 2);
}

TEST_CASE("control loop: when the traps alone exceed --max-overhead, windows start after the first interval at the user's rates",
          "[control]") {
  FakePort port;
  ConfigHistory history;
  std::mutex lock;
  ControlSettings s;
  s.budget.max_overhead_pct = 3;
  s.interval_s = 1;
  s.duty.overhead_budget = 0.03;
  s.duty.overhead_window_s = 1;
  ProbeCost cost;
  cost.per_hit_ns = 1000;
  cost.per_record_ns = 2000;
  const pid_t self = getpid();
  port.processes[self] = {};
  ControlLoop loop(s, cost, history, lock, port, 0);
  REQUIRE(loop.windowed());
  loop.start({self});
  loop.begin();
  // The first interval: ~0.2 s of the target's CPU and 1 M traps of 1 us,
  // far over 3% of it.
  burn_cpu(0.2);
  port.processes[self].entry_hits = 1'000'000;
  port.counts.stats[MS_STAT_SAMPLED] = 1000;
  count_mallocs(port, 1'000'000);
  loop.step(1 * kSec);
  // Windows from now on: the first one is due to close at once, and the
  // user's rates were kept throughout (the first interval's window is never
  // sampled at the optimizer's minimum rates).
  CHECK(loop.next_wake(1 * kSec) <= 1 * kSec);
  loop.step(1 * kSec);
  CHECK(port.log == std::vector<std::string>{"split", "count off", "detach"});
  for (const auto& c : port.published) CHECK(c.threshold[0] == port.published.front().threshold[0]);
  CHECK(history.current().rate == s.tiers.rate);
}
