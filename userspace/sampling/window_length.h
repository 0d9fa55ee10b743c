// How long each duty-cycle window is under --max-overhead.
#pragma once

namespace memscope {

// How long a window is under --max-overhead: `fixed_s` (--duty-window), or
// chosen with the share of time so that a window comes every
// `target_period_s`: a short run then holds several windows, and the
// estimates' variance between windows can be measured (with one window it
// cannot: aggregate/window_variance.h). No shorter than `min_s`, what
// attaching and detaching the probes allow (uprobe-multi links attach in
// 8-16 ms and detach in ~32 ms; classic perf links ~116 ms each, one after
// another), nor longer than `max_s`.
struct WindowLength {
  double fixed_s = 0;  // > 0: every window this long
  double min_s = 1.0, max_s = 1.0, target_period_s = 6.0;
  double for_fraction(double fraction) const;
  // The planner's least share of time: a second a minute (a fixed window
  // once a minute), cut into windows of min_s every target_period_s when
  // the length is chosen.
  double least_fraction() const { return (fixed_s > 0 ? fixed_s : max_s) / 60.0; }
};

}  // namespace memscope
