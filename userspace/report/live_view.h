// The --live view: a top-like screen on a terminal, redrawn each interval,
// with the sites allocating fastest and those holding the most, the totals,
// the current rates, drops and what tracing costs. Plain data in, text out;
// the run loop decides when to draw and whether stderr is a terminal.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace memscope {

struct LiveSite {
  std::string name;  // innermost function (module)
  uint32_t pid = 0;
  double bytes_per_s = 0;  // estimated, over the last interval
  double calls_per_s = 0;  // estimated, over the last interval
  double live_bytes = 0;   // estimated, now
};

struct LiveFrame {
  double elapsed_s = 0, interval_s = 0;
  size_t processes = 0;
  double calls_per_s = 0, bytes_per_s = 0, frees_per_s = 0;  // exact, over the last interval
  uint64_t calls = 0, bytes = 0;                             // exact, since attach
  double live_bytes = 0;                                     // estimated
  uint64_t records = 0, dropped = 0, dropped_last = 0;       // ring buffer: since attach, and last interval
  std::array<double, 3> rates{};                             // sampling probability: small, medium, large
  double agent_cpu_pct = 0;                                  // of one CPU, last interval
  double probe_added_pct = -1;                               // of the targets' CPU, estimated; < 0: unknown
  std::vector<LiveSite> by_rate;                             // most bytes per second first
  std::vector<LiveSite> by_live;                             // most live bytes first
};

// The screen for a terminal of `rows` x `cols`: home, each line cleared to
// its end, the rest of the screen cleared. Only ANSI sequences every
// terminal, tmux and screen know (CSI H, CSI K, CSI J), no colours needed.
std::string render_live(const LiveFrame& f, int rows, int cols);

// The alternate screen, as top and less use it: the view leaves the
// terminal's scrollback as it was, and the final report prints after it.
inline const char* kEnterLiveScreen = "\x1b[?1049h\x1b[?25l";
inline const char* kLeaveLiveScreen = "\x1b[?25h\x1b[?1049l";

}  // namespace memscope
