#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <vector>

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
      CHECK(std::abs(below[r] - expect) < 5 * sd);
    }
    // Top four bits (the tier thresholds compare them first): chi-square
    // with 15 degrees of freedom, 99.99th percentile 44.3.
    double chi2 = 0;
    for (int b : buckets) chi2 += (b - n / 16.0) * (b - n / 16.0) / (n / 16.0);
    CHECK(chi2 < 44.3);
  }
}

TEST_CASE("the kernel's draw is xorshift64* and its draws are independent", "[sampling]") {
  // Known answers from seed 1, computed apart (Python, from Vigna's
  // definition): pins the shifts and the multiplier.
  __u64 state = 1;
  CHECK(ms_next_draw(&state) == 0x47e4ce4bu);
  CHECK(ms_next_draw(&state) == 0xabcfa6a8u);
  CHECK(ms_next_draw(&state) == 0xb9d10d8fu);
  CHECK(ms_next_draw(&state) == 0x4db418a0u);

  // Serial test: the top four bits of consecutive draws, 256 pairs,
  // chi-square with 255 degrees of freedom (99.99th percentile ~340). A
  // counter-like generator puts its pairs on a few diagonals.
  state = 0x9e3779b97f4a7c15ULL;
  const int pairs = 2000000;
  std::vector<int> cells(256);
  uint32_t prev = ms_next_draw(&state) >> 28;
  for (int i = 0; i < pairs; ++i) {
    const uint32_t d = ms_next_draw(&state) >> 28;
    ++cells[prev * 16 + d];
    prev = d;
  }
  double chi2 = 0;
  for (int c : cells) chi2 += (c - pairs / 256.0) * (c - pairs / 256.0) / (pairs / 256.0);
  CHECK(chi2 < 340);

  // Gap test at the small tier's rate: sampling relies on the calls between
  // two samples being geometric (mean 1/p, P(gap = 1) = p).
  const double p = 0.005;
  const uint64_t threshold = rate_to_threshold(p);
  std::vector<int> gaps;
  int since = 0;
  while (gaps.size() < 40000) {
    ++since;
    if (ms_next_draw(&state) < threshold) {
      gaps.push_back(since);
      since = 0;
    }
  }
  double mean = 0;
  int ones = 0, long_gaps = 0;
  for (int g : gaps) {
    mean += g / static_cast<double>(gaps.size());
    ones += g == 1;
    long_gaps += g > 600;  // P = (1 - p)^600 = 4.9%
  }
  const double n = static_cast<double>(gaps.size()), sd_mean = std::sqrt((1 - p) / (p * p) / n);
  CHECK(std::abs(mean - 1 / p) < 5 * sd_mean);
  CHECK(std::abs(ones - n * p) < 5 * std::sqrt(n * p));
  const double p_long = std::pow(1 - p, 600);
  CHECK(std::abs(long_gaps - n * p_long) < 5 * std::sqrt(n * p_long));
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
