// What one probe hit and one sampled record cost in a traced process on
// this host, as the calibration (attach/probe_calibration) measured it: a
// trap's price differs ~10x between hosts, so the optimizer's overhead
// budget and the report's added time need the figure measured here.
#pragma once

namespace memscope {

// In nanoseconds; zeros: not measured.
struct ProbeCost {
  double per_call_ns = 0;
  double per_record_ns = 0;
  double per_hit_ns = 0;  // one trap (entry or return), counted by the kernel during the measurement
};

}  // namespace memscope
