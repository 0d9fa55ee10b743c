#include "report/progress_line.h"

#include <unistd.h>

namespace memscope {

ProgressLine::ProgressLine(std::string what, size_t total)
    : ProgressLine(std::move(what), total, stderr, isatty(STDERR_FILENO) == 1, std::chrono::milliseconds(500)) {}

ProgressLine::ProgressLine(std::string what, size_t total, FILE* out, bool terminal, Clock::duration quiet_for)
    : what_(std::move(what)), total_(total), out_(out), terminal_(terminal), start_(Clock::now()) {
  next_draw_ = start_ + quiet_for;
}

ProgressLine::~ProgressLine() {
  if (!drawn_) return;
  fputs("\r\x1b[K", out_);  // the status line that follows takes its place
  fflush(out_);
}

void ProgressLine::advance(size_t n) {
  done_ += n;
  if (!terminal_) return;
  const auto now = Clock::now();
  if (now < next_draw_) return;
  next_draw_ = now + std::chrono::milliseconds(100);
  draw();
}

void ProgressLine::draw() {
  const double pct = total_ ? 100.0 * static_cast<double>(done_) / static_cast<double>(total_) : 100.0;
  fprintf(out_, "\r\x1b[Kmemscope-bpf: %s %zu/%zu (%.0f%%)", what_.c_str(), done_, total_, pct);
  fflush(out_);
  drawn_ = true;
}

}  // namespace memscope
