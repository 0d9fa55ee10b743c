#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <set>

#include "aggregate/process_counters.h"
#include "cli/trace_steps.h"
#include "common/clock.h"
#include "common/terminal_safe.h"
#include "report/text_summary.h"
#include "targets/process.h"
#include "targets/process_memory.h"

namespace memscope {

namespace {

bool same_file(const std::string& a, const std::string& b) {
  std::error_code ec;
  return a == b || (!a.empty() && !b.empty() && std::filesystem::equivalent(a, b, ec));
}

}  // namespace

void announce(const TracedProcess& t) {
  fprintf(stderr, "memscope-bpf: tracing PID %d (%s) through %s: %zu entry points; Ctrl-C for the report\n",
          t.process.pid, terminal_safe(t.process.comm).c_str(), terminal_safe(t.allocator.path).c_str(),
          t.allocator.sites.size());
}

// Wait for the end, printing interval summaries and keeping symbol
// snapshots fresh while new sites appear.
void TraceRun::loop() {
  end_ns_ = opt_.duration_s > 0 ? start_ns_ + static_cast<uint64_t>(opt_.duration_s * 1e9) : 0;
  interval_ns_ = static_cast<uint64_t>(opt_.interval_s * 1e9);
  next_interval_ = interval_ns_ ? start_ns_ + interval_ns_ : 0;
  last_interval_ = start_ns_;
  control_->begin();
  // The memory timeline follows -i, or takes a sample a second without it.
  memory_ns_ = interval_ns_ ? interval_ns_ : 1'000'000'000;
  next_memory_ = start_ns_ + memory_ns_;
  next_metrics_ = metrics_ ? start_ns_ : 0;
  live_last_agent_ = agent_cpu_now();
  for (pid_t pid : tracker_->live_pids()) live_last_targets_cpu_ += std::max(0.0, process_cpu_seconds(pid));
  while (why_.empty()) {
    uint64_t now = monotonic_ns();
    const uint64_t wake = next_wake(now);
    std::vector<pollfd> fds{{sigfd_->fd, POLLIN, 0}, {new_sites_->fd, POLLIN, 0}, {proc_events_->poll_fd(), POLLIN, 0}};
    poll(fds.data(), fds.size(), wake > now ? static_cast<int>((wake - now + 999'999) / 1'000'000) : 0);
    read_signals();           // stop
    handle_process_events();  // count: who is traced
    check_targets_alive();
    now = monotonic_ns();
    if (end_ns_ && now >= end_ns_ && why_.empty()) why_ = "duration reached";
    snapshot_new_sites();  // drain: new sites' symbols while their process lives
    control_->step(now);   // decide
    if (now >= next_memory_) {
      sample_memory(0, elapsed_s(now));
      next_memory_ += memory_ns_;
    }
    if (next_interval_ && now >= next_interval_) {  // print
      if (opt_.live && isatty(STDERR_FILENO)) draw_live(now);
      else print_interval_line(now);
    }
    if (next_metrics_ && now >= next_metrics_) {
      publish_metrics();
      next_metrics_ = now + 1'000'000'000;
    }
  }
  leave_live_screen();
}

uint64_t TraceRun::next_wake(uint64_t now) const {
  uint64_t wake = now + 1'000'000'000;
  if (end_ns_) wake = std::min(wake, end_ns_);
  if (next_interval_) wake = std::min(wake, next_interval_);
  if (next_metrics_) wake = std::min(wake, next_metrics_);
  wake = std::min(wake, next_memory_);
  if (uint64_t w = control_->next_wake(now)) wake = std::min(wake, w);
  if (uint64_t w = tracker_->next_sweep_ns()) wake = std::min(wake, w);
  return wake;
}

void TraceRun::read_signals() {
  signalfd_siginfo si;
  while (read(sigfd_->fd, &si, sizeof si) == sizeof si) {
    if (si.ssi_signo == SIGINT) why_ = "interrupted";
    if (si.ssi_signo == SIGTERM) why_ = "terminated";
  }
  if (child_ && !child_gone_ && child_->reap(child_status_)) {
    child_gone_ = true;
    tracker_->mark_exited(child_->pid());
    agent_cost_->target_ended(child_->pid(), child_->cpu_seconds());
  }
}

void TraceRun::handle_process_events() {
  const std::vector<ms_proc_event> events = proc_events_->read();
  // Calls made from now on are read against the new mappings, those before
  // against the old ones (a new program, or a library where another was).
  // A dlopen's change began at its RT_ADD, before the new objects were mapped.
  // A fork at a PID whose mappings are known: a new process took the PID
  // of one that exited (follow/pid_reuse.cpp); its addresses are its own.
  for (const auto& e : events)
    if (e.kind == MS_PROC_EXEC || (e.kind == MS_PROC_FORK && symbolizer_.has_snapshot(static_cast<pid_t>(e.pid))))
      symbolizer_.maps_changed(static_cast<pid_t>(e.pid), e.time_ns, MapsHistory::Change::exec);
    else if (e.kind == MS_PROC_LINKER)
      symbolizer_.maps_changed(static_cast<pid_t>(e.pid),
                               e.time_ns - std::min<uint64_t>(e.time_ns, e.lead_us * 1000ull),
                               MapsHistory::Change::load);
  for (pid_t pid : tracker_->handle(events)) {
    if (auto parent = tracker_->copy_of(pid)) symbolizer_.snapshot_or_copy(pid, *parent);
    else symbolizer_.snapshot(pid);
    for (auto& t : tracker_->targets()) {
      if (t.process.pid != pid) continue;
      if (opt_.syscall_counts) start_vm_counts(t, false);
      // Exec: a new program, a new heap; the break is measured from its start.
      if (announced_.count(pid) && announced_[pid] != t.process.exe)
        if (auto b = read_program_break(pid)) t.memory.start_brk = b->start;
      // A command is announced at start by the path it was found at
      // (/bin/ls) and seen at its exec by the kernel's (/usr/bin/ls): once.
      if ((!opt_.follow.all || opt_.verbose) && !same_file(announced_[pid], t.process.exe)) announce(t);
      announced_[pid] = t.process.exe;
    }
  }
  tracker_->sweep_copies(monotonic_ns());
}

void TraceRun::check_targets_alive() {
  // An exit event lost to a full ring must not keep the trace waiting.
  for (pid_t pid : tracker_->live_pids())
    if (!process_alive(pid)) tracker_->mark_exited(pid);
  if (tracker_->live_pids().empty() && !tracker_->waits_for_new() && why_.empty())
    why_ = tracker_->targets().size() == 1 ? "the target exited" : "all targets exited";
}

// Only the processes that brought new sites: their maps now, while they
// live, so that the sites resolve after they exit.
void TraceRun::snapshot_new_sites() {
  uint64_t events;
  if (read(new_sites_->fd, &events, sizeof events) != sizeof events) return;
  std::set<pid_t> with_new;
  {
    std::lock_guard<std::mutex> g(lock_);
    uint32_t next = sites_seen_;
    for (const auto& [id, s] : aggregator_->sites())
      if (id >= sites_seen_) {
        with_new.insert(static_cast<pid_t>(s.tgid));
        next = std::max(next, id + 1);
      }
    sites_seen_ = next;
  }
  for (pid_t pid : with_new) symbolizer_.snapshot(pid);
}

// The counters of every target, and one timeline sample per live target
// with the heap its sampled blocks still hold (estimated).
std::map<uint32_t, double> TraceRun::live_bytes_by_process() {
  std::map<uint32_t, double> live;
  std::lock_guard<std::mutex> g(lock_);
  for (const auto& [id, s] : aggregator_->sites()) live[s.tgid] += s.live_bytes;
  return live;
}

std::map<pid_t, ms_count> TraceRun::allocated_by_process() const {
  std::map<pid_t, ms_count> out;
  for (const auto& [pid, c] : with_retired(probes_->maps().process_counts(tracker_->slots()), tracker_->retired()))
    out[pid] = {c.exact.allocation_calls(), c.exact.allocation_bytes()};
  return out;
}

void TraceRun::sample_memory(pid_t not_started, double t_s) {
  std::map<uint32_t, double> live = live_bytes_by_process();
  std::map<pid_t, ms_count> allocated = allocated_by_process();
  for (auto& t : tracker_->targets()) {
    if (t.memory.followed) probes_->maps().vm_counts(t.process.pid, t.memory.vm);
    if (!t.exited && t.process.pid != not_started)
      t.memory.sample(t.process.pid, t_s, live[t.process.pid], allocated[t.process.pid]);
  }
}

void TraceRun::print_interval_line(uint64_t now) {
  const ExactCounts counts = probes_->maps().exact_counts();
  double live = 0;
  for (const auto& [tgid, bytes] : live_bytes_by_process()) live += bytes;
  uint64_t records;
  TierConfig rates;
  {
    std::lock_guard<std::mutex> g(lock_);
    records = aggregator_->counters().records;
    rates = history_.current();
  }
  print_interval(stderr, elapsed_s(now), (now - last_interval_) / 1e9, counts - last_counts_, live, records, rates);
  last_counts_ = counts;
  last_interval_ = now;
  next_interval_ += interval_ns_;
}

}  // namespace memscope
