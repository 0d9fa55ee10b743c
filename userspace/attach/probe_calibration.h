// Measures what a probe hit and a sampled record cost on this machine, in
// a child process of the agent: the same malloc/free loop untraced, under
// probes that sample nothing, and under probes that sample everything. A
// trap's price differs by an order of magnitude between hosts
// (docs/measurements.md#method-and-hosts), so the optimizer's overhead
// budget needs the figure measured here, not a constant. The loop is also
// run for its user CPU time untraced and probed: the user time a hit adds
// corrects the duty cycle's user-CPU coverage clock.
#pragma once
#include "attach/bpf_object.h"
#include "aggregate/probe_cost.h"
#include "memscope/record.h"

namespace memscope {

// Throws Error when the calibration cannot run.
// Probes placed as the targets' are (`placement`): a probe at an instruction
// the kernel cannot emulate costs several times more. `sample_none` and
// `sample_all`: the settings published for the probed and the sampled loop.
// `inherited` (--follow-children): the probes are those the targets' children
// inherit (inherited_uprobes.h), attached to the child and timed in a
// process it forks, as a traced command's compiler or test runs under them.
// `user_time`: also the user CPU a hit adds (user_ns_per_hit, for the duty
// cycle's clock; takes about a second more).
ProbeCost calibrate_probe_cost(const BpfLimits& limits, ProbeMode mode, PlacementMode placement,
                               const ms_config& sample_none, const ms_config& sample_all, bool inherited,
                               bool user_time);

}  // namespace memscope
