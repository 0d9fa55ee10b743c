// Progress of a long step (symbolizing thousands of sites, writing large
// reports) on a terminal: one line redrawn in place, at most every 100 ms,
// and only once the step has taken half a second, so quick steps print
// nothing; cleared at the end. Nothing at all where stderr is not a
// terminal: logs keep their plain status lines.
#pragma once
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <string>

namespace memscope {

class ProgressLine {
 public:
  using Clock = std::chrono::steady_clock;
  // `out` is drawn on when `terminal`; by default stderr, if it is one.
  ProgressLine(std::string what, size_t total);
  ProgressLine(std::string what, size_t total, FILE* out, bool terminal, Clock::duration quiet_for);
  ~ProgressLine();
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  void advance(size_t n = 1);

 private:
  void draw();

  std::string what_;
  size_t total_, done_ = 0;
  FILE* out_;
  bool terminal_, drawn_ = false;
  Clock::time_point start_, next_draw_;
};

}  // namespace memscope
