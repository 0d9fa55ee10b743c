#include "sampling/release_schedule.h"

#include <algorithm>

namespace memscope {

void ReleaseSchedule::plan(uint64_t now_ns, double window_s, double period_s) {
  window_s_ = window_s;
  period_s_ = std::max(period_s, window_s);
  pieces_.clear();
  next_period_ns_ = now_ns;
  if (window_s_ < period_s_) draw_period();
}

void ReleaseSchedule::draw_period() {
  const uint64_t start = next_period_ns_, period = static_cast<uint64_t>(period_s_ * 1e9);
  const uint64_t window = static_cast<uint64_t>(window_s_ * 1e9);
  next_period_ns_ = start + period;
  const uint64_t phase = std::uniform_int_distribution<uint64_t>(0, period - 1)(rng_);
  auto add = [&](uint64_t open, uint64_t close) {
    if (close <= open) return;
    // A window running into the next: one window, not two.
    if (!pieces_.empty() && pieces_.back().second >= open) pieces_.back().second = std::max(close, pieces_.back().second);
    else pieces_.emplace_back(open, close);
  };
  if (phase + window <= period) {
    add(start + phase, start + phase + window);
  } else {
    add(start, start + phase + window - period);  // wrapped to the period's start
    add(start + phase, start + period);
  }
}

uint64_t ReleaseSchedule::next_change_ns() const {
  if (window_s_ >= period_s_) return open_ ? 0 : next_period_ns_;  // back to attached throughout
  if (pieces_.empty()) return next_period_ns_;
  const auto& [open, close] = pieces_.front();
  // Open since before this window began (attached throughout until now, or
  // re-planned): closed at once, so that only the drawn windows count.
  if (open_ && open > opened_ns_) return opened_ns_ + 1;
  return open_ ? std::max(close, opened_ns_ + 1) : open;
}

void ReleaseSchedule::opened(uint64_t now_ns, const WorkClocks& clocks) {
  open_ = true;
  opened_ns_ = now_ns;
  at_open_ = clocks;
  // The window being opened is the first one not over yet.
  while (!pieces_.empty() && pieces_.front().second <= now_ns) pieces_.pop_front();
  while (window_s_ < period_s_ && pieces_.size() < 2) draw_period();
}

namespace {

uint64_t moved(uint64_t later, uint64_t earlier) { return later >= earlier ? later - earlier : 0; }

// What each process's clocks moved since the window opened, added to the
// window sums: user CPU, hits, ticks. A process not read at the open, or
// gone since, adds nothing.
void add_since(const WorkClocks& at_open, const WorkClocks& now, std::map<pid_t, double>& user_cpu_s,
               std::map<pid_t, uint64_t>& hits, std::map<pid_t, uint64_t>& ticks) {
  for (const auto& [pid, c] : now) {
    auto o = at_open.find(pid);
    if (o == at_open.end() || o->second.user_cpu_s < 0 || c.user_cpu_s < o->second.user_cpu_s) continue;
    user_cpu_s[pid] += c.user_cpu_s - o->second.user_cpu_s;
    hits[pid] += moved(c.hits, o->second.hits);
    ticks[pid] += moved(c.user_ticks, o->second.user_ticks);
  }
}

}  // namespace

void ReleaseSchedule::closed(uint64_t now_ns, const WorkClocks& clocks) {
  add_since(at_open_, clocks, in_windows_, hits_in_windows_, ticks_in_windows_);
  open_ = false;
  ++windows_;
  open_s_ += (now_ns - opened_ns_) / 1e9;
  while (!pieces_.empty() && pieces_.front().first <= now_ns) pieces_.pop_front();
  while (window_s_ < period_s_ && pieces_.size() < 2) draw_period();
}

ReleaseSchedule::Summary ReleaseSchedule::finish(uint64_t now_ns, const WorkClocks& final) const {
  Summary s;
  s.windows = windows_ + (open_ ? 1 : 0);
  s.open_s = open_s_ + (open_ ? (now_ns - opened_ns_) / 1e9 : 0);
  s.user_cpu_in_windows_s = in_windows_;
  s.hits_in_windows = hits_in_windows_;
  s.user_ticks_in_windows = ticks_in_windows_;
  if (!open_) return s;
  add_since(at_open_, final, s.user_cpu_in_windows_s, s.hits_in_windows, s.user_ticks_in_windows);
  return s;
}

}  // namespace memscope
