// One tracing run as named steps (cli/trace_run.cpp reads them in order):
// start targets, attach, loop (drain, count, decide, print), stop, detach,
// report. The state the steps share is this class's; each stage's work is
// the stage's own (targets/, attach/, follow/, aggregate/, sampling/,
// symbolize/, report/), called from here.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "aggregate/agent_cost.h"
#include "aggregate/aggregator.h"
#include "aggregate/ring_drainer.h"
#include "attach/bpf_object.h"
#include "cli/kernel_control.h"
#include "cli/launcher.h"
#include "cli/options.h"
#include "follow/proc_events.h"
#include "follow/process_tracker.h"
#include "report/assemble.h"
#include "report/live_view.h"
#include "report/metrics_endpoint.h"
#include "report/report.h"
#include "sampling/config_history.h"
#include "sampling/control_loop.h"
#include "symbolize/symbolizer.h"

namespace memscope {

// An fd closed with its owner.
struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd();
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
};

// "tracing PID N (comm) through ..." on stderr.
void announce(const TracedProcess& t);

class TraceRun {
 public:
  explicit TraceRun(const Options& options);
  ~TraceRun();
  int run();

 private:
  // Start targets (cli/trace_start.cpp).
  void check_outputs() const;
  void remove_what_killed_agents_left();
  void resolve_given_pids();
  void take_signals();
  void serve_metrics();  // cli/metrics_feed.cpp: listens before anything is attached
  void hold_command();
  void measure_probe_cost_first();
  // Attach.
  void load_probes();
  void attach_targets();
  void watch_processes();
  void start_draining();
  void announce_start();
  void release_command();
  // Loop (cli/trace_loop.cpp): until a signal, the duration or the targets' exit.
  void loop();
  uint64_t next_wake(uint64_t now) const;
  void read_signals();
  void handle_process_events();
  void check_targets_alive();
  void snapshot_new_sites();
  // The estimated live heap of each process's sampled blocks.
  std::map<uint32_t, double> live_bytes_by_process();
  // Each process's allocation calls and bytes so far, counted by the kernel.
  std::map<pid_t, ms_count> allocated_by_process() const;
  void sample_memory(pid_t not_started, double t_s);
  void print_interval_line(uint64_t now);
  // The metrics endpoint's snapshot (cli/metrics_feed.cpp), once a second.
  void publish_metrics();
  std::vector<ProcessMetrics> process_metrics();
  std::vector<SiteMetrics> site_metrics();
  const std::string& site_name(uint32_t id, uint32_t tgid, SiteStacks& stacks);
  // The --live screen (cli/live_feed.cpp), each interval on a terminal.
  void draw_live(uint64_t now);
  void leave_live_screen();
  void start_vm_counts(TracedProcess& t, bool launched);
  bool is_command(pid_t pid) const { return child_ && pid == child_->pid(); }
  double elapsed_s(uint64_t now) const { return (now - start_ns_) / 1e9; }
  // Stop, detach, report (cli/trace_finish.cpp).
  void stop_counting();
  KernelFinal read_kernel_final() const;
  // False when an output could not be written (each failure said on stderr).
  bool write_final_report(const KernelFinal& kernel);
  void wait_detached();
  void leave_command();

  const Options& opt_;
  std::vector<TracedProcess> given_;  // resolved up front (-p, the command)
  std::unique_ptr<Fd> sigfd_;
  std::unique_ptr<LaunchedCommand> child_;
  ProbeCost probe_cost_;
  std::unique_ptr<BpfObject> probes_;
  ConfigHistory history_;
  uint64_t start_ns_ = 0, stop_ns_ = 0;
  std::unique_ptr<ProcessTracker> tracker_;
  std::unique_ptr<KernelControl> port_;
  std::mutex lock_;  // the aggregator and the history, shared with the drainer
  std::unique_ptr<ControlLoop> control_;
  std::unique_ptr<ProcEventReader> proc_events_;
  std::unique_ptr<Aggregator> aggregator_;
  std::unique_ptr<Fd> new_sites_;
  std::unique_ptr<RingDrainer> drainer_;
  AgentCpuMark agent_start_;
  std::unique_ptr<AgentCostMeter> agent_cost_;
  Symbolizer symbolizer_;
  std::map<pid_t, std::string> announced_;  // the program each PID was last announced running
  std::unique_ptr<MetricsEndpoint> metrics_;
  std::map<uint32_t, std::string> site_names_;  // metrics' site labels, by site id
  bool live_screen_ = false;                    // the --live view owns the terminal
  std::map<uint32_t, SiteStats> live_last_sites_;
  AgentCpuMark live_last_agent_;
  uint64_t live_last_hits_ = 0;
  double live_last_targets_cpu_ = 0;

  // The loop's clocks and state.
  uint64_t end_ns_ = 0, interval_ns_ = 0, next_interval_ = 0, last_interval_ = 0;
  uint64_t memory_ns_ = 0, next_memory_ = 0;
  uint64_t next_metrics_ = 0;
  ExactCounts last_counts_{};
  int child_status_ = 0;
  bool child_gone_ = false;
  uint32_t sites_seen_ = 0;  // site ids below this have had their process's maps read
  std::string why_;          // why tracing ended; empty while it runs
};

}  // namespace memscope
