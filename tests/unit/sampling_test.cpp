#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "common/error.h"
#include "memscope/sampling_math.h"
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
  CHECK(k.threshold[MS_TIER_LARGE] == rate_to_threshold(0.1));
  CHECK(k.always_min == 1u << 20);  // huge blocks stay certain
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

TEST_CASE("the guarantee keeps estimates unbiased at low rates", "[sampling]") {
  // At p = 1/2000 with one call in every 1000 guaranteed, a third of the
  // samples are forced. Drawn calls weigh 1/p, forced ones 1.
  const double p = 1.0 / 2000;
  const uint64_t threshold = static_cast<uint64_t>(p * 4294967296.0);
  const int calls = 50000, seeds = 2000;
  double mean = 0;
  for (int seed = 0; seed < seeds; ++seed) {
    std::mt19937 rng(seed);
    uint32_t since = 0;
    double est = 0;
    for (int i = 0; i < calls; ++i) {
      const int how = ms_draw_with_guarantee(&since, 1000, static_cast<uint32_t>(rng()), threshold);
      if (how == 1) est += static_cast<double>(4294967296.0) / static_cast<double>(threshold);
      if (how == 2) est += 1;
    }
    mean += est / seeds;
  }
  // The standard error of the mean over seeds is about 0.45%.
  CHECK(mean == Approx(calls).epsilon(0.015));
}

TEST_CASE("the kernel's per-CPU draw is uniform enough for every rate", "[sampling]") {
  // ms_next_draw() replaced bpf_get_prandom_u32() in the probes. Checked
  // where sampling uses it: the share of draws under each tier threshold,
  // over a run as long as a CPU sees in seconds of tracing, from a state
  // seeded as the probe seeds it (random | 1) and from a poor one (1).
  for (uint64_t seed : {0x9e3779b97f4a7c15ULL | 1, 1ULL}) {
    __u64 state = seed;
    const int n = 4000000;
    const double rates[] = {0.5, 0.05, 0.005, 0.0005};
    int below[4] = {};
    int buckets[16] = {};
    for (int i = 0; i < n; ++i) {
      const uint32_t d = ms_next_draw(&state);
      for (int r = 0; r < 4; ++r)
        if (static_cast<uint64_t>(d) < rate_to_threshold(rates[r])) ++below[r];
      ++buckets[d >> 28];
    }
    for (int r = 0; r < 4; ++r) {
      const double expect = rates[r] * n, sd = std::sqrt(n * rates[r] * (1 - rates[r]));
      INFO("rate " << rates[r] << " seed " << seed);
      CHECK(std::abs(below[r] - expect) < 5 * sd);  // 5 sigma: fails by chance about once in 3.5 million
    }
    // Top four bits (the tier thresholds compare them first): chi-square
    // with 15 degrees of freedom, 99.99th percentile 44.3.
    double chi2 = 0;
    for (int b : buckets) chi2 += (b - n / 16.0) * (b - n / 16.0) / (n / 16.0);
    CHECK(chi2 < 44.3);
  }
}

TEST_CASE("the guarantee stays unbiased with the kernel's draw", "[sampling]") {
  const double p = 1.0 / 2000;
  const uint64_t threshold = static_cast<uint64_t>(p * 4294967296.0);
  const int calls = 50000, seeds = 2000;
  __u64 state = 0x2545F4914F6CDD1DULL;  // one stream across runs, as a CPU's
  double mean = 0;
  for (int seed = 0; seed < seeds; ++seed) {
    uint32_t since = 0;
    double est = 0;
    for (int i = 0; i < calls; ++i) {
      const int how = ms_draw_with_guarantee(&since, 1000, ms_next_draw(&state), threshold);
      if (how == 1) est += 4294967296.0 / static_cast<double>(threshold);
      if (how == 2) est += 1;
    }
    mean += est / seeds;
  }
  CHECK(mean == Approx(calls).epsilon(0.015));
}
