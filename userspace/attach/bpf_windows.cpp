// The duty cycle's windows on the loaded object: which probe sets come and
// go with each kind of window, and the programs' flags that make the counted
// calls exactly those between the agent's readings (bpf/duty_window.bpf.h).
#include <bpf/libbpf.h>

#include <chrono>
#include <cstdio>
#include <system_error>

#include "attach/bpf_object.h"
#include "common/error.h"
#include "memscope.skel.h"

namespace memscope {
namespace {
// The programs' window word: number << 3 | releases windowed << 2 |
// releases closed << 1 | allocations closed.
constexpr uint32_t kReleasesWindowed = 4, kNumberShift = 3;
uint32_t closed_bit(ProbeWindow kind) { return kind == ProbeWindow::allocations ? 1u : 2u; }
}  // namespace

void BpfObject::split_windowed(bool releases) {
  split_ = true;
  split_releases_ = releases;
  if (releases) __atomic_or_fetch(&skel_->bss->window_state, kReleasesWindowed, __ATOMIC_ACQ_REL);
  // The coverage clock's ticks (sampling/coverage_clock.h); without them the
  // coverage falls back to the kernel's user CPU time.
  if (const std::string why = start_user_clock(MS_USER_CLOCK_PERIOD_NS); !why.empty())
    fprintf(stderr, "memscope-bpf: warning: no sampled user-mode clock (%s): window coverage from user CPU time\n",
            why.c_str());
}

std::string BpfObject::start_user_clock(uint64_t period_ns) {
  return user_clock_.start(skel_->progs.ms_user_clock, period_ns);
}

std::vector<std::string> BpfObject::attach_window(ProbeWindow kind, const std::set<pid_t>& live) {
  // realloc's probes first: they must be in before either flag opens.
  std::vector<std::string> warnings = attach_window_set(kRealloc, live);
  for (auto& w : attach_window_set(static_cast<size_t>(kind), live)) warnings.push_back(std::move(w));
  return warnings;
}

std::vector<std::string> BpfObject::attach_window_set(size_t k, const std::set<pid_t>& live) {
  std::vector<std::string> warnings;
  if (window_attached_[k]) return warnings;
  finish_detaching();
  // Only processes still traced: one gone (or a zombie, which classic
  // probes refuse) is dropped, and a PID reused by another process is
  // never probed in its place. One that fails is left out of this window
  // with a warning; the others are attached.
  std::vector<std::pair<pid_t, AllocatorTarget>> kept;
  for (auto& [pid, alloc] : windowed_[k]) {
    if (pid > 0 && !live.count(pid)) continue;
    LinkSet set;
    try {
      attach_set(pid, alloc, set);
    } catch (const Error& e) {
      release(set);
      warnings.push_back(e.what());
      kept.emplace_back(pid, std::move(alloc));
      continue;
    }
    move_links(set, window_links_[k]);
    kept.emplace_back(pid, std::move(alloc));
  }
  windowed_[k] = std::move(kept);
  window_attached_[k] = true;
  return warnings;
}

void BpfObject::count_window(ProbeWindow kind, bool on) {
  const uint32_t bit = closed_bit(kind);
  const uint32_t state = __atomic_load_n(&skel_->bss->window_state, __ATOMIC_ACQUIRE);
  if (on == !(state & bit)) return;
  // Closing also moves to the next window number, in the same store: a
  // probe reads both together.
  const uint32_t low = (1u << kNumberShift) - 1;
  const uint32_t next =
      on ? (state & ~bit) : ((((state >> kNumberShift) + 1) << kNumberShift) | (state & low) | bit);
  __atomic_store_n(&skel_->bss->window_state, next, __ATOMIC_RELEASE);
}

void BpfObject::detach_window(ProbeWindow kind) {
  count_window(kind, false);
  const size_t k = static_cast<size_t>(kind), other = 1 - k;
  // realloc's probes stay while the other kind of window has its probes in.
  if (window_attached_[other] && split_releases_) detach_window_sets({k});
  else detach_window_sets({k, kRealloc});
}

void BpfObject::detach_window_sets(std::initializer_list<size_t> sets) {
  // Taking the probes down waits for the kernel's grace periods, one per
  // perf-event link with classic probes, serialized by the kernel
  // (docs/measurements.md#duty-cycle-switching). Done off this thread, so
  // the agent's loop never waits.
  finish_detaching();
  LinkSet going;
  for (size_t k : sets) {
    window_attached_[k] = false;
    move_links(window_links_[k], going);
  }
  if (going.links.empty() && going.fds.empty()) return;
  closing_ = true;  // before the thread starts: it may end first
  try {
    detaching_ = std::thread([this, set = std::move(going)]() mutable {
      const auto t0 = std::chrono::steady_clock::now();
      const size_t n = set.links.size() + set.fds.size();
      release_parallel(set);
      if (verbose_)
        fprintf(stderr, "memscope-bpf: window's %zu probe links taken down in %.0f ms\n", n,
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      closing_ = false;
    });
  } catch (const std::system_error&) {
    closing_ = false;
    release(going);
  }
}

void BpfObject::finish_detaching() {
  if (detaching_.joinable()) detaching_.join();
}

}  // namespace memscope
