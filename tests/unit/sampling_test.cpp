#include <catch2/catch.hpp>

#include "common/error.h"
#include "sampling/config_history.h"
#include "sampling/tier_config.h"

using namespace memscope;

TEST_CASE("rates map to 32-bit thresholds and back") {
  CHECK(rate_to_threshold(1.0) == MS_RATE_ONE);
  CHECK(rate_to_threshold(0.0) == 0);
  CHECK(threshold_to_rate(rate_to_threshold(0.005)) == Approx(0.005).epsilon(1e-7));
  CHECK(rate_to_threshold(0.5) == (1ull << 31));
}

TEST_CASE("default tiers follow the documented thresholds") {
  TierConfig c;
  ms_config k = to_kernel(c, 3);
  CHECK(k.medium_min == 1024);
  CHECK(k.large_min == 8193);
  CHECK(k.threshold[MS_TIER_LARGE] == MS_RATE_ONE);
  CHECK(k.guarantee == 1000);
  CHECK(k.epoch == 3);
}

TEST_CASE("invalid tier settings are refused") {
  TierConfig c;
  c.rate[0] = 1.5;
  CHECK_THROWS_AS(validate(c), Error);
  c = TierConfig{};
  c.medium_min = 10000;
  CHECK_THROWS_AS(validate(c), Error);
}

TEST_CASE("each record is weighted by the rates of the slot it was chosen under") {
  ConfigHistory h;
  TierConfig a;
  a.rate = {0.01, 0.1, 1.0};
  ms_config k0 = h.next(a, 0, "initial");
  TierConfig b;
  b.rate = {0.5, 0.25, 0.5};
  ms_config k1 = h.next(b, 1, "change");
  CHECK(k0.epoch == 0);
  CHECK(k1.epoch == 1);
  CHECK(h.weight(MS_TIER_SMALL, 0) == Approx(100.0).epsilon(1e-6));
  CHECK(h.weight(MS_TIER_MEDIUM, 0) == Approx(10.0).epsilon(1e-6));
  CHECK(h.weight(MS_TIER_LARGE, 0) == 1.0);
  CHECK(h.weight(MS_TIER_SMALL, 1) == Approx(2.0));
  CHECK(h.weight(MS_TIER_MEDIUM, 1) == Approx(4.0));
  CHECK(h.weight(MS_TIER_FORCED, 0) == 1.0);
  CHECK(h.changes().size() == 2);
  CHECK(h.current().rate[0] == 0.5);
}
