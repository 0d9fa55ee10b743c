// The arithmetic of the probe calibration (attach/probe_calibration): from
// the loops it times, what a probe hit, a sampled record and, in user CPU
// time, a hit costs. Apart from the measuring so that it can be checked on
// figures alone.
#pragma once
#include <cstdint>

#include "aggregate/probe_cost.h"

namespace memscope {

// The malloc/free loop timed untraced, with probes that sample nothing and
// with probes that sample everything: the fastest of `rounds` loops of
// `pairs` pairs each (ns), and the hits of all the probed rounds.
struct TimedLoops {
  double bare_ns = 0, probed_ns = 0, sampled_ns = 0;
  uint64_t probed_hits = 0;
  int pairs = 0, rounds = 0;
};

// One loop run for its user CPU time: pairs made, the user time the kernel
// accounted to it (ns) and the hits it took.
struct UserTimeLoop {
  uint64_t pairs = 0;
  double user_ns = 0;
  uint64_t hits = 0;
};

// per_call_ns, per_hit_ns and per_record_ns from the timed loops (0 where
// it cannot be told: no hits, no pairs).
ProbeCost cost_of_loops(const TimedLoops& t);

// The user CPU time a hit adds: the probed loop's user time per pair less
// the bare loop's, over the probed loop's hits per pair. 0 when either
// loop made no pair or the probed one took no hit; never below 0 (tick
// accounting's noise can put the probed loop under the bare one).
double user_ns_per_hit(const UserTimeLoop& bare, const UserTimeLoop& probed);

}  // namespace memscope
