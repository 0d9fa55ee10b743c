#include "sampling/duty_cycle.h"

#include <catch2/catch.hpp>

using namespace memscope;

namespace {
constexpr uint64_t kSec = 1'000'000'000;
}

TEST_CASE("duty fraction: keeps the average cost at the budget", "[duty]") {
  CHECK(duty_fraction(0.03, 0.02, 0.0, 0.01) == 1.0);            // fits attached
  CHECK(duty_fraction(0.03, 0.50, 0.05, 0.01) == Approx(0.01));  // the release probes alone exceed it
  const double f = duty_fraction(0.03, 0.50, 0.01, 0.001);
  CHECK(f * 0.50 + (1 - f) * 0.01 == Approx(0.03));
}

TEST_CASE("duty cycle: a fixed schedule opens and closes on time and sums the clocks of its windows", "[duty]") {
  DutyCycle d(1.0, 4.0, "--duty-cycle", 0);
  d.opened(0, {{7, {0, 10.0}}});
  CHECK(d.open());
  CHECK(d.next_change_ns() == 1 * kSec);
  d.closed(1 * kSec, {{7, {100, 10.5}}});
  CHECK(!d.open());
  CHECK(d.next_change_ns() == 4 * kSec);
  d.opened(4 * kSec, {{7, {400, 12.0}}});
  CHECK(d.next_change_ns() == 5 * kSec);
  d.closed(5 * kSec, {{7, {500, 12.5}}});
  // 200 of 1000 frees fell in windows: below the free clock's minimum, so
  // user CPU decides (1.0 of 4.0 s), and both are reported.
  DutyCycleReport r = d.finish(8 * kSec, {{7, {1000, 14.0}}}, {});
  CHECK(r.windows == 2);
  CHECK(r.open_s == Approx(2.0));
  CHECK(r.total_s == Approx(8.0));
  const Coverage& c = r.coverage.at(7);
  CHECK(c.sums.frees_in_windows == 200);
  CHECK(c.sums.frees_total == 1000);
  CHECK(c.by_frees == Approx(0.2));
  CHECK(c.by_user_cpu == Approx(0.25));
  CHECK(c.clock == "user_cpu");
}

TEST_CASE("duty cycle: a process first counted inside a window, and a window open at the end", "[duty]") {
  DutyCycle d(1.0, 2.0, "--duty-cycle", 0);
  d.opened(0, {});
  d.closed(1 * kSec, {{9, {3000, 1.0}}});  // its counters started in this window
  d.opened(2 * kSec, {{9, {5000, 2.0}}});
  DutyCycleReport r = d.finish(static_cast<uint64_t>(2.5 * kSec), {{9, {6000, -1}}}, {});  // gone: last CPU kept
  CHECK(r.windows == 2);
  const Coverage& c = r.coverage.at(9);
  CHECK(c.sums.frees_in_windows == 4000);
  CHECK(c.by_frees == Approx(4000.0 / 6000.0));
  CHECK(c.clock == "frees");
}

TEST_CASE("duty cycle under --max-overhead: open until a fraction is set, then cycling", "[duty]") {
  DutyCycle d(1.0, 1.0, "--max-overhead", 0);
  d.opened(0, {});
  CHECK(d.next_change_ns() == 0);  // attached until the planner says otherwise
  d.set_fraction(0.1, "test");
  CHECK(d.fraction() == Approx(0.1));
  CHECK(d.next_change_ns() == 1 * kSec);
  d.closed(1 * kSec, {});
  CHECK(d.next_change_ns() == 10 * kSec);
}

