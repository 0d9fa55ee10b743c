// The control loop's port (sampling/control_port.h) wired to the loaded
// probes and the process tracker: readings from the kernel's maps, new
// rates published to the probes, windows attached and taken down.
#pragma once
#include "attach/bpf_object.h"
#include "follow/process_tracker.h"
#include "report/text_summary.h"
#include "sampling/control_port.h"

namespace memscope {

class KernelControl : public ControlPort {
 public:
  KernelControl(BpfObject& probes, const ProcessTracker& tracker) : probes_(probes), tracker_(tracker) {}

  ExactCounts totals() const override { return probes_.maps().exact_counts(); }
  std::map<pid_t, ProcessCounts> per_process() const override {
    return with_retired(probes_.maps().process_counts(tracker_.slots()), tracker_.retired());
  }
  std::vector<pid_t> live_pids() const override { return tracker_.live_pids(); }

  void publish(const ms_config& config) override { probes_.publish(config); }
  void rates_changed(double elapsed_s, const TierConfig& from, const TierConfig& to, const std::string& why) override {
    print_rate_change(stderr, elapsed_s, from, to, why);
  }

  void split_windowed(bool releases) override { probes_.split_windowed(releases); }
  std::vector<std::string> attach_window(ProbeWindow kind, const std::set<pid_t>& live) override {
    return probes_.attach_window(kind, live);
  }
  void count_window(ProbeWindow kind, bool on) override { probes_.count_window(kind, on); }
  void detach_window(ProbeWindow kind) override { probes_.detach_window(kind); }
  bool window_closing() const override { return probes_.window_closing(); }

 private:
  BpfObject& probes_;
  const ProcessTracker& tracker_;
};

}  // namespace memscope
