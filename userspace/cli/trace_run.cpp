#include "cli/trace_run.h"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <set>

#include "aggregate/agent_cost.h"
#include "aggregate/aggregator.h"
#include "aggregate/kernel_counters.h"
#include "aggregate/kernel_sites.h"
#include "aggregate/process_counters.h"
#include "aggregate/ring_drainer.h"
#include "attach/bpf_session.h"
#include "attach/probe_calibration.h"
#include "cli/duty_windows.h"
#include "sampling/optimizer.h"
#include "cli/launcher.h"
#include "follow/proc_events.h"
#include "follow/process_tracker.h"
#include "cli/privileges.h"
#include "common/clock.h"
#include "common/error.h"
#include "report/json_report.h"
#include "report/report_builder.h"
#include "report/text_summary.h"
#include "symbolize/symbolizer.h"
#include "target/api_names.h"
#include "target/process.h"
#include "target/process_memory.h"

extern char** environ;

namespace memscope {
namespace {

struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

void announce(const TargetReport& t) {
  fprintf(stderr, "memscope-bpf: tracing PID %d (%s) through %s: %zu entry points; Ctrl-C for the report\n",
          t.process.pid, t.process.comm.c_str(), t.allocator.path.c_str(), t.allocator.sites.size());
}

// --all and inherited probes: processes that called the allocator but were
// never listed (a fork whose event was lost): in the report all the same,
// with what is still known of them.
void add_unlisted(std::vector<TargetReport>& targets, const std::map<pid_t, ProcessCounts>& counts) {
  std::set<pid_t> listed;
  for (const auto& t : targets) listed.insert(t.process.pid);
  for (const auto& [pid, c] : counts) {
    if (listed.count(pid) || c.hits() == 0) continue;
    TargetReport t;
    try {
      t.process = read_process(pid);
    } catch (const Error&) {
      t.process.pid = t.process.ns_pid = pid;
      t.process.comm = "[exited]";
      t.exited = true;
    }
    targets.push_back(std::move(t));
  }
}

// Memory beside the allocator's view: syscall counters from now on, and
// the heap's start for the timeline. A launched command gets its break at
// its first brk call (after exec), so none is given here. A process the
// kernel's table (vm_procs) has no room for is traced without them.
void follow_memory(BpfSession& session, TargetReport& t, bool launched) {
  if (t.memory.followed || t.exited) return;  // an exited one's entry would never be taken out
  uint64_t brk = 0;
  if (!launched) {
    if (auto b = read_program_break(t.process.pid)) {
      t.memory.start_brk = b->start;
      brk = b->current;
    }
  }
  try {
    session.follow_vm(t.process.pid, brk);
    t.memory.followed = true;
  } catch (const Error& e) {
    fprintf(stderr, "memscope-bpf: warning: %s; its memory counters are left out\n", e.what());
  }
}

// The counters of every target, and one timeline sample per live target
// with the heap its sampled blocks still hold (estimated).
void sample_memory(std::vector<TargetReport>& targets, pid_t not_started, const BpfSession& session,
                   const Aggregator& aggregator, std::mutex& lock, double t_s) {
  std::map<uint32_t, double> live;
  {
    std::lock_guard<std::mutex> g(lock);
    for (const auto& [id, s] : aggregator.sites()) live[s.tgid] += s.live_bytes;
  }
  for (auto& t : targets) {
    t.memory.read_counters(session.vm_fd(), t.process.pid);
    if (!t.exited && t.process.pid != not_started) t.memory.sample(t.process.pid, t_s, live[t.process.pid]);
  }
}

void describe_probes(const TargetReport& t) {
  for (const auto& s : t.allocator.sites) {
    fprintf(stderr, "memscope-bpf:   %-15s %s+0x%llx", s.symbol.c_str(), s.path.c_str(),
            static_cast<unsigned long long>(s.offset));
    for (unsigned a : s.aliases) fprintf(stderr, " (also %s)", std::string(api_name(a)).c_str());
    fprintf(stderr, "  [%s]\n", s.placement.c_str());
  }
  for (unsigned m : t.allocator.missing)
    fprintf(stderr, "memscope-bpf:   %-15s not defined by %s\n", std::string(api_name(m)).c_str(),
            t.allocator.path.c_str());
}

ProbeCost calibrate_quietly(const Options& opt) {
  try {
    return calibrate_probe_cost(opt.limits, opt.probe_mode, opt.placement);
  } catch (const Error& e) {
    fprintf(stderr, "memscope-bpf: warning: probe cost not measured (%s); added time is left out\n", e.what());
    return {};
  }
}

void write_report(const Report& report, const std::string& output) {
  std::string text = to_json(report).dump(2) + "\n";
  if (output == "-") {
    std::cout << text << std::flush;
    return;
  }
  std::string tmp = output + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) throw Error("cannot write " + output + ": " + strerror(errno));
    out << text;
    if (!out.flush()) throw Error("cannot write " + output + ": " + strerror(errno));
  }
  if (rename(tmp.c_str(), output.c_str()) != 0) throw Error("cannot write " + output + ": " + strerror(errno));
}

}  // namespace