TEST_CASE("duty cycle: the window's length follows the share of time", "[duty]") {
  DutyCycle d(1.0, 1.0, "--max-overhead", 0);
  WindowLength w;
  w.min_s = 0.1;
  d.set_length(w);
  d.opened(0, {});
  d.set_fraction(0.03, "test");
  CHECK(d.window_s() == Approx(0.18));
  CHECK(d.period_s() == Approx(6.0));
  CHECK(d.next_change_ns() == static_cast<uint64_t>(0.18 * kSec));
  d.closed(static_cast<uint64_t>(0.18 * kSec), {});
  CHECK(d.next_change_ns() == 6 * kSec);
  // Ten runs of one minute each at 3%: ten windows a minute, where windows
  // of a fixed second gave two.
  CHECK(60.0 / d.period_s() == Approx(10.0));
}

TEST_CASE("duty planner: short windows are judged together, a long one alone", "[duty]") {
  // Windows of 0.1 s of CPU: the planner judges the last 0.5 s of them.
  DutyPlanner p(0.03, 1000, 0, 0.001);
  for (int i = 0; i < 5; ++i) p.window({20000, 0, 0, 0.1});  // 20%
  CHECK(p.in_window() == Approx(0.2));
  p.window({10000, 0, 0, 0.1});  // one cheaper window (quantized CPU, or the load)
  CHECK(p.in_window() == Approx(90000.0 * 1000 / 0.5e9));  // the five latest together
  // A window of 1 s of CPU is judged alone.
  p.window({50000, 0, 0, 1.0});
  CHECK(p.in_window() == Approx(0.05));
}

TEST_CASE("duty planner: windows only when the traps alone exceed the budget", "[duty]") {
  // 1 us per trap, 1 s of CPU: 10,000 traps are 1%, within a 3% budget.
  DutyPlanner cheap(0.03, 1000, 0, 0.01);
  CHECK(!cheap.fraction());
  cheap.window({10000, 0, 5000, 1.0});
  CHECK(*cheap.fraction() == 1.0);
  // 400,000 traps are 40%; the 100,000 release calls alone are then about
  // 100 ms of the 700 ms the process would use without the others: ~14%,
  // over the budget: the least share of time.
  DutyPlanner dear(0.03, 1000, 0, 0.01);
  dear.window({400000, 0, 100000, 1.0});
  CHECK(dear.between() == Approx(0.1 / 0.7));
  CHECK(*dear.fraction() == Approx(0.01));
  // Measured between windows at 1%: the share that averages 3%.
  dear.between({10000, 0, 10000, 1.0});
  const double f = *dear.fraction();
  CHECK(f * dear.in_window() + (1 - f) * 0.01 == Approx(0.03));
  // The load drops: the traps alone fit again, the probes may stay.
  dear.window({20000, 0, 10000, 1.0});
  CHECK(*dear.fraction() == 1.0);
}

TEST_CASE("duty cycle: hits and all CPU summed as user CPU is, for the corrected clocks", "[duty]") {
  DutyCycle d(1.0, 4.0, "--duty-cycle", 0);
  d.opened(0, {{7, {0, 1.0, 0, 2.0}}});
  d.closed(1 * kSec, {{7, {100, 1.5, 1000, 3.0}}});
  d.opened(4 * kSec, {{7, {400, 3.0, 1500, 5.0}}});
  // A window open at the end is closed there.
  DutyCycleReport r = d.finish(5 * kSec, {{7, {600, 3.4, 2700, 6.0}}}, {100, 0});
  const Coverage& c = r.coverage.at(7);
  CHECK(c.sums.hits_in_windows == 1000 + 1200);
  CHECK(c.sums.hits_total == 2700);
  CHECK(c.sums.user_cpu_in_windows_s == Approx(0.5 + 0.4));
  CHECK(c.sums.user_cpu_total_s == Approx(2.4));
  CHECK(c.sums.cpu_in_windows_s == Approx(1.0 + 1.0));
  CHECK(c.sums.cpu_total_s == Approx(4.0));
  CHECK(c.hit_cost.user_ns == 100);
  // 300 frees in windows: too few; user CPU less 100 ns a hit decides.
  CHECK(c.clock == "user_cpu_corrected");
  CHECK(c.value == Approx((0.9 - 2200 * 100e-9) / (2.4 - 2700 * 100e-9)));
  CHECK(c.by_cpu_corrected == -1);  // its cost per hit not given
}

