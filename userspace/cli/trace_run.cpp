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

#include "aggregate/agent_cost.h"
#include "aggregate/aggregator.h"
#include "aggregate/kernel_counters.h"
#include "aggregate/kernel_sites.h"
#include "aggregate/ring_drainer.h"
#include "attach/bpf_session.h"
#include "attach/probe_calibration.h"
#include "sampling/optimizer.h"
#include "cli/launcher.h"
#include "cli/privileges.h"
#include "common/clock.h"
#include "common/error.h"
#include "report/json_report.h"
#include "report/report_builder.h"
#include "report/text_summary.h"
#include "symbolize/symbolizer.h"
#include "target/api_names.h"
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

TargetReport resolve_pid(pid_t pid, PlacementMode placement) {
  if (pid == getpid()) throw Error("PID " + std::to_string(pid) + " is memscope-bpf itself");
  TargetReport t;
  t.process = read_process(pid);
  t.allocator = find_allocator(pid, t.process.exe);
  place_probes(t.allocator, placement);
  if (t.allocator.sites.empty())
    throw Error("PID " + std::to_string(pid) + " (" + t.process.comm +
                "): no allocator to probe: no object in the process defines malloc");
  return t;
}

// Memory beside the allocator's view: syscall counters from now on, and
// the heap's start for the timeline. A launched command gets its break at
// its first brk call (after exec), so none is given here.
void follow_memory(BpfSession& session, TargetReport& t, bool launched) {
  uint64_t brk = 0;
  if (!launched) {
    if (auto b = read_program_break(t.process.pid)) {
      t.memory.start_brk = b->start;
      brk = b->current;
    }
  }
  session.follow_vm(t.process.pid, brk);
  t.memory.followed = true;
}