int trace_run(const Options& opt) {
  check_privileges();

  // Targets given by PID are resolved before anything is loaded: a bad PID
  // is an error on its own, and a warning when other targets remain.
  std::vector<TargetReport> targets;
  std::string first_error;
  for (pid_t pid : opt.pids) {
    try {
      targets.push_back(resolve_target(pid, opt.placement));
    } catch (const Error& e) {
      if (opt.pids.size() == 1 && opt.command.empty() && !opt.following()) throw;
      if (first_error.empty()) first_error = e.what();
      fprintf(stderr, "memscope-bpf: warning: %s; not traced\n", e.what());
    }
  }
  if (targets.empty() && !opt.pids.empty() && opt.command.empty() && !opt.following()) throw Error(first_error);

  // Signals are taken through a signalfd so that Ctrl-C always ends in a
  // clean final report; the launched command gets the default mask back.
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGCHLD);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  Fd sigfd(signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));

  std::unique_ptr<LaunchedCommand> child;
  if (!opt.command.empty()) {
    std::string path = resolve_command(opt.command[0]);
    if (path.empty()) throw Error("command not found: " + opt.command[0]);
    TargetReport t;
    t.allocator = find_allocator_for_command(path, environ);
    place_probes(t.allocator, opt.placement);
    if (t.allocator.sites.empty())
      throw Error(path + ": no allocator to probe: " +
                  (t.allocator.why_none.empty() ? "neither it nor its libraries define malloc" : t.allocator.why_none));
    child = std::make_unique<LaunchedCommand>(opt.command);
    t.process.pid = t.process.ns_pid = child->pid();
    t.process.exe = path;
    t.process.comm = path.substr(path.find_last_of('/') + 1).substr(0, 15);
    targets.push_back(std::move(t));
  }

  ProbeCost probe_cost;
  if (opt.max_overhead_pct > 0) {
    probe_cost = calibrate_probe_cost(opt.limits, opt.probe_mode, opt.placement);
    fprintf(stderr, "memscope-bpf: measured on this host: %.0f ns per probe hit, %.0f ns per sampled record\n",
            probe_cost.per_call_ns, probe_cost.per_record_ns);
  }
  BpfSession session(opt.limits, opt.probe_mode, opt.verbose);
  ConfigHistory history;
  const uint64_t start_ns = monotonic_ns();
  session.publish(history.next(opt.tiers, 0.0, "initial settings"));
  ProcessTracker tracker(session, opt.follow);
  // Windows: fixed by --duty-cycle, or chosen by --max-overhead when the
  // probes alone cost more than it allows.
  std::unique_ptr<DutyWindows> duty = DutyWindows::make(
      {opt.duty_window_s, opt.duty_period_s, opt.max_overhead_pct / 100.0, opt.max_overhead_window_s, opt.verbose},
      probe_cost, start_ns);
  if (duty) duty->start(session, targets);
  for (auto& t : targets) {
    if (opt.verbose) describe_probes(t);
    const pid_t pid = t.process.pid;
    try {
      tracker.add(std::move(t), !(child && pid == child->pid()));
    } catch (const Error& e) {
      // One target of several whose probes are refused is a warning; the
      // command is never left running untraced, and a lone target fails.
      if ((child && pid == child->pid()) || (targets.size() == 1 && !opt.following())) throw;
      fprintf(stderr, "memscope-bpf: warning: %s; not traced\n", e.what());
    }
  }
  if (tracker.targets().empty() && !opt.following()) throw Error("none of the processes given can be traced");
  // The tracepoints report from here; processes already running are found
  // after, so that none started in between is missed (one seen twice is
  // probed once).
  session.watch_processes(tracker.follow_bits());
  ProcEventReader proc_events(session.proc_events_fd());
  tracker.scan();
  if (opt.syscall_counts) {
    fprintf(stderr,
            "memscope-bpf: --syscall-counts: every syscall of every process on this host pays ~150 ns while "
            "tracing runs\n");
    for (auto& t : tracker.targets()) follow_memory(session, t, child && t.process.pid == child->pid());
  }

  Aggregator aggregator(history);
  aggregator.limit_live(opt.limits.live_entries);  // as many as the kernel follows: bounds the agent's memory
  std::mutex lock;
  Fd new_sites(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  RingDrainer drainer(session.events_fd(), aggregator, lock, new_sites.fd);
  drainer.start();
  const AgentCostMeter agent_cost(tracker.live_pids());  // the report's `agent`: cost from here to the end

  Symbolizer symbolizer;
  for (const auto& t : tracker.targets()) {
    if (child && t.process.pid == child->pid()) continue;
    symbolizer.snapshot(t.process.pid);
  }
  // The timeline's first sample, before anyone is told tracing has begun
  // (a launched command has not exec'd yet: it starts at the next).
  sample_memory(tracker.targets(), child ? child->pid() : 0, session, aggregator, lock,
                (monotonic_ns() - start_ns) / 1e9);
  if (opt.follow.all)
    fprintf(stderr,
            "memscope-bpf: --all: probing %zu processes through %zu objects; every process that maps them traps on "
            "each allocator call\n",
            tracker.targets().size(), tracker.objects_probed());
  for (const auto& name : opt.follow.comms)
    fprintf(stderr, "memscope-bpf: following processes named %s, started now or later\n", name.c_str());
  std::map<pid_t, std::string> announced;  // the program each PID was last announced running
  for (const auto& t : tracker.targets()) {
    if (!opt.follow.all || opt.verbose) announce(t);
    announced[t.process.pid] = t.process.exe;
  }
  if (opt.verbose) fprintf(stderr, "memscope-bpf: probes attached as %s\n", session.mechanism());
  if (opt.verbose) {
    fprintf(stderr, "memscope-bpf: BPF program ids:");
    for (uint32_t id : session.program_ids()) fprintf(stderr, " %u", id);
    fprintf(stderr, "\n");
  }
  if (child) {
    child->release();
    symbolizer.snapshot(child->pid());
    // The command's first sample, just after its exec.
    for (auto& t : tracker.targets())
      if (t.process.pid == child->pid() && !t.exited)
        t.memory.sample(t.process.pid, (monotonic_ns() - start_ns) / 1e9, 0);
  }

  // Wait for the end, printing interval summaries and keeping symbol
  // snapshots fresh while new sites appear.
  const uint64_t end_ns = opt.duration_s > 0 ? start_ns + static_cast<uint64_t>(opt.duration_s * 1e9) : 0;
  const uint64_t interval_ns = static_cast<uint64_t>(opt.interval_s * 1e9);
  uint64_t next_interval = interval_ns ? start_ns + interval_ns : 0, last_interval = start_ns;
  ExactCounts last_counts{};
  // The optimizer runs when a budget is given; its cost model is measured
  // here before tracing starts.
  std::unique_ptr<Optimizer> optimizer;
  const uint64_t control_ns = static_cast<uint64_t>(opt.control_interval_s * 1e9);
  uint64_t next_control = start_ns + control_ns, last_control = start_ns;
  ExactCounts control_counts{};
  double control_target_cpu = 0;
  double control_agent_cpu = process_cpu_seconds_self();
  if (opt.max_events_per_s > 0 || opt.max_overhead_pct > 0 || opt.max_sampled_pct > 0) {
    optimizer = std::make_unique<Optimizer>(
        OptimizerBudget{opt.max_events_per_s, opt.max_overhead_pct, opt.max_sampled_pct}, probe_cost, opt.tiers);
    for (pid_t pid : tracker.live_pids()) control_target_cpu += std::max(0.0, process_cpu_seconds(pid));
  }
  bool was_counting = true;
  int child_status = 0;
  bool child_gone = false;
  uint32_t sites_seen = 0;  // site ids below this have had their process's maps read
  // The memory timeline follows -i, or takes a sample a second without it.
  const uint64_t memory_ns = interval_ns ? interval_ns : 1'000'000'000;
  uint64_t next_memory = start_ns + memory_ns;
  std::string why = "";
  while (why.empty()) {
    uint64_t now = monotonic_ns();
    uint64_t wake = now + 1'000'000'000;
    if (end_ns) wake = std::min(wake, end_ns);
    if (next_interval) wake = std::min(wake, next_interval);
    wake = std::min(wake, next_memory);
    if (optimizer || duty) wake = std::min(wake, next_control);
    if (duty)
      if (uint64_t w = duty->next_wake(now, session)) wake = std::min(wake, w);
    std::vector<pollfd> fds{{sigfd.fd, POLLIN, 0}, {new_sites.fd, POLLIN, 0}, {proc_events.poll_fd(), POLLIN, 0}};
    int timeout_ms = wake > now ? static_cast<int>((wake - now + 999'999) / 1'000'000) : 0;
    poll(fds.data(), fds.size(), timeout_ms);

    signalfd_siginfo si;
    while (read(sigfd.fd, &si, sizeof si) == sizeof si) {
      if (si.ssi_signo == SIGINT) why = "interrupted";
      if (si.ssi_signo == SIGTERM) why = "terminated";
    }
    if (child && !child_gone && child->reap(child_status)) {
      child_gone = true;
      tracker.mark_exited(child->pid());
    }
    for (pid_t pid : tracker.handle(proc_events.read())) {
      if (auto parent = tracker.copy_of(pid)) symbolizer.snapshot_or_copy(pid, *parent);
      else symbolizer.snapshot(pid);
      for (auto& t : tracker.targets()) {
        if (t.process.pid != pid) continue;
        if (opt.syscall_counts) follow_memory(session, t, false);
        // Exec: a new program, a new heap; the break is measured from its start.
        if (announced.count(pid) && announced[pid] != t.process.exe)
          if (auto b = read_program_break(pid)) t.memory.start_brk = b->start;
        if ((!opt.follow.all || opt.verbose) && announced[pid] != t.process.exe) {
          announce(t);
          announced[pid] = t.process.exe;
        }
      }
    }
    // An exit event lost to a full ring must not keep the trace waiting.
    for (pid_t pid : tracker.live_pids())
      if (!process_alive(pid)) tracker.mark_exited(pid);
    const size_t live = tracker.live_pids().size();
    if (live == 0 && !tracker.waits_for_new() && why.empty())
      why = tracker.targets().size() == 1 ? "the target exited" : "all targets exited";
    now = monotonic_ns();
    if (end_ns && now >= end_ns && why.empty()) why = "duration reached";

    uint64_t new_site_events;
    if (read(new_sites.fd, &new_site_events, sizeof new_site_events) == sizeof new_site_events) {
      // Only the processes that brought new sites: their maps now, while
      // they live, so that the sites resolve after they exit.
      std::set<pid_t> with_new;
      {
        std::lock_guard<std::mutex> g(lock);
        uint32_t next = sites_seen;
        for (const auto& [id, s] : aggregator.sites())
          if (id >= sites_seen) {
            with_new.insert(static_cast<pid_t>(s.tgid));
            next = std::max(next, id + 1);
          }
        sites_seen = next;
      }
      for (pid_t pid : with_new) symbolizer.snapshot(pid);
    }
    if (duty) {
      const DutyChange change = duty->step(now, session, tracker, now >= next_control);
      if (change.engaged || change.disengaged) {
        // Cycling, the windows keep the cost: inside them the rates are the
        // user's again (minimum rates would leave the windows empty) and
        // only the other budgets bind them. Not cycling, the rate
        // optimizer has the overhead budget back.
        const double overhead = change.engaged ? 0 : opt.max_overhead_pct;
        optimizer =
            opt.max_events_per_s > 0 || opt.max_sampled_pct > 0 || overhead > 0
                ? std::make_unique<Optimizer>(OptimizerBudget{opt.max_events_per_s, overhead, opt.max_sampled_pct},
                                              probe_cost, opt.tiers)
                : nullptr;
        const char* reason =
            change.engaged ? "duty cycle: the windows keep the cost" : "duty cycle off: the rates keep the cost";
        std::lock_guard<std::mutex> g(lock);
        TierConfig before = history.current();
        session.publish(history.next(opt.tiers, (now - start_ns) / 1e9, reason));
        print_rate_change(stderr, (now - start_ns) / 1e9, before, opt.tiers, reason);
      }
      if (duty->counting() && !was_counting) {
        // A window's first control interval starts with it.
        last_control = now;
        control_counts = read_exact_counts(session.counts_fd(), session.stats_fd());
        control_target_cpu = 0;
        for (pid_t pid : tracker.live_pids()) control_target_cpu += std::max(0.0, process_cpu_seconds(pid));
        control_agent_cpu = process_cpu_seconds_self();
      }
      was_counting = duty->counting();
    }
    if (optimizer && now >= next_control && (!duty || duty->counting())) {
      ExactCounts counts = read_exact_counts(session.counts_fd(), session.stats_fd());
      double target_cpu = 0;
      for (pid_t pid : tracker.live_pids()) target_cpu += std::max(0.0, process_cpu_seconds(pid));
      IntervalStats stats;
      stats.seconds = (now - last_control) / 1e9;
      stats.counts = counts - control_counts;
      stats.target_cpu_s = std::max(0.0, target_cpu - control_target_cpu);
      const double agent_cpu = process_cpu_seconds_self();
      stats.agent_cpu_s = std::max(0.0, agent_cpu - control_agent_cpu);
      control_agent_cpu = agent_cpu;
      if (auto d = optimizer->step(stats)) {
        std::lock_guard<std::mutex> g(lock);
        TierConfig before = history.current();
        session.publish(history.next(d->config, (now - start_ns) / 1e9, d->reason));
        print_rate_change(stderr, (now - start_ns) / 1e9, before, d->config, d->reason);
      }
      control_counts = counts;
      control_target_cpu = target_cpu;
      last_control = now;
    }
    if ((optimizer || duty) && now >= next_control) next_control = now + control_ns;
    if (now >= next_memory) {
      sample_memory(tracker.targets(), 0, session, aggregator, lock, (now - start_ns) / 1e9);
      next_memory += memory_ns;
    }
    if (next_interval && now >= next_interval) {
      ExactCounts counts = read_exact_counts(session.counts_fd(), session.stats_fd());
      double live = 0;
      uint64_t records;
      {
        std::lock_guard<std::mutex> g(lock);
        for (const auto& [id, s] : aggregator.sites()) live += s.live_bytes;
        records = aggregator.counters().records;
      }
      TierConfig rates;
      {
        std::lock_guard<std::mutex> g(lock);
        rates = history.current();
      }
      print_interval(stderr, (now - start_ns) / 1e9, (now - last_interval) / 1e9, counts - last_counts, live, records,
                     rates);
      last_counts = counts;
      last_interval = now;
      next_interval += interval_ns;
    }
  }
  const uint64_t stop_ns = monotonic_ns();
  fprintf(stderr, "memscope-bpf: %s; writing the report\n", why.c_str());

  // Final state: detach first, so that the counters stop together (the
  // processes' own add up to the totals) and nothing more is trapped
  // during the (possibly slow) symbolization; then drain and read the
  // counters and stacks, whose maps live as long as the session.
  if (duty) duty->end(stop_ns, session, tracker);
  session.detach_all();
  drainer.stop();
  sample_memory(tracker.targets(), 0, session, aggregator, lock, (stop_ns - start_ns) / 1e9);
  Report report;
  report.exact = read_exact_counts(session.counts_fd(), session.stats_fd());
  auto per_process = read_every_process(session.proc_counts_fd(), session.proc_hits_fd(), session.proc_slot_counts_fd(),
                                        session.proc_slot_hits_fd(), tracker.slots(), tracker.retired());
  report.process_stats = read_process_stats(session.proc_stats_fd());
  const auto overflow = read_process_overflow(session.proc_overflow_fd());
  report.processes_not_counted = overflow.size();
  SiteStacks stacks = read_site_stacks(session.sites_fd(), session.stacks_fd());
  report.probes = session.probes();
  report.mechanism = session.mechanism();
  report.budget = {opt.max_events_per_s, opt.max_overhead_pct, opt.max_sampled_pct};
  if (duty) {
    WorkClocks final;
    for (const auto& [pid, c] : per_process) final[pid] = {c.exact.free_calls(), process_user_cpu_seconds(pid)};
    report.duty = duty->finish(stop_ns, final);
  }
  // The per-hit cost turns each process's probe hits into an estimate of
  // the time they added; measured now, after the targets are detached,
  // unless the optimizer needed it at start.
  if (probe_cost.per_hit_ns <= 0) probe_cost = calibrate_quietly(opt);
  report.probe_cost = probe_cost;
  report.targets = std::move(tracker.targets());
  if (opt.follow.all || tracker.inherits()) add_unlisted(report.targets, per_process);
  for (auto& t : report.targets) {
    if (!t.exited) symbolizer.snapshot(t.process.pid);
    // A child gone before it was ever read: its parent's mappings.
    if (auto parent = tracker.copy_of(t.process.pid); parent && !symbolizer.has_snapshot(t.process.pid))
      symbolizer.snapshot_or_copy(t.process.pid, *parent);
    if (auto it = per_process.find(t.process.pid); it != per_process.end()) {
      t.exact = it->second.exact;
      t.entry_hits = it->second.entry_hits;
      t.return_hits = it->second.return_hits;
    }
    if (auto it = overflow.find(t.process.pid); it != overflow.end()) t.uncounted = it->second;
  }
  report.duration_s = (stop_ns - start_ns) / 1e9;
  report.sampling = &history;
  report.records = aggregator.counters();
  report.agent = agent_cost.finish(drainer.batches(), aggregator.memory_bytes(), aggregator.live().size());
  RankOptions rank{opt.top, stop_ns, {}};
  for (const auto& [pid, c] : report.duty.coverage)
    if (c.value > 0) rank.scale[static_cast<uint32_t>(pid)] = 1.0 / c.value;
  add_sites(report, aggregator, stacks, symbolizer, rank);
  write_report(report, opt.output);
  print_final(stderr, report, opt.top);
  if (opt.output != "-") fprintf(stderr, "memscope-bpf: report written to %s\n", opt.output.c_str());
  if (child && !child_gone && !child->reap(child_status)) {
    // The command outlives the trace (Ctrl-C, --duration): it keeps running
    // untraced, as a tracer must never end its target.
    fprintf(stderr, "memscope-bpf: command PID %d keeps running untraced\n", child->pid());
  }
  (void)child_status;
  return 0;
}

}  // namespace memscope
