#include "sampling/optimizer.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace memscope {
namespace {

constexpr double kMinRate = 1e-5;   // never blind: keep some records in every tier
constexpr double kSmoothing = 0.5;  // weight of the newest interval
constexpr double kHeadroom = 0.9;   // aim below the budget, not at it
constexpr double kLowWater = 0.6;   // below this share of the budget, spend more

unsigned tier_of(uint64_t size, const TierConfig& t) {
  return size >= t.large_min ? MS_TIER_LARGE : size >= t.medium_min ? MS_TIER_MEDIUM : MS_TIER_SMALL;
}

}  // namespace

TierLoad tier_load(const ExactCounts& counts, double seconds, const TierConfig& tiers) {
  TierLoad load;
  if (seconds <= 0) return load;
  for (unsigned api = 0; api < MS_API_COUNT; ++api) {
    if (ms_api_frees(api)) continue;
    for (unsigned k = 0; k < MS_SIZE_CLASSES; ++k) {
      const ms_count& c = counts.by_api_class[api][k];
      if (!c.calls) continue;
      // A class can straddle a tier boundary; its mean size decides.
      const double mean = static_cast<double>(c.bytes) / static_cast<double>(c.calls);
      load.all_calls_per_s += c.calls / seconds;
      // Blocks that are always sampled are not the rates' to decide.
      if (tiers.always_min && !tiers.by_bytes && mean >= static_cast<double>(tiers.always_min)) continue;
      const unsigned t = tier_of(static_cast<uint64_t>(mean), tiers);
      load.calls_per_s[t] += c.calls / seconds;
      load.sum_sq[t] += c.calls * mean * mean / seconds;
      load.bytes_per_s[t] += c.bytes / seconds;
    }
  }
  return load;
}

std::array<double, 3> allocate_rates(const TierLoad& load, double budget, const std::array<double, 3>& current) {
  std::array<double, 3> shape{}, rate = current;
  double total_calls = 0;
  for (int t = 0; t < 3; ++t) {
    total_calls += load.calls_per_s[t];
    // Zero-byte calls alone (malloc(0)) have nothing to weigh: treat their
    // bytes as one per call so the tier still gets its minimum.
    const double bytes = std::max(load.bytes_per_s[t], load.calls_per_s[t]);
    shape[t] = load.calls_per_s[t] > 0 ? std::sqrt(load.sum_sq[t] / (bytes * load.calls_per_s[t])) : 0;
  }
  if (total_calls <= 0) return current;
  if (budget >= total_calls) return {1.0, 1.0, 1.0};
  // Find c with sum_t N_t min(1, c * shape_t) = budget by bisection on log c.
  auto spend = [&](double c) {
    double s = 0;
    for (int t = 0; t < 3; ++t)
      if (load.calls_per_s[t] > 0) s += load.calls_per_s[t] * std::clamp(c * shape[t], kMinRate, 1.0);
    return s;
  };
  double lo = 1e-30, hi = 1e30;
  for (int i = 0; i < 200; ++i) {
    double mid = std::sqrt(lo * hi);
    (spend(mid) > budget ? hi : lo) = mid;
  }
  for (int t = 0; t < 3; ++t)
    if (load.calls_per_s[t] > 0) rate[t] = std::clamp(lo * shape[t], kMinRate, 1.0);
  return rate;
}

Optimizer::Optimizer(const OptimizerBudget& budget, const ProbeCost& cost, const TierConfig& initial)
    : budget_(budget), cost_(cost), current_(initial) {}

