#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "memscope/sampling_math.h"
#include "sampling/config_history.h"
#include "sampling/optimizer.h"

using namespace memscope;

namespace {
// Exact counts of a steady workload: `small` calls of 64 B, `medium` of
// 4 KiB and `large` of 64 KiB per second, over `seconds`.
ExactCounts load(double small, double medium, double large, double seconds, uint64_t sampled) {
  ExactCounts c;
  auto put = [&](unsigned k, double per_s, uint64_t size) {
    c.by_api_class[MS_API_MALLOC][k].calls = static_cast<uint64_t>(per_s * seconds);
    c.by_api_class[MS_API_MALLOC][k].bytes = static_cast<uint64_t>(per_s * seconds) * size;
  };
  put(6, small, 64);
  put(12, medium, 4096);
  put(16, large, 65536);
  c.stats[MS_STAT_SAMPLED] = sampled;
  return c;
}
}  // namespace

TEST_CASE("the kernel's exponential draw has mean 1 and the right tail", "[sampling]") {
  std::mt19937 rng(7);
  double sum = 0, above_one = 0;
  const int n = 400000;
  for (int i = 0; i < n; ++i) {
    double e = neg_ln_uniform_q16(rng()) / 65536.0;
    sum += e;
    above_one += e > 1.0;
  }
  CHECK(sum / n == Approx(1.0).epsilon(0.01));
  CHECK(above_one / n == Approx(std::exp(-1.0)).epsilon(0.01));
  CHECK(size_class(0) == 0);
  CHECK(size_class(1) == 0);
  CHECK(size_class(4096) == 12);
  CHECK(size_class(5ull << 30) == 32);
}

TEST_CASE("bytes mode: the countdown samples with probability 1-exp(-s/interval) and weights undo it", "[sampling]") {
  // The BPF countdown replayed with the same integer draw, over many seeds:
  // the weighted estimate of total bytes is unbiased.
  ConfigHistory h;
  TierConfig c;
  c.by_bytes = true;
  c.byte_interval = 4096;
  h.next(c, 0, "initial");
  const uint64_t sizes[] = {16, 100, 700, 3000, 9000, 70000};
  double truth = 0;
  for (uint64_t s : sizes) truth += 2000.0 * s;
  double mean_est = 0;
  const int seeds = 200;
  for (int seed = 0; seed < seeds; ++seed) {
    std::mt19937 rng(seed);
    auto draw = [&] { return static_cast<int64_t>((c.byte_interval * neg_ln_uniform_q16(rng())) >> 16); };
    int64_t left = draw();
    double est = 0;
    for (int i = 0; i < 2000; ++i)
      for (uint64_t s : sizes) {
        left -= static_cast<int64_t>(s);
        if (left > 0) continue;
        left = draw();
        est += h.weight(MS_TIER_SMALL, 0, s) * s;
      }
    mean_est += est / seeds;
  }
  CHECK(mean_est == Approx(truth).epsilon(0.01));
  CHECK(h.weight(MS_TIER_LARGE, 0, 1ull << 30) == Approx(1.0));
}

TEST_CASE("estimates stay unbiased when rates change in the middle of a stream", "[sampling]") {
  ConfigHistory h;
  TierConfig a, b;
  a.rate = {0.02, 0.02, 0.02};
  b.rate = {0.2, 0.2, 0.2};
  h.next(a, 0, "initial");
  h.next(b, 1, "change");
  double mean = 0;
  const int seeds = 300;
  const double truth = 20000.0 * 100;
  for (int seed = 0; seed < seeds; ++seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> u(0, 1);
    double est = 0;
    for (int i = 0; i < 20000; ++i) {
      const uint32_t slot = i < 12000 ? 0 : 1;  // the rates change at call 12000
      const double p = slot == 0 ? 0.02 : 0.2;
      if (u(rng) < p) est += h.weight(MS_TIER_SMALL, slot) * 100;
    }
    mean += est / seeds;
  }
  CHECK(mean == Approx(truth).epsilon(0.01));
}

TEST_CASE("rates are water-filled so each tier's records follow the square root of its bytes", "[optimizer]") {
  TierLoad l;
  l.calls_per_s = {100000, 10000, 100};
  l.sum_sq = {100000 * 64.0 * 64, 10000 * 4096.0 * 4096, 100 * 65536.0 * 65536};
  l.bytes_per_s = {100000 * 64.0, 10000 * 4096.0, 100 * 65536.0};
  auto r = allocate_rates(l, 2000, {0.005, 0.05, 1});
  double spend = 0;
  for (int t = 0; t < 3; ++t) spend += l.calls_per_s[t] * r[t];
  CHECK(spend == Approx(2000).epsilon(1e-3));
  CHECK(r[2] == 1.0);  // a few large blocks: every one is worth a record
  // Blocks of one size per tier: records N_t p_t in proportion to sqrt(B_t).
  const double records_ratio = l.calls_per_s[1] * r[1] / (l.calls_per_s[0] * r[0]);
  CHECK(records_ratio == Approx(std::sqrt(l.bytes_per_s[1] / l.bytes_per_s[0])).epsilon(1e-3));
  auto all = allocate_rates(l, 1e9, {0.005, 0.05, 1});
  CHECK(all == std::array<double, 3>{1, 1, 1});
}

