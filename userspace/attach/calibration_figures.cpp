#include "attach/calibration_figures.h"

#include <algorithm>

namespace memscope {

ProbeCost cost_of_loops(const TimedLoops& t) {
  ProbeCost cost;
  if (t.pairs <= 0 || t.rounds <= 0) return cost;
  cost.per_call_ns = std::max(0.0, (t.probed_ns - t.bare_ns) / (2.0 * t.pairs));
  // Every trap of the probed loop, whatever the mechanism made of it
  // (entry only, entry and return): the cost of one. The time is that of
  // the fastest of the rounds; the hits are those of all of them.
  if (t.probed_hits)
    cost.per_hit_ns = std::max(0.0, (t.probed_ns - t.bare_ns) / (static_cast<double>(t.probed_hits) / t.rounds));
  // Every malloc and its free leave a record when everything is sampled.
  cost.per_record_ns = std::max(1.0, (t.sampled_ns - t.probed_ns) / (2.0 * t.pairs));
  return cost;
}

double user_ns_per_hit(const UserTimeLoop& bare, const UserTimeLoop& probed) {
  if (!bare.pairs || !probed.pairs || !probed.hits) return 0;
  const double added_per_pair = probed.user_ns / probed.pairs - bare.user_ns / bare.pairs;
  const double hits_per_pair = static_cast<double>(probed.hits) / probed.pairs;
  return std::max(0.0, added_per_pair / hits_per_pair);
}

}  // namespace memscope
