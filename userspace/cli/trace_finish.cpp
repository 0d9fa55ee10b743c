#include <cstdio>

#include "attach/probe_calibration.h"
#include "cli/trace_steps.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/terminal_safe.h"
#include "report/report_file.h"
#include "report/text_summary.h"
#include "targets/process.h"

namespace memscope {
namespace {

ProbeCost calibrate_quietly(const Options& opt, bool user_time) {
  try {
    const CalibrationConfigs configs = calibration_configs();
    return calibrate_probe_cost(opt.limits, opt.probe_mode, opt.placement, configs.none, configs.all,
                                opt.follow.children && !opt.follow.all, user_time);
  } catch (const Error& e) {
    fprintf(stderr, "memscope-bpf: warning: probe cost not measured (%s); added time is left out\n",
            terminal_safe(e.what()).c_str());
    return {};
  }
}

}  // namespace

// The programs stop counting first, together (the processes' own counts add
// up to the totals; only their hits go on until the detach); then drain.
// The counters and stacks are read after, from maps that live as long as
// the loaded object. The probes come down in write_final_report().
void TraceRun::stop_counting() {
  stop_ns_ = monotonic_ns();
  fprintf(stderr, "memscope-bpf: %s; writing the report\n", why_.c_str());
  control_->end(stop_ns_);
  probes_->stop_counting();
  drainer_->stop();
  aggregator_->fold_windows();  // the last window's records are all in
  sample_memory(0, elapsed_s(stop_ns_));
}

KernelFinal TraceRun::read_kernel_final() const {
  const KernelMaps& maps = probes_->maps();
  KernelFinal k;
  k.exact = maps.exact_counts();
  k.per_process = with_retired(maps.process_counts(tracker_->slots()), tracker_->retired());
  k.process_stats = maps.process_stats();
  k.overflow = maps.process_overflow();
  k.stacks = maps.site_stacks();
  return k;
}

bool TraceRun::write_final_report(const KernelFinal& kernel) {
  RunSummary run;
  run.probes = probes_->probes();
  run.mechanism = probes_->mechanism();
  run.budget = {opt_.max_events_per_s, opt_.max_overhead_pct, opt_.max_sampled_pct};
  // The clocks are read before the calibration, which takes seconds.
  WorkClocks final;
  if (control_->windowed())
    for (const auto& [pid, c] : kernel.per_process)
      final[pid] = {c.exact.free_calls(), process_user_cpu_seconds(pid), c.hits(), process_cpu_seconds(pid),
                    c.user_ticks};
  // The per-hit cost turns each process's probe hits into an estimate of
  // the time they added, and its user CPU corrects the user-CPU coverage
  // clock; measured now, unless the optimizer needed the first at start.
  const AgentCpuMark finish_start = agent_cpu_now();
  // Windows used (--max-overhead may never have cycled): only then is the
  // user time per hit worth its two seconds.
  const bool windows_used = control_->windowed() && control_->finish(stop_ns_, final, {}).enabled;
  const bool calibrate = probe_cost_.per_hit_ns <= 0 || (windows_used && probe_cost_.user_ns_per_hit <= 0);
  // Unfiltered probes (--all) trap the agent itself while it symbolizes;
  // session and classic links at the sites the calibration's loop calls
  // would tax each of its calls (a session handler that skips another
  // process asks for the return: +36%). Those come down first. Inherited
  // probes are filtered by their events and come down on a thread while the
  // report is built: they take seconds (2.6 s for a compile's 30), and the
  // calibration's own would wait for the same kernel mutex.
  if (opt_.follow.all || (calibrate && !probes_->inherits())) probes_->detach_all();
  if (calibrate) {
    const ProbeCost now = calibrate_quietly(opt_, windows_used);
    if (probe_cost_.per_hit_ns <= 0) probe_cost_ = now;
    else {
      probe_cost_.user_ns_per_hit = now.user_ns_per_hit;
      probe_cost_.user_tick_ns_per_hit = now.user_tick_ns_per_hit;
    }
  }
  probes_->detach_in_background();
  if (windows_used)
    run.duty = control_->finish(stop_ns_, final,
                                {probe_cost_.user_ns_per_hit, probe_cost_.per_hit_ns, probe_cost_.user_tick_ns_per_hit});
  run.probe_cost = probe_cost_;
  auto targets = report_targets(std::move(tracker_->targets()), kernel, opt_.follow.all || tracker_->inherits());
  for (const auto& t : targets) {
    if (!t.exited) symbolizer_.snapshot(t.process.pid);
    // A child gone before it was ever read: its parent's mappings.
    if (auto parent = tracker_->copy_of(t.process.pid); parent && !symbolizer_.has_snapshot(t.process.pid))
      symbolizer_.snapshot_or_copy(t.process.pid, *parent);
  }
  run.duration_s = (stop_ns_ - start_ns_) / 1e9;
  run.sampling = &history_;
  run.top = opt_.top;
  run.start_ns = start_ns_;
  run.end_ns = stop_ns_;
  Report report = assemble_report(std::move(run), std::move(targets), kernel, *aggregator_, symbolizer_);
  // After assembling: the agent's CPU includes calibrating and symbolizing.
  report.agent =
      agent_cost_->finish(drainer_->batches(), aggregator_->memory_bytes(), aggregator_->live().size(), finish_start);
  const std::vector<std::string> errors = write_outputs(report, opt_.outputs, opt_.folded_value);
  wait_detached();
  print_final(stderr, report, opt_.top);
  bool all = true;
  for (size_t i = 0; i < opt_.outputs.size(); ++i) {
    const OutputFile& f = opt_.outputs[i];
    if (!errors[i].empty()) {
      fprintf(stderr, "memscope-bpf: error: %s\n", terminal_safe(errors[i]).c_str());
      all = false;
    } else if (f.path != "-") {
      fprintf(stderr, "memscope-bpf: report written to %s (%s)\n", terminal_safe(f.path).c_str(),
              std::string(format_name(f.format)).c_str());
    }
  }
  return all;
}

// The report is printed once nothing is attached: the targets no longer
// trap, and a run that ends in an error after it leaves nothing behind.
void TraceRun::wait_detached() {
  if (probes_->detaching()) fprintf(stderr, "memscope-bpf: waiting for the kernel to take the probes down\n");
  probes_->wait_detached();
}

// The command outlives the trace (Ctrl-C, --duration): it keeps running
// untraced, as a tracer must never end its target.
void TraceRun::leave_command() {
  if (child_ && !child_gone_ && !child_->reap(child_status_))
    fprintf(stderr, "memscope-bpf: command PID %d keeps running untraced\n", child_->pid());
}

}  // namespace memscope
