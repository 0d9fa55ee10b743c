#include "cli/trace_run.h"

#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstdio>

#include "attach/probe_calibration.h"
#include "attach/tracefs_events.h"
#include "cli/privileges.h"
#include "cli/trace_steps.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/terminal_safe.h"
#include "targets/api_names.h"
#include "targets/process_memory.h"
#include "targets/resolve.h"
#include "targets/script_interpreter.h"

extern char** environ;

namespace memscope {
namespace {

void describe_probes(const TracedProcess& t) {
  for (const auto& s : t.allocator.sites) {
    fprintf(stderr, "memscope-bpf:   %-15s %s+0x%llx", terminal_safe(s.symbol).c_str(), terminal_safe(s.path).c_str(),
            static_cast<unsigned long long>(s.offset));
    for (unsigned a : s.aliases) fprintf(stderr, " (also %s)", std::string(api_name(a)).c_str());
    fprintf(stderr, "  [%s]\n", terminal_safe(s.placement).c_str());
  }
  for (unsigned m : t.allocator.missing)
    fprintf(stderr, "memscope-bpf:   %-15s not defined by %s\n", std::string(api_name(m)).c_str(),
            terminal_safe(t.allocator.path).c_str());
}

}  // namespace

Fd::~Fd() {
  if (fd >= 0) close(fd);
}

TraceRun::TraceRun(const Options& options) : opt_(options) {}
TraceRun::~TraceRun() { leave_live_screen(); }

int trace_run(const Options& options) { return TraceRun(options).run(); }

int TraceRun::run() {
  check_privileges(opt_);
  check_outputs();
  remove_what_killed_agents_left();
  resolve_given_pids();
  take_signals();
  serve_metrics();
  hold_command();
  measure_probe_cost_first();
  load_probes();
  attach_targets();
  watch_processes();
  start_draining();
  announce_start();
  release_command();
  loop();
  stop_counting();
  const bool written = write_final_report(read_kernel_final());
  leave_command();
  return written ? 0 : 1;
}

// Every output can be written, checked before anything is loaded: a
// mistyped directory must not cost the trace it was meant to keep.
void TraceRun::check_outputs() const {
  for (const auto& f : opt_.outputs) check_writable(f.path);
}

// Targets given by PID are resolved before anything is loaded: a bad PID is
// an error on its own, and a warning when other targets remain.
void TraceRun::resolve_given_pids() {
  const bool alone = opt_.pids.size() == 1 && opt_.command.empty() && !opt_.following();
  std::string first_error;
  for (pid_t pid : opt_.pids) {
    try {
      given_.push_back(resolve_target(pid, opt_.placement));
    } catch (const Error& e) {
      if (alone) throw;
      if (first_error.empty()) first_error = e.what();
      fprintf(stderr, "memscope-bpf: warning: %s; not traced\n", terminal_safe(e.what()).c_str());
    }
  }
  if (given_.empty() && !opt_.pids.empty() && opt_.command.empty() && !opt_.following()) throw Error(first_error);
}

// Signals are taken through a signalfd so that Ctrl-C always ends in a
// clean final report; the launched command gets the default mask back.
void TraceRun::take_signals() {
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGCHLD);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  sigfd_ = std::make_unique<Fd>(signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
}

// The command is resolved, then forked and held before its exec until its
// probes are in.
void TraceRun::hold_command() {
  if (opt_.command.empty()) return;
  std::string path = resolve_command(opt_.command[0]);
  if (path.empty()) throw Error("command not found: " + opt_.command[0]);
  TracedProcess t;
  // A script runs its #! interpreter, whose allocator is the one to probe.
  const std::string program = executed_program(path);
  t.allocator = resolve_allocator({0, program, environ, program == path ? path : path + " (" + program + ")"},
                                  opt_.placement);
  child_ = std::make_unique<LaunchedCommand>(opt_.command);
  t.process.pid = t.process.ns_pid = child_->pid();
  t.process.exe = program;
  t.process.comm = path.substr(path.find_last_of('/') + 1).substr(0, 15);
  given_.push_back(std::move(t));
}

// The optimizer's cost model under --max-overhead is measured before
// tracing starts.
void TraceRun::measure_probe_cost_first() {
  if (opt_.max_overhead_pct <= 0) return;
  const CalibrationConfigs configs = calibration_configs();
  // The user CPU a hit adds is measured at the end, if windows were used.
  probe_cost_ = calibrate_probe_cost(opt_.limits, opt_.probe_mode, opt_.placement, configs.none, configs.all,
                                     opt_.follow.children && !opt_.follow.all, false);
  fprintf(stderr,
          "memscope-bpf: measured on this host: %.0f ns per probe hit, %.0f ns per sampled record\n",
          probe_cost_.per_call_ns, probe_cost_.per_record_ns);
}

// An agent killed with SIGKILL leaves its tracefs uprobe events (its links
// and programs go with its file descriptors): this one removes them.
void TraceRun::remove_what_killed_agents_left() {
  const StaleEvents stale = remove_stale_uprobe_events();
  if (!stale.removed) return;
  std::string pids;
  for (pid_t p : stale.agents) pids += (pids.empty() ? "" : ", ") + std::to_string(p);
  fprintf(stderr, "memscope-bpf: removed %zu uprobe events left by killed agent(s) (PID %s)\n", stale.removed,
          pids.c_str());
}

void TraceRun::load_probes() {
  agent_start_ = agent_cpu_now();  // the report's agent CPU: loading, unwind tables, ..., symbolizing
  probes_ = std::make_unique<BpfObject>(opt_.limits, opt_.probe_mode, opt_.verbose);
  start_ns_ = monotonic_ns();
  tracker_ = std::make_unique<ProcessTracker>(*probes_, opt_.follow);
  port_ = std::make_unique<KernelControl>(*probes_, *tracker_);
  ControlSettings control;
  control.budget = {opt_.max_events_per_s, opt_.max_overhead_pct, opt_.max_sampled_pct};
  control.tiers = opt_.tiers;
  control.interval_s = opt_.control_interval_s;
  control.duty = {opt_.duty_window_s,        opt_.duty_period_s,
                  opt_.max_overhead_pct / 100.0, opt_.max_overhead_window_s,
                  // Session links come and go in tens of ms, classic
                  // perf links in ~0.1 s each (docs/measurements.md). Not
                  // with --all (each attach walks every process mapping
                  // the library), nor with release windows (their user-CPU
                  // clock was measured in windows of 1 s).
                  probes_->uses_session_links() && !opt_.follow.all && !opt_.window_releases ? 0.1 : 1.0,
                  opt_.max_overhead_pct > 0 && opt_.window_releases,
                  opt_.verbose};
  control_ = std::make_unique<ControlLoop>(control, probe_cost_, history_, lock_, *port_, start_ns_);
  std::vector<pid_t> pids;
  for (const auto& t : given_) pids.push_back(t.process.pid);
  control_->start(pids);
}

void TraceRun::attach_targets() {
  const size_t count = given_.size();
  for (auto& t : given_) {
    if (opt_.verbose) describe_probes(t);
    const pid_t pid = t.process.pid;
    try {
      tracker_->add(std::move(t), !is_command(pid));
    } catch (const Error& e) {
      // One target of several whose probes are refused is a warning; the
      // command is never left running untraced, and a lone target fails.
      if (is_command(pid) || (count == 1 && !opt_.following())) throw;
      fprintf(stderr, "memscope-bpf: warning: %s; not traced\n", terminal_safe(e.what()).c_str());
    }
  }
  given_.clear();
  if (tracker_->targets().empty() && !opt_.following()) throw Error("none of the processes given can be traced");
}

// The tracepoints report from here; processes already running are found
// after, so that none started in between is missed (one seen twice is
// probed once).
void TraceRun::watch_processes() {
  probes_->watch_processes(tracker_->follow_bits());
  proc_events_ = std::make_unique<ProcEventReader>(probes_->proc_events_fd());
  tracker_->scan();
  if (!opt_.syscall_counts) return;
  fprintf(stderr,
          "memscope-bpf: --syscall-counts: every syscall of every process on this host is slowed while tracing "
          "runs (measured in docs/measurements.md)\n");
  for (auto& t : tracker_->targets()) start_vm_counts(t, is_command(t.process.pid));
}

void TraceRun::start_draining() {
  aggregator_ = std::make_unique<Aggregator>(history_);
  aggregator_->limit_live(opt_.limits.live_entries);  // as many as the kernel follows: bounds the agent's memory
  new_sites_ = std::make_unique<Fd>(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  drainer_ = std::make_unique<RingDrainer>(probes_->events_fd(), *aggregator_, lock_, new_sites_->fd);
  // Each allocation window's clock advances, for the sites' between-window
  // variance (aggregate/window_variance.h).
  control_->on_window_closed([this](uint64_t now, const std::map<pid_t, WindowDelta>& moved) {
    std::map<uint32_t, WindowDelta> by_tgid(moved.begin(), moved.end());
    std::lock_guard<std::mutex> g(lock_);
    aggregator_->window_closed(now, std::move(by_tgid));
  });
  drainer_->start();
  agent_cost_ = std::make_unique<AgentCostMeter>(tracker_->live_pids(), agent_start_);
}

void TraceRun::announce_start() {
  for (const auto& t : tracker_->targets())
    if (!is_command(t.process.pid)) symbolizer_.snapshot(t.process.pid);
  // The timeline's first sample, before anyone is told tracing has begun
  // (a launched command has not exec'd yet: it starts at the next).
  sample_memory(child_ ? child_->pid() : 0, elapsed_s(monotonic_ns()));
  if (opt_.follow.all)
    fprintf(stderr,
            "memscope-bpf: --all: probing %zu processes through %zu objects; every process that maps them traps on "
            "each allocator call\n",
            tracker_->targets().size(), tracker_->objects_probed());
  for (const auto& name : opt_.follow.comms)
    fprintf(stderr, "memscope-bpf: following processes named %s, started now or later\n", terminal_safe(name).c_str());
  for (const auto& t : tracker_->targets()) {
    if (!opt_.follow.all || opt_.verbose) announce(t);
    announced_[t.process.pid] = t.process.exe;
  }
  if (!opt_.verbose) return;
  fprintf(stderr, "memscope-bpf: probes attached as %s\n", probes_->mechanism());
  fprintf(stderr, "memscope-bpf: BPF program ids:");
  for (uint32_t id : probes_->program_ids()) fprintf(stderr, " %u", id);
  fprintf(stderr, "\n");
}

void TraceRun::release_command() {
  if (!child_) return;
  child_->release();
  symbolizer_.snapshot(child_->pid());
  // The command's first sample, just after its exec.
  for (auto& t : tracker_->targets())
    if (is_command(t.process.pid) && !t.exited)
      t.memory.sample(t.process.pid, elapsed_s(monotonic_ns()), 0, allocated_by_process()[t.process.pid]);
}

// Memory beside the allocator's view: syscall counters from now on, and the
// heap's start for the timeline. A launched command gets its break at its
// first brk call (after exec), so none is given here. A process the
// kernel's table (vm_procs) has no room for is traced without them.
void TraceRun::start_vm_counts(TracedProcess& t, bool launched) {
  if (t.memory.followed || t.exited) return;  // an exited one's entry would never be taken out
  uint64_t brk = 0;
  if (!launched) {
    if (auto b = read_program_break(t.process.pid)) {
      t.memory.start_brk = b->start;
      brk = b->current;
    }
  }
  try {
    probes_->count_vm_syscalls(t.process.pid, brk);
    t.memory.followed = true;
  } catch (const Error& e) {
    fprintf(stderr, "memscope-bpf: warning: %s; its memory counters are left out\n", e.what());
  }
}

}  // namespace memscope
