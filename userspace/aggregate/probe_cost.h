// What one probe hit and one sampled record cost in a traced process on
// this host, as the calibration (attach/probe_calibration) measured it: a
// trap's price differs by an order of magnitude between hosts
// (docs/measurements.md#method-and-hosts), so the optimizer's overhead
// budget and the report's added time need the figure measured here.
#pragma once

namespace memscope {

// In nanoseconds; zeros: not measured.
struct ProbeCost {
  double per_call_ns = 0;
  double per_record_ns = 0;
  double per_hit_ns = 0;  // one trap (entry or return), counted by the kernel during the measurement
  // The user CPU time the kernel accounts to the process per hit beyond its
  // own work: part of the trap's time lands on user ticks and the user code
  // after a trap runs slower (caches, TLB). Corrects the user-CPU coverage
  // clock (sampling/duty_cycle.h).
  double user_ns_per_hit = 0;
  // The same on the sampled user-mode clock (bpf/user_clock.bpf.h), which
  // has no tick accounting in it: only the slower user code after a trap
  // (and a trap's own user-mode part) is left.
  double user_tick_ns_per_hit = 0;
};

}  // namespace memscope
