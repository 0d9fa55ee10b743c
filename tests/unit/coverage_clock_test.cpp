#include "sampling/coverage_clock.h"

#include "memscope/processes.h"

#include <catch2/catch.hpp>

using namespace memscope;

namespace {

// 2 s of user CPU, 0.5 s of it in windows; 10 M hits, 6 M of them in windows.
ClockSums busy(uint64_t frees_in, uint64_t frees_total, bool frees_exact = true) {
  ClockSums s;
  s.frees_in_windows = frees_in;
  s.frees_total = frees_total;
  s.user_cpu_in_windows_s = 0.5;
  s.user_cpu_total_s = 2.0;
  s.hits_in_windows = 6'000'000;
  s.hits_total = 10'000'000;
  s.cpu_in_windows_s = 6.5;
  s.cpu_total_s = 12.5;
  s.frees_exact = frees_exact;
  return s;
}

}  // namespace

TEST_CASE("coverage clock: the free clock while the release probes stayed attached", "[coverage]") {
  const Coverage c = coverage_of(busy(2000, 8000), {50, 1000});
  CHECK(c.clock == "frees");
  CHECK(c.value == Approx(0.25));
  // The others are reported beside it: raw user CPU 0.5 / 2; corrected,
  // 0.5 - 6 M x 50 ns = 0.2 s in windows, 1.5 - 4 M x 50 ns = 1.3 s out;
  // all CPU less 1 us a hit, 0.5 s in windows and 2 s out.
  CHECK(c.by_frees == Approx(0.25));
  CHECK(c.by_user_cpu == Approx(0.25));
  CHECK(c.by_user_cpu_corrected == Approx(0.2 / 1.5));
  CHECK(c.by_cpu_corrected == Approx(0.5 / 2.5));
}

TEST_CASE("coverage clock: user CPU less the traps' inflation when the frees do not tell", "[coverage]") {
  // Too few frees inside windows to trust them.
  Coverage c = coverage_of(busy(10, 40), {50, 1000});
  CHECK(c.clock == "user_cpu_corrected");
  CHECK(c.value == Approx(0.2 / 1.5));
  // Frees not counted between windows (release probes windowed too): not a
  // clock however many fell in windows.
  c = coverage_of(busy(50'000, 60'000, false), {50, 1000});
  CHECK(c.clock == "user_cpu_corrected");
  CHECK(c.value == Approx(0.2 / 1.5));
}

TEST_CASE("coverage clock: the sampled user-mode clock before user CPU where it ran", "[coverage]") {
  // Release probes windowed: the frees are no clock; 300 of 2400 ticks in
  // windows, where user CPU (2-4x high on these hosts) says otherwise.
  ClockSums s = busy(50'000, 60'000, false);
  s.user_ticks_in_windows = 300;
  s.user_ticks_total = 2400;
  Coverage c = coverage_of(s, {50, 1000});
  CHECK(c.clock == "user_ticks");
  CHECK(c.value == Approx(0.125));
  CHECK(c.by_user_ticks == Approx(0.125));
  REQUIRE(c.choice);
  CHECK(c.choice->kind == ClockChoice::Kind::user_ticks);
  CHECK(c.by_user_ticks_corrected == -1);
  // Less 20 ns of user time a hit on this clock: 0.3 - 6 M x 20 ns = 0.18 s
  // in windows, 2.1 - 4 M x 20 ns = 2.02 s out.
  c = coverage_of(s, {50, 1000, 20});
  CHECK(c.clock == "user_ticks_corrected");
  CHECK(c.value == Approx(0.18 / 2.2));
  REQUIRE(c.choice);
  CHECK(c.choice->per_hit == Approx(20.0 / MS_USER_CLOCK_PERIOD_NS));
  // The exact free clock still comes first.
  s.frees_exact = true;
  c = coverage_of(s, {50, 1000});
  CHECK(c.clock == "frees");
  CHECK(c.by_user_ticks == Approx(0.125));
  // No tick inside a window (the clock did not run, or the process never
  // ran its own code there): user CPU as before.
  s = busy(10, 40);
  s.user_ticks_total = 2400;
  c = coverage_of(s, {50, 1000});
  CHECK(c.clock == "user_cpu_corrected");
}

TEST_CASE("coverage clock: raw user CPU when the inflation was not measured, then the frees, then none",
          "[coverage]") {
  Coverage c = coverage_of(busy(10, 40), {});
  CHECK(c.clock == "user_cpu");
  CHECK(c.value == Approx(0.25));
  CHECK(c.by_user_cpu_corrected == -1);
  // The hits' inflation exceeds the user time in windows: nothing left of
  // the corrected clock there, raw user CPU instead.
  c = coverage_of(busy(10, 40), {200, 0});
  CHECK(c.clock == "user_cpu");
  // A quiet process: no CPU tick inside windows, a few frees.
  ClockSums quiet;
  quiet.frees_in_windows = 30;
  quiet.frees_total = 600;
  quiet.user_cpu_total_s = 0.5;
  c = coverage_of(quiet, {50, 1000});
  CHECK(c.clock == "frees");
  CHECK(c.value == Approx(0.05));
  quiet.frees_exact = false;
  c = coverage_of(quiet, {50, 1000});
  CHECK(c.clock == "none");
  CHECK(c.value == 0);
  c = coverage_of({}, {});
  CHECK(c.clock == "none");
  CHECK(c.value == 0);
}

TEST_CASE("coverage clock: totals never below what the windows held", "[coverage]") {
  ClockSums s;
  s.frees_in_windows = 5000;
  s.frees_total = 4000;  // read a moment before the last window's close
  s.user_cpu_in_windows_s = 1.0;
  s.user_cpu_total_s = 0.9;
  const Coverage c = coverage_of(s, {});
  CHECK(c.sums.frees_total == 5000);
  CHECK(c.value == 1.0);
  CHECK(c.by_user_cpu == 1.0);
}
