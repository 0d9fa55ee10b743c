// Measures what a probe hit and a sampled record cost on this machine, in
// a child process of the agent: the same malloc/free loop untraced, under
// probes that sample nothing, and under probes that sample everything. A
// trap's price differs ~10x between hosts, so the optimizer's overhead
// budget needs the figure measured here, not a constant.
#pragma once
#include "attach/bpf_session.h"
#include "sampling/optimizer.h"

namespace memscope {

// Throws Error when the calibration cannot run.
// Probes placed as the targets' are (`placement`): a probe at an instruction
// the kernel cannot emulate costs several times more.
ProbeCost calibrate_probe_cost(const SessionLimits& limits, ProbeMode mode, PlacementMode placement);

}  // namespace memscope