// The counters of every target, and one timeline sample per live target
// with the heap its sampled blocks still hold (estimated).
void sample_memory(std::vector<TargetReport>& targets, const std::vector<bool>& gone, const BpfSession& session,
                   const Aggregator& aggregator, std::mutex& lock, double t_s) {
  std::map<uint32_t, double> live;
  {
    std::lock_guard<std::mutex> g(lock);
    for (const auto& [id, s] : aggregator.sites()) live[s.tgid] += s.live_bytes;
  }
  for (size_t i = 0; i < targets.size(); ++i) {
    MemoryTrack& m = targets[i].memory;
    m.read_counters(session.vm_fd(), targets[i].process.pid);
    if (!gone[i]) m.sample(targets[i].process.pid, t_s, live[targets[i].process.pid]);
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

  std::vector<TargetReport> targets;
  for (pid_t pid : opt.pids) targets.push_back(resolve_pid(pid, opt.placement));

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
      throw Error(path + ": no allocator to probe: neither it nor its libraries define malloc");
    child = std::make_unique<LaunchedCommand>(opt.command);
    t.process.pid = t.process.ns_pid = child->pid();
    t.process.exe = path;
    t.process.comm = path.substr(path.find_last_of('/') + 1).substr(0, 15);
    targets.push_back(std::move(t));
  }

  ProbeCost probe_cost;
  if (opt.max_overhead_pct > 0) {
    probe_cost = calibrate_probe_cost(opt.limits, opt.probe_mode);
    fprintf(stderr, "memscope-bpf: measured on this host: %.0f ns per probe hit, %.0f ns per sampled record\n",
            probe_cost.per_call_ns, probe_cost.per_record_ns);
  }
  BpfSession session(opt.limits, opt.probe_mode, opt.verbose);
  ConfigHistory history;
  const uint64_t start_ns = monotonic_ns();
  session.publish(history.next(opt.tiers, 0.0, "initial settings"));
  for (const auto& t : targets) {
    if (opt.verbose) describe_probes(t);
    session.attach(t.process.pid, t.allocator);
  }
  if (opt.syscall_counts)
    for (auto& t : targets) follow_memory(session, t, child && t.process.pid == child->pid());
  std::vector<bool> gone(targets.size(), false);

  Aggregator aggregator(history);
  aggregator.limit_live(opt.limits.live_entries);  // as many as the kernel follows: bounds the agent's memory
  std::mutex lock;
  Fd new_sites(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  RingDrainer drainer(session.events_fd(), aggregator, lock, new_sites.fd);
  drainer.start();
  std::vector<pid_t> target_pids;
  for (const auto& t : targets) target_pids.push_back(t.process.pid);
  const AgentCostMeter agent_cost(target_pids);  // the report's `agent`: cost from here to the end

  Symbolizer symbolizer;
  std::vector<std::unique_ptr<Fd>> pidfds;
  for (const auto& t : targets) {
    if (child && t.process.pid == child->pid()) continue;
    symbolizer.snapshot(t.process.pid);
    pidfds.push_back(std::make_unique<Fd>(static_cast<int>(syscall(SYS_pidfd_open, t.process.pid, 0))));
  }
  // The timeline's first sample, before anyone is told tracing has begun
  // (a launched command has not exec'd yet: it starts at the next).
  std::vector<bool> not_started = gone;
  if (child) not_started.back() = true;
  sample_memory(targets, not_started, session, aggregator, lock, (monotonic_ns() - start_ns) / 1e9);
  for (const auto& t : targets)
    fprintf(stderr, "memscope-bpf: tracing PID %d (%s) through %s: %zu entry points; Ctrl-C for the report\n",
            t.process.pid, t.process.comm.c_str(), t.allocator.path.c_str(), t.allocator.sites.size());
  if (opt.verbose) fprintf(stderr, "memscope-bpf: probes attached as %s\n", session.mechanism());
  if (opt.verbose) {
    fprintf(stderr, "memscope-bpf: BPF program ids:");
    for (uint32_t id : session.program_ids()) fprintf(stderr, " %u", id);
    fprintf(stderr, "\n");
  }
  if (child) {
    child->release();
    symbolizer.snapshot(child->pid());
    std::vector<bool> others(targets.size(), true);
    others.back() = false;  // the command's first sample, just after its exec
    sample_memory(targets, others, session, aggregator, lock, (monotonic_ns() - start_ns) / 1e9);
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
  if (opt.max_events_per_s > 0 || opt.max_overhead_pct > 0) {
    optimizer = std::make_unique<Optimizer>(OptimizerBudget{opt.max_events_per_s, opt.max_overhead_pct}, probe_cost,
                                            opt.tiers);
    for (const auto& t : targets) control_target_cpu += std::max(0.0, process_cpu_seconds(t.process.pid));
  }
  size_t exited = 0;
  int child_status = 0;
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
    if (optimizer) wake = std::min(wake, next_control);
    std::vector<pollfd> fds{{sigfd.fd, POLLIN, 0}, {new_sites.fd, POLLIN, 0}};
    for (const auto& p : pidfds) fds.push_back({p->fd, POLLIN, 0});
    int timeout_ms = wake > now ? static_cast<int>((wake - now + 999'999) / 1'000'000) : 0;
    poll(fds.data(), fds.size(), timeout_ms);

    signalfd_siginfo si;
    while (read(sigfd.fd, &si, sizeof si) == sizeof si) {
      if (si.ssi_signo == SIGINT) why = "interrupted";
      if (si.ssi_signo == SIGTERM) why = "terminated";
    }
    if (child && !gone.back() && child->reap(child_status)) {
      gone.back() = true;
      ++exited;
    }
    for (size_t i = 0, p = 0; i < targets.size(); ++i) {
      if (child && i == targets.size() - 1) break;
      if (!gone[i] && (fds[2 + p].revents & POLLIN)) {
        gone[i] = true;
        ++exited;
      }
      ++p;
    }
    if (exited == targets.size() && why.empty()) why = targets.size() == 1 ? "the target exited" : "all targets exited";
    now = monotonic_ns();
    if (end_ns && now >= end_ns && why.empty()) why = "duration reached";

    uint64_t new_site_events;
    if (read(new_sites.fd, &new_site_events, sizeof new_site_events) == sizeof new_site_events) {
      for (size_t i = 0; i < targets.size(); ++i)
        if (!gone[i]) symbolizer.snapshot(targets[i].process.pid);
    }
    if (optimizer && now >= next_control) {
      ExactCounts counts = read_exact_counts(session.counts_fd(), session.stats_fd());
      double target_cpu = 0;
      for (size_t i = 0; i < targets.size(); ++i)
        if (!gone[i]) target_cpu += std::max(0.0, process_cpu_seconds(targets[i].process.pid));
      IntervalStats stats;
      stats.seconds = (now - last_control) / 1e9;
      stats.counts = counts - control_counts;
      stats.target_cpu_s = std::max(0.0, target_cpu - control_target_cpu);
      if (auto d = optimizer->step(stats)) {
        std::lock_guard<std::mutex> g(lock);
        TierConfig before = history.current();
        session.publish(history.next(d->config, (now - start_ns) / 1e9, d->reason));
        print_rate_change(stderr, (now - start_ns) / 1e9, before, d->config, d->reason);
      }
      control_counts = counts;
      control_target_cpu = target_cpu;
      last_control = now;
      next_control = now + control_ns;
    }
    if (now >= next_memory) {
      sample_memory(targets, gone, session, aggregator, lock, (now - start_ns) / 1e9);
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

  // Final state: drain, read the counters and stacks while the maps exist,
  // then detach before the (possibly slow) symbolization.
  drainer.stop();
  sample_memory(targets, gone, session, aggregator, lock, (stop_ns - start_ns) / 1e9);
  Report report;
  report.exact = read_exact_counts(session.counts_fd(), session.stats_fd());
  SiteStacks stacks = read_site_stacks(session.sites_fd(), session.stacks_fd());
  report.probes = session.probes();
  report.mechanism = session.mechanism();
  report.budget = {opt.max_events_per_s, opt.max_overhead_pct};
  report.probe_cost = probe_cost;
  session.detach_all();
  for (size_t i = 0; i < targets.size(); ++i) {
    if (!gone[i]) symbolizer.snapshot(targets[i].process.pid);
    targets[i].exited = gone[i];
  }
  report.targets = targets;
  report.duration_s = (stop_ns - start_ns) / 1e9;
  report.sampling = &history;
  report.records = aggregator.counters();
  report.agent = agent_cost.finish(drainer.batches(), aggregator.memory_bytes(), aggregator.live().size());
  add_sites(report, aggregator, stacks, symbolizer, {opt.top, stop_ns});
  write_report(report, opt.output);
  print_final(stderr, report, opt.top);
  if (opt.output != "-") fprintf(stderr, "memscope-bpf: report written to %s\n", opt.output.c_str());
  if (child && !gone.back()) {
    // The command outlives the trace (Ctrl-C, --duration): it keeps running
    // untraced, as a tracer must never end its target.
    fprintf(stderr, "memscope-bpf: command PID %d keeps running untraced\n", child->pid());
  }
  (void)child_status;
  return 0;
}

}  // namespace memscope