std::optional<Decision> Optimizer::step(const IntervalStats& stats) {
  if (stats.seconds <= 0) return std::nullopt;
  const TierLoad now = tier_load(stats.counts, stats.seconds, current_);
  const double cpu_now = stats.target_cpu_s / stats.seconds;
  if (!primed_) {
    smoothed_ = now;
    smoothed_target_cpu_ = cpu_now;
    primed_ = true;
  } else {
    for (int t = 0; t < 3; ++t) {
      smoothed_.calls_per_s[t] += kSmoothing * (now.calls_per_s[t] - smoothed_.calls_per_s[t]);
      smoothed_.sum_sq[t] += kSmoothing * (now.sum_sq[t] - smoothed_.sum_sq[t]);
      smoothed_.bytes_per_s[t] += kSmoothing * (now.bytes_per_s[t] - smoothed_.bytes_per_s[t]);
    }
    smoothed_.all_calls_per_s += kSmoothing * (now.all_calls_per_s - smoothed_.all_calls_per_s);
    smoothed_target_cpu_ += kSmoothing * (cpu_now - smoothed_target_cpu_);
  }
  // A phase change moves the load by far more than noise: follow it at
  // once rather than through the smoothing.
  double calls_now = 0, calls_smooth = 0;
  for (int t = 0; t < 3; ++t) {
    calls_now += now.calls_per_s[t];
    calls_smooth += smoothed_.calls_per_s[t];
  }
  if (calls_smooth > 0 && (calls_now > 2 * calls_smooth || calls_now < 0.5 * calls_smooth)) {
    smoothed_ = now;
    smoothed_target_cpu_ = cpu_now;
  }

  // Records per sampled call: a sampled block's free is a record too, and
  // the guarantee adds some. Measured, so the budget counts every record.
  double chosen = 0;
  for (int t = 0; t < 3; ++t) chosen += now.calls_per_s[t] * current_.rate[t];
  const double records_now = stats.counts.stats[MS_STAT_SAMPLED] / stats.seconds;
  if (chosen > 0 && records_now > 0) {
    const double f = std::clamp(records_now / chosen, 1.0, 4.0);
    records_per_sample_ = records_per_sample_ > 0 ? records_per_sample_ + kSmoothing * (f - records_per_sample_) : f;
  }
  const double per_sample = records_per_sample_ > 0 ? records_per_sample_ : 2.0;
  if (records_now > 0 && stats.agent_cpu_s > 0) {
    const double f = stats.agent_cpu_s * 1e9 / (records_now * stats.seconds);
    agent_ns_per_record_ =
        agent_ns_per_record_ > 0 ? agent_ns_per_record_ + kSmoothing * (f - agent_ns_per_record_) : f;
  }

  // Records per second the budgets allow.
  double budget = std::numeric_limits<double>::infinity();
  std::string why;
  if (budget_.max_events_per_s > 0) {
    budget = budget_.max_events_per_s * kHeadroom;
    why = "--max-events";
  }
  if (budget_.max_sampled_pct > 0) {
    // A share of the calls, whatever their rate: counted in sampled calls,
    // turned into records like the other budgets.
    const double by_share = budget_.max_sampled_pct / 100.0 * smoothed_.all_calls_per_s * kHeadroom * per_sample;
    if (by_share < budget) {
      budget = by_share;
      why = "--max-sampled";
    }
  }
  if (budget_.max_overhead_pct > 0 && cost_.per_record_ns > 0) {
    // CPU the probes may add per second, less what every probed call pays
    // whether sampled or not; the rest buys records.
    double calls = 0;
    for (int t = 0; t < 3; ++t) calls += smoothed_.calls_per_s[t];
    const double allowed_ns = budget_.max_overhead_pct / 100.0 * smoothed_target_cpu_ * 1e9 * kHeadroom;
    const double spare_ns = allowed_ns - calls * 2 /* entry and free */ * cost_.per_call_ns;
    // The agent's CPU per record counts too: it shares the CPUs with the
    // traced processes. Measured over the last interval, smoothed.
    const double by_cost = std::max(0.0, spare_ns / (cost_.per_record_ns + agent_ns_per_record_));
    if (by_cost < budget) {
      budget = by_cost;
      why = spare_ns <= 0 ? "--max-overhead (the probes alone use the budget: minimum rates)" : "--max-overhead";
    }
  }
  const uint64_t dropped = stats.counts.stats[MS_STAT_DROPPED];
  if (dropped > 0) {
    const double got = stats.counts.stats[MS_STAT_SAMPLED] / stats.seconds;
    if (got * 0.5 < budget) {
      budget = got * 0.5;
      why = "records dropped";
    }
  }
  if (!std::isfinite(budget)) return std::nullopt;

  // Stable: leave the rates alone while they spend between the low-water
  // mark and the budget; move only when the budget is broken or wasted.
  double expected_now = 0;
  for (int t = 0; t < 3; ++t) expected_now += smoothed_.calls_per_s[t] * current_.rate[t] * per_sample;
  const bool saturated = std::all_of(current_.rate.begin(), current_.rate.end(), [](double r) { return r >= 1.0; });
  const double ceiling = budget / kHeadroom;  // the budget itself; `budget` is the aim below it
  if (dropped == 0 && expected_now <= ceiling && (expected_now >= kLowWater * budget || saturated)) return std::nullopt;

  std::array<double, 3> rates = allocate_rates(smoothed_, budget / per_sample, current_.rate);
  // Spending more is done in steps (at most 2x per interval), spending less
  // at once: a stall of the traced process looks like a drop in load, and
  // following it at once would overshoot the budget when it resumes.
  for (int t = 0; t < 3; ++t) rates[t] = std::min(rates[t], std::max(kMinRate, 2.0 * current_.rate[t]));
  double expected = 0;
  bool worth = dropped > 0;
  for (int t = 0; t < 3; ++t) {
    expected += smoothed_.calls_per_s[t] * rates[t] * per_sample;
    if (smoothed_.calls_per_s[t] > 0 && rates[t] != current_.rate[t]) worth = true;
  }
  if (!worth) return std::nullopt;

  Decision d;
  d.config = current_;
  d.config.rate = rates;
  d.record_budget = budget;
  d.expected_records_per_s = expected;
  char buf[256];
  snprintf(buf, sizeof buf, "%s: budget %.0f records/s for %.0f calls/s; rates weigh each tier's bytes and size spread",
           why.c_str(), budget, smoothed_.calls_per_s[0] + smoothed_.calls_per_s[1] + smoothed_.calls_per_s[2]);
  d.reason = buf;
  current_ = d.config;
  return d;
}

}  // namespace memscope