TEST_CASE("duty planner: with release windows there is no floor, the share is budget / cost", "[duty]") {
  // 400,000 traps of 1 us in 1 s of CPU: 40% with every probe attached;
  // the 300,000 release calls alone ~33% (0.3 s of the 0.9 s the process
  // would use without the others). Apart, the two kinds cost their sum:
  // both get the share that averages 3%.
  DutyPlanner p(0.03, 1000, 0, 0.001, true);
  p.window({400000, 0, 300000, 1.0});
  CHECK(p.between() == Approx(0.3 / 0.9));
  CHECK(*p.fraction() == Approx(0.03 / (0.4 + 0.3 / 0.9)));
  // A whole period while cycling at that share cost 6%, not 3% (the load
  // grew): the share is halved.
  p.period({60000, 0, 0, 1.0}, 0.075);
  CHECK(p.in_window() == Approx(0.8));
  CHECK(*p.fraction() == Approx(0.0375));
  // The load drops so far that the traps fit with every probe attached.
  p.period({1000, 0, 0, 1.0}, 0.0375);
  CHECK(*p.fraction() == 1.0);
  DutyPlanner floor(0.03, 1000, 0, 0.1, true);  // at least one window a minute wins
  floor.window({400000, 0, 300000, 1.0});
  CHECK(*floor.fraction() == Approx(0.1));
}

TEST_CASE("duty cycle: with releases windowed the coverage is read on user CPU", "[duty]") {
  DutyCycle d(1.0, 4.0, "--max-overhead", 0);
  d.use_user_cpu_clock();
  d.opened(0, {{7, {0, 10.0}}});
  d.closed(1 * kSec, {{7, {5000, 10.5}}});  // frees counted in release windows only: not a clock
  const DutyCycleReport r = d.finish(4 * kSec, {{7, {6000, 12.0}}}, {});
  CHECK(r.coverage.at(7).clock == "user_cpu");
  CHECK(r.coverage.at(7).value == Approx(0.25));
}

TEST_CASE("duty planner: a window whose CPU read no tick still counts its hits", "[duty]") {
  DutyPlanner p(0.03, 1000, 0, 0.001);
  p.window({20000, 0, 0, 0.0});  // 0.1 s of work between two ticks
  CHECK(!p.fraction());          // nothing to judge by yet
  p.window({20000, 0, 0, 0.2});
  CHECK(p.in_window() == Approx(40000.0 * 1000 / 0.2e9));  // both windows' hits over the CPU read
}

TEST_CASE("duty cycle: a process gone before a window is not counted in it", "[duty]") {
  DutyCycle d(1.0, 2.0, "--duty-cycle", 0);
  d.opened(0, {{5, {100, 1.0, 10, 1.0}}, {6, {50, 1.0, 5, 1.0}}});
  CHECK(d.closed(1 * kSec, {{5, {200, 1.5, 20, 1.5}}, {6, {60, 1.2, 7, 1.2}}}).count(6) == 1);
  d.opened(2 * kSec, {{5, {300, 2.0, 30, 2.0}}, {6, {60, -1, 7, -1}}});  // 6 exited in the gap
  const auto moved = d.closed(3 * kSec, {{5, {400, 2.5, 40, 2.5}}, {6, {60, -1, 7, -1}}});
  CHECK(moved.count(5) == 1);
  CHECK(moved.count(6) == 0);  // no zero window for the spread
  const DutyCycleReport r = d.finish(3 * kSec, {{5, {400, 2.5, 40, 2.5}}, {6, {60, -1, 7, -1}}}, {});
  CHECK(r.windows_by_process.at(5) == 2);
  CHECK(r.windows_by_process.at(6) == 1);
}
