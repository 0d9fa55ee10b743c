// The adaptive optimizer: once per control interval it reads what the
// kernel counted exactly (calls and bytes per size class), how many records
// came and were dropped, and what tracing costs, and picks new per-tier
// rates: the lowest variance of the byte estimates that fits the budgets.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "aggregate/kernel_counters.h"
#include "aggregate/probe_cost.h"
#include "sampling/tier_config.h"

namespace memscope {

struct OptimizerBudget {
  double max_events_per_s = 0;  // records into userspace; 0: none
  double max_overhead_pct = 0;  // CPU added to the traced processes; 0: none
  double max_sampled_pct = 0;   // share of allocation calls that become records; 0: none
};

// What one control interval measured.
struct IntervalStats {
  double seconds = 0;
  ExactCounts counts;       // calls in the interval (a difference of two readings)
  double target_cpu_s = 0;  // CPU the traced processes used in the interval
  double agent_cpu_s = 0;   // the agent's own CPU in the interval (charged to records under --max-overhead)
};

// Per-tier workload figures derived from the exact size-class counts.
struct TierLoad {
  std::array<double, 3> calls_per_s{};
  std::array<double, 3> sum_sq{};  // per second: sum of size^2, from class means
  std::array<double, 3> bytes_per_s{};
  double all_calls_per_s = 0;  // every allocation call, the always-sampled sizes too
};

TierLoad tier_load(const ExactCounts& counts, double seconds, const TierConfig& tiers);

// Rates minimising the byte-share-weighted relative variance of the tiers'
// byte estimates, sum_t (B_t / B) * Var_t / B_t^2 with Var_t = S2_t (1 - p_t) / p_t,
// subject to sum_t N_t p_t <= budget (samples per second). The optimum is
// p_t proportional to sqrt(S2_t / (B_t N_t)), capped at 1 (water-filling):
// a tier then gets samples in proportion to sqrt(B_t (1 + CV_t^2)). Plain
// variance (p_t proportional to RMS size) would spend nearly everything on
// the few huge blocks and leave the sites of small and medium blocks, which
// users read just as much, with a handful of records each. Tiers without
// calls keep their current rate.
std::array<double, 3> allocate_rates(const TierLoad& load, double budget, const std::array<double, 3>& current);

struct Decision {
  TierConfig config;
  std::string reason;
  double record_budget = 0;  // records per second the budgets allowed
  double expected_records_per_s = 0;
};

class Optimizer {
 public:
  Optimizer(const OptimizerBudget& budget, const ProbeCost& cost, const TierConfig& initial);

  // A new config when the rates should change, nullopt to keep them. Never
  // changes rates for small moves, so that a steady workload is left alone.
  std::optional<Decision> step(const IntervalStats& stats);
  const TierConfig& current() const { return current_; }

 private:
  OptimizerBudget budget_;
  ProbeCost cost_;
  TierConfig current_;
  TierLoad smoothed_{};
  double smoothed_target_cpu_ = 0;
  double records_per_sample_ = 0;
  double agent_ns_per_record_ = 0;  // the agent's CPU per record received
  bool primed_ = false;
};

}  // namespace memscope
