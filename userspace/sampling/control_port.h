// What the control loop (optimizer and duty cycle) reads of the kernel and
// of the traced processes, and how its decisions reach the kernel. The
// sampling stage decides; cli/ wires this to the attach and follow stages,
// and tests give it a fake, so the decisions are tested without BPF.
#pragma once
#include <sys/types.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "aggregate/kernel_counters.h"
#include "common/probe_window.h"
#include "aggregate/process_counters.h"
#include "memscope/record.h"
#include "sampling/tier_config.h"

namespace memscope {

class ControlPort {
 public:
  virtual ~ControlPort() = default;

  // Readings.
  virtual ExactCounts totals() const = 0;
  // Every process's counters, those of processes already gone included.
  virtual std::map<pid_t, ProcessCounts> per_process() const = 0;
  virtual std::vector<pid_t> live_pids() const = 0;

  // New sampling settings: published to the probes, then told to the user.
  virtual void publish(const ms_config& config) = 0;
  virtual void rates_changed(double elapsed_s, const TierConfig& from, const TierConfig& to,
                             const std::string& why) = 0;

  // Windows of the duty cycle (see attach/bpf_object.h): the allocating
  // probes kept apart (and the release probes, with `releases`), attached
  // for a window of their kind, counted between the two count_window()
  // calls, taken down.
  virtual void split_windowed(bool releases) = 0;
  virtual std::vector<std::string> attach_window(ProbeWindow kind, const std::set<pid_t>& live) = 0;
  virtual void count_window(ProbeWindow kind, bool on) = 0;
  virtual void detach_window(ProbeWindow kind) = 0;
  virtual bool window_closing() const = 0;
};

}  // namespace memscope
