#include "attach/calibration_figures.h"

#include <catch2/catch.hpp>

using namespace memscope;

TEST_CASE("calibration: a hit's and a record's cost from the timed loops", "[calibration]") {
  // 4000 pairs, fastest of 3 rounds: 0.1 ms bare, 8.1 ms probed (3 x 8000
  // hits in all: 2 per pair), 16.1 ms sampled.
  TimedLoops t{100'000, 8'100'000, 16'100'000, 24'000, 4000, 3};
  const ProbeCost c = cost_of_loops(t);
  CHECK(c.per_call_ns == Approx(1000));   // 8 ms over 8000 calls
  CHECK(c.per_hit_ns == Approx(1000));    // over the 8000 hits of one round
  CHECK(c.per_record_ns == Approx(1000));  // 8 ms more over 8000 records
  // Entry and return probes: twice the hits, each half the price.
  t.probed_hits = 48'000;
  CHECK(cost_of_loops(t).per_hit_ns == Approx(500));
  // No hit counted: the per-hit cost cannot be told; noise never goes below 0.
  t.probed_hits = 0;
  t.probed_ns = 50'000;
  const ProbeCost none = cost_of_loops(t);
  CHECK(none.per_hit_ns == 0);
  CHECK(none.per_call_ns == 0);
  CHECK(cost_of_loops({}).per_hit_ns == 0);
}

TEST_CASE("calibration: the user CPU a hit adds", "[calibration]") {
  // Bare: 10 ns of user time per pair. Probed: 2 hits per pair and 150 ns
  // of user time per pair: 140 ns more, 70 ns per hit.
  const UserTimeLoop bare{5'000'000, 50e6, 0};
  CHECK(user_ns_per_hit(bare, {200'000, 30e6, 400'000}) == Approx(70));
  // The loops' lengths do not matter, only their rates.
  CHECK(user_ns_per_hit({1'000'000, 10e6, 0}, {400'000, 60e6, 800'000}) == Approx(70));
  // Tick noise put the probed loop under the bare one: no inflation, not a negative one.
  CHECK(user_ns_per_hit(bare, {200'000, 1e6, 400'000}) == 0);
  // Nothing to tell it from.
  CHECK(user_ns_per_hit(bare, {200'000, 30e6, 0}) == 0);
  CHECK(user_ns_per_hit({}, {200'000, 30e6, 400'000}) == 0);
  CHECK(user_ns_per_hit(bare, {}) == 0);
}
