#include "sampling/window_length.h"

#include <catch2/catch.hpp>

using namespace memscope;

TEST_CASE("window length: a window every few seconds, within what the probes allow", "[duty]") {
  WindowLength w;
  w.min_s = 0.1;
  w.max_s = 1.0;
  w.target_period_s = 6.0;
  CHECK(w.for_fraction(1.0) == 1.0);             // not cycling: the longest
  CHECK(w.for_fraction(0.05) == Approx(0.3));    // 0.3 s every 6 s
  CHECK(w.for_fraction(0.01) == Approx(0.1));    // no shorter than the probes allow: every 10 s
  CHECK(w.for_fraction(0.5) == Approx(1.0));     // no longer than the longest
  CHECK(w.least_fraction() == Approx(1.0 / 60));  // a second a minute...
  CHECK(w.for_fraction(w.least_fraction()) == Approx(0.1));  // ...in windows of 0.1 s every 6 s
  w.fixed_s = 0.5;  // --duty-window
  CHECK(w.for_fraction(0.01) == 0.5);
  CHECK(w.least_fraction() == Approx(0.5 / 60));
}
