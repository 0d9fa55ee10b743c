#include "sampling/release_schedule.h"

#include <catch2/catch.hpp>
#include <vector>

using namespace memscope;

namespace {
constexpr uint64_t kSec = 1'000'000'000;

// Runs a schedule of `window_s` in every 1 s over `periods` periods, from
// attached throughout; returns the windows as [open, close).
std::vector<std::pair<uint64_t, uint64_t>> run(ReleaseSchedule& s, double window_s, uint64_t periods) {
  std::vector<std::pair<uint64_t, uint64_t>> windows;
  s.plan(0, window_s, 1.0);
  uint64_t opened = 0;
  for (int steps = 0; steps < 10'000'000; ++steps) {
    const uint64_t due = s.next_change_ns();
    REQUIRE(due > 0);
    if (due >= periods * kSec) break;
    if (s.open()) {
      s.closed(due, {});
      if (due > opened) windows.emplace_back(opened, due);
    } else {
      s.opened(due, {});
      opened = due;
    }
  }
  return windows;
}
}  // namespace

TEST_CASE("release schedule: every instant of a period is in a window with probability window/period",
          "[release_schedule]") {
  ReleaseSchedule s(42);
  const uint64_t periods = 4000;
  const auto windows = run(s, 0.2, periods);
  // The instant at phase u of each period: in a window in ~20% of periods,
  // near the period's start and end too (a late phase wraps to the start).
  for (double u : {0.01, 0.3, 0.6, 0.99}) {
    uint64_t in = 0;
    size_t w = 0;
    for (uint64_t k = 0; k < periods; ++k) {
      const uint64_t t = k * kSec + static_cast<uint64_t>(u * kSec);
      while (w < windows.size() && windows[w].second <= t) ++w;
      if (w < windows.size() && windows[w].first <= t) ++in;
    }
    INFO("phase " << u << ": " << in << " of " << periods);
    CHECK(in == Approx(0.2 * periods).margin(4 * 0.02 * periods));  // 4 sd of a binomial(4000, 0.2) share is 2.5%
  }
  // Windows' total length is 20% of the time.
  uint64_t open = 0;
  for (const auto& [a, b] : windows) open += b - a;
  CHECK(static_cast<double>(open) / (periods * kSec) == Approx(0.2).margin(0.01));
}

TEST_CASE("release schedule: phases differ between periods and between seeds", "[release_schedule]") {
  ReleaseSchedule a(1), b(2);
  const auto wa = run(a, 0.1, 50), wb = run(b, 0.1, 50);
  REQUIRE(wa.size() > 10);
  REQUIRE(wb.size() > 10);
  CHECK(wa[3].first % kSec != wa[4].first % kSec);
  CHECK(wa[5].first != wb[5].first);
}

TEST_CASE("release schedule: attached throughout until planned, closed at once when planned, user CPU summed",
          "[release_schedule]") {
  ReleaseSchedule s(3);
  CHECK(s.open());
  CHECK(s.next_change_ns() == 0);
  s.opened(0, {{7, {0, 1.0}}});
  s.plan(5 * kSec, 0.5, 2.0);
  CHECK(s.next_change_ns() == 1);  // open since before the first drawn window
  s.closed(5 * kSec, {{7, {0, 3.0}}});
  const uint64_t due = s.next_change_ns();
  CHECK(due >= 5 * kSec);
  CHECK(due < 7 * kSec);
  s.opened(due, {{7, {0, 4.0}}});
  ReleaseSchedule::Summary sum = s.finish(due + kSec / 4, {{7, {0, 4.5}}});
  CHECK(sum.windows == 2);
  CHECK(sum.user_cpu_in_windows_s.at(7) == Approx(2.0 + 0.5));
  // Back to attached throughout: opened at once, then never closed.
  s.plan(due + kSec / 2, 1.0, 1.0);
  CHECK(s.next_change_ns() == 0);
}
