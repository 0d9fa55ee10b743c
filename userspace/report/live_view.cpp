#include "report/live_view.h"

#include <algorithm>
#include <cstdio>

#include "common/terminal_safe.h"
#include "report/text_summary.h"

namespace memscope {

namespace {

std::string fmt(const char* format, double a, double b = 0, double c = 0) {
  char buf[256];
  snprintf(buf, sizeof buf, format, a, b, c);
  return buf;
}

std::string rate(double per_s) {
  if (per_s >= 1e6) return fmt("%.1fM/s", per_s / 1e6);
  if (per_s >= 1e3) return fmt("%.1fk/s", per_s / 1e3);
  return fmt("%.0f/s", per_s);
}

std::string pad(const std::string& s, size_t width, bool left = false) {
  if (s.size() >= width) return s;
  return left ? s + std::string(width - s.size(), ' ') : std::string(width - s.size(), ' ') + s;
}

class Screen {
 public:
  Screen(int rows, int cols) : rows_(std::max(rows, 3)), cols_(std::max(cols, 20)) { out_ = "\x1b[H"; }
  bool full() const { return used_ >= rows_ - 1; }
  void line(std::string text) {
    if (full()) return;
    if (static_cast<int>(text.size()) > cols_) text.resize(static_cast<size_t>(cols_));
    out_ += text + "\x1b[K\r\n";
    ++used_;
  }
  std::string done() { return out_ + "\x1b[J"; }

 private:
  int rows_, cols_, used_ = 0;
  std::string out_;
};

void site_table(Screen& s, const char* title, const std::vector<LiveSite>& sites, bool by_rate, size_t room) {
  s.line("");
  s.line(title);
  s.line(by_rate ? "     BYTES/S      CALLS/S   PID     SITE" : "  LIVE BYTES   PID     SITE");
  for (size_t i = 0; i < sites.size() && i < room; ++i) {
    const LiveSite& x = sites[i];
    const std::string pid = std::to_string(x.pid);
    if (by_rate)
      s.line(pad(human_bytes(x.bytes_per_s) + "/s", 12) + " " + pad(rate(x.calls_per_s), 12) + "   " +
             pad(pid, 7, true) + " " + terminal_safe(x.name));
    else s.line(pad(human_bytes(x.live_bytes), 12) + "   " + pad(pid, 7, true) + " " + terminal_safe(x.name));
  }
}

}  // namespace

std::string render_live(const LiveFrame& f, int rows, int cols) {
  Screen s(rows, cols);
  s.line(fmt("memscope-bpf --live   %.0f s traced, %.0f process(es)", f.elapsed_s, double(f.processes)) +
         "   (Ctrl-C: stop and write the report)");
  s.line("allocs " + rate(f.calls_per_s) + "  " + human_bytes(f.bytes_per_s) + "/s  frees " + rate(f.frees_per_s) +
         "   total " + std::to_string(f.calls) + " calls, " + human_bytes(static_cast<double>(f.bytes)) +
         "   live (est.) " + human_bytes(f.live_bytes));
  s.line("records " + std::to_string(f.records) + "  dropped " + std::to_string(f.dropped) +
         (f.dropped_last ? " (" + std::to_string(f.dropped_last) + " in the last interval: estimates low)" : "") +
         fmt("   rates small %g medium %g large %g", f.rates[0], f.rates[1], f.rates[2]));
  s.line(fmt("agent %.1f%% of a CPU", f.agent_cpu_pct) +
         (f.probe_added_pct >= 0 ? fmt("   probes add %.1f%% to the targets' CPU (est.)", f.probe_added_pct)
                                 : std::string("   probe cost not measured")));
  // Two tables share what rows are left.
  const size_t room = static_cast<size_t>(std::max(1, (rows - 4 - 6) / 2));
  site_table(s, "Top sites by allocation rate (estimated)", f.by_rate, true, room);
  site_table(s, "Top sites by live bytes (estimated)", f.by_live, false, room);
  return s.done();
}

}  // namespace memscope