TEST_CASE("the allocation evens out the tiers' relative errors compared with RMS-size rates", "[optimizer]") {
  // A pipeline-like mix: 92% of the bytes in few huge blocks, 8% in many
  // medium ones. Relative standard error of tier t: sqrt((1-p)/(N p)).
  TierLoad l;
  l.calls_per_s = {1000, 7500, 2500};
  l.sum_sq = {1000 * 512.0 * 512, 7500 * 4096.0 * 4096, 2500 * 300000.0 * 300000};
  l.bytes_per_s = {1000 * 512.0, 7500 * 4096.0, 2500 * 300000.0};
  const double budget = 245;  // 2% of the calls
  auto r = allocate_rates(l, budget, {0.005, 0.05, 1});
  auto rel = [&](int t, double p) { return std::sqrt((1 - p) / (l.calls_per_s[t] * p)); };
  // Plain variance would give p proportional to RMS size.
  const double c = budget / (1000 * 512.0 + 7500 * 4096.0 + 2500 * 300000.0);
  CHECK(rel(1, r[1]) < 0.5 * rel(1, c * 4096));      // medium sites get far more records
  CHECK(rel(2, r[2]) < 1.2 * rel(2, c * 300000.0));  // at little cost to the huge blocks
}

TEST_CASE("the optimizer keeps a steady workload's rates and settles after a step change", "[optimizer]") {
  TierConfig initial;
  Optimizer opt({5000, 0}, {}, initial);
  int changes = 0;
  auto feed = [&](double small, double medium, double large) {
    // Records: allocations sampled at the current rates, each with its free.
    const auto& r = opt.current().rate;
    const uint64_t sampled = static_cast<uint64_t>(2 * (small * r[0] + medium * r[1] + large * r[2]));
    if (opt.step({1.0, load(small, medium, large, 1.0, sampled), 1.0, 0.0})) ++changes;
    return 2 * (small * opt.current().rate[0] + medium * opt.current().rate[1] + large * opt.current().rate[2]);
  };
  for (int i = 0; i < 20; ++i) feed(200000, 20000, 200);
  const int steady_changes = changes;
  CHECK(steady_changes <= 2);  // the first decision(s), then nothing
  double records = feed(200000, 20000, 200);
  CHECK(records <= 5000);
  // The workload quadruples: the budget is broken, then kept again within
  // a few intervals, and stays put.
  changes = 0;
  int settled_after = -1;
  for (int i = 0; i < 20; ++i) {
    records = feed(800000, 80000, 800);
    if (settled_after < 0 && records <= 5000) settled_after = i + 1;
  }
  CHECK(settled_after >= 1);
  CHECK(settled_after <= 3);
  CHECK(changes <= 3);
  CHECK(records <= 5000);
  CHECK(records >= 0.5 * 5000);
}

TEST_CASE("dropped records make the optimizer back off", "[optimizer]") {
  Optimizer opt({1e6, 0}, {}, TierConfig::sample_all());
  ExactCounts c = load(100000, 0, 0, 1.0, 150000);
  c.stats[MS_STAT_DROPPED] = 50000;
  auto d = opt.step({1.0, c, 1.0, 0.0});
  REQUIRE(d);
  CHECK(d->config.rate[0] < 1.0);
  CHECK(d->reason.find("dropped") != std::string::npos);
}

TEST_CASE("under --max-overhead the agent's own CPU per record is charged to the records", "[optimizer]") {
  // 100k calls/s, target at one CPU, 3% budget, probes 100 ns a call: the
  // spare 27 ms/s - 20 ms/s buys records at 1 us each, or fewer when the
  // agent spends 1 us more on each.
  auto budget_with_agent = [](double agent_cpu_s) {
    TierConfig initial;
    initial.rate = {0.5, 0.5, 0.5};
    Optimizer opt({0, 3}, {100, 1000}, initial);
    ExactCounts c = load(100000, 0, 0, 1.0, 100000);
    auto d = opt.step({1.0, c, 1.0, agent_cpu_s});
    REQUIRE(d);
    return d->record_budget;
  };
  const double without = budget_with_agent(0.0);
  const double with = budget_with_agent(0.1);  // 1 us per record of 100k
  CHECK(without == Approx((0.03 * 0.9 * 1e9 - 100000 * 2 * 100.0) / 1000).epsilon(1e-6));
  CHECK(with == Approx(without / 2).epsilon(1e-6));
}
