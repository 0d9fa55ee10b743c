#include "attach/probe_calibration.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>

#include "attach/calibration_figures.h"
#include "common/clock.h"
#include "common/error.h"
#include "targets/resolve.h"
#include "targets/process.h"

namespace memscope {
namespace {

constexpr int kPairs = 4000;
constexpr int kRounds = 3;

constexpr char kHere = 1;      // run the loop in the child itself
constexpr char kForked = 2;    // in a process the child forks for it
constexpr char kUserTime = 4;  // run it for its user CPU time instead of its speed

// The user CPU of the loops run for it, in units of 10 ms of their thread's
// CPU: the kernel accounts user and system time by the tick (4 ms at 250 Hz)
// and splits the exact run time in their proportion. The time a hit adds is
// ~6% of the probed loop's, some 15 ticks a second: 0.4 s gave figures
// spread by 40%, 1 s by 20%, 2 s by 10%
// (docs/measurements.md#coverage-clocks). The bare loop's is all user time.
constexpr unsigned char kBareUserCpu = 5, kProbedUserCpu = 200;

struct LoopReply {
  uint64_t fastest_ns = 0, pairs = 0, user_ns = 0, cpu_ns = 0;
};

// The sampled user-mode clock's period in the calibration: 2 s of the
// probed loop hold ~0.2 s of user time, 2000 samples at this period.
constexpr uint64_t kCalibrationTickNs = 100'000;

uint64_t fastest_loop() {
  uint64_t best = UINT64_MAX;
  for (int r = 0; r < kRounds; ++r) {
    uint64_t t0 = monotonic_ns();
    for (int i = 0; i < kPairs; ++i) {
      void* volatile p = malloc(16 + (i & 255));
      free(p);
    }
    best = std::min(best, monotonic_ns() - t0);
  }
  return best;
}

uint64_t ns_of(const timeval& t) { return t.tv_sec * 1'000'000'000ull + t.tv_usec * 1000ull; }

uint64_t thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1'000'000'000ull + ts.tv_nsec;
}

// The loop run until its thread used `cpu_ns` of CPU, with the user time
// the kernel accounted to it.
LoopReply user_time_loop(uint64_t cpu_ns) {
  rusage before{}, after{};
  getrusage(RUSAGE_THREAD, &before);
  const uint64_t t0 = thread_cpu_ns();
  LoopReply r;
  do {
    for (int i = 0; i < 256; ++i) {
      void* volatile p = malloc(16 + (i & 255));
      free(p);
    }
    r.pairs += 256;
    r.cpu_ns = thread_cpu_ns() - t0;
  } while (r.cpu_ns < cpu_ns);
  getrusage(RUSAGE_THREAD, &after);
  r.user_ns = ns_of(after.ru_utime) - ns_of(before.ru_utime);
  return r;
}

LoopReply loop(char what, unsigned char cpu_10ms) {
  if (what & kUserTime) return user_time_loop(cpu_10ms * 10'000'000ull);
  LoopReply r;
  r.fastest_ns = fastest_loop();
  return r;
}

// The child: on each command from `go` (what to run, and for how much CPU),
// runs the loop (kHere) or has a child of its own run it (kForked), and
// writes what it measured.
[[noreturn]] void calibration_child(int go, int out) {
  unsigned char cmd[2];
  while (read(go, cmd, 2) == 2) {
    const char what = static_cast<char>(cmd[0]);
    if (what & kForked) {
      pid_t grandchild = fork();
      if (grandchild == 0) {
        const LoopReply r = loop(what, cmd[1]);
        _exit(write(out, &r, sizeof r) == sizeof r ? 0 : 1);
      }
      int status = 0;
      if (grandchild < 0 || waitpid(grandchild, &status, 0) != grandchild || status != 0) break;
      continue;
    }
    const LoopReply r = loop(what, cmd[1]);
    if (write(out, &r, sizeof r) != sizeof r) break;
  }
  _exit(0);
}

// The entry points the loop calls: the other probes would change nothing
// it measures, and each probe costs an attach and, when taken down, a grace
// period (~0.1 s; the agent's own allocator has about 60 of them).
AllocatorTarget loop_sites(AllocatorTarget alloc) {
  auto called = [](const ProbeSite& s) {
    for (unsigned api : s.aliases)
      if (api == MS_API_MALLOC || api == MS_API_FREE) return true;
    return s.api == MS_API_MALLOC || s.api == MS_API_FREE;
  };
  std::vector<ProbeSite> kept;
  for (const ProbeSite& s : alloc.sites)
    if (called(s)) kept.push_back(s);
  if (!kept.empty()) alloc.sites = std::move(kept);
  return alloc;
}

ProcessCounts all_counts(const KernelMaps& maps) {
  ProcessCounts all;
  for (const auto& [pid, counts] : maps.process_counts()) all += counts;
  return all;
}

}  // namespace

ProbeCost calibrate_probe_cost(const BpfLimits& limits, ProbeMode mode, PlacementMode placement,
                               const ms_config& sample_none, const ms_config& sample_all, bool inherited,
                               bool user_time) {
  int go[2], out[2];
  if (pipe(go) || pipe(out)) throw Error("calibration: pipe failed");
  pid_t child = fork();
  if (child < 0) throw Error("calibration: fork failed");
  if (child == 0) {
    close(go[1]);
    close(out[0]);
    calibration_child(go[0], out[1]);
  }
  close(go[0]);
  close(out[1]);
  auto run = [&](char what, unsigned char cpu_10ms) {
    const unsigned char cmd[2] = {static_cast<unsigned char>(what | (inherited ? kForked : kHere)), cpu_10ms};
    LoopReply r;
    if (write(go[1], cmd, 2) != 2 || read(out[0], &r, sizeof r) != sizeof r) throw Error("calibration child failed");
    return r;
  };
  ProbeCost cost;
  try {
    TimedLoops t;
    t.pairs = kPairs;
    t.rounds = kRounds;
    t.bare_ns = static_cast<double>(run(0, 0).fastest_ns);
    const LoopReply bare_user = user_time ? run(kUserTime, kBareUserCpu) : LoopReply{};
    const AllocatorTarget alloc =
        loop_sites(resolve_allocator({child, read_process(child).exe, nullptr, "calibration"}, placement));
    BpfLimits small = limits;
    small.live_entries = 1 << 16;
    BpfObject session(small, mode, false);
    session.publish(sample_none);
    if (inherited) session.inherit_children();
    session.attach(child, alloc);
    // The loop's process only: the child's own calls are not timed.
    auto loop_counts = [&]() {
      const ProcessCounts child_counts = session.maps().process_counts()[child];
      if (!inherited) return child_counts;
      ProcessCounts all = all_counts(session.maps());
      all.entry_hits -= child_counts.entry_hits;
      all.return_hits -= child_counts.return_hits;
      all.user_ticks -= child_counts.user_ticks;
      return all;
    };
    t.probed_ns = static_cast<double>(run(0, 0).fastest_ns);
    t.probed_hits = loop_counts().hits();
    // The loop's process has its entry now (its first hit made it): the
    // clock counts it from here.
    const bool ticking = user_time && session.start_user_clock(kCalibrationTickNs).empty();
    const ProcessCounts before_user = loop_counts();
    const LoopReply probed_user = user_time ? run(kUserTime, kProbedUserCpu) : LoopReply{};
    const ProcessCounts after_user = loop_counts();
    // Its interrupts (10 kHz on every CPU) would slow the sampled loop below.
    session.stop_user_clock();
    const uint64_t user_hits = after_user.hits() - before_user.hits();
    session.publish(sample_all);
    t.sampled_ns = static_cast<double>(run(0, 0).fastest_ns);
    cost = cost_of_loops(t);
    cost.user_ns_per_hit = user_ns_per_hit({bare_user.pairs, static_cast<double>(bare_user.user_ns), 0},
                                           {probed_user.pairs, static_cast<double>(probed_user.user_ns), user_hits});
    // On the sampled clock, the bare loop's user time is its CPU time (it
    // makes no system call): exact, where 5 ms of samples would be noise.
    if (ticking)
      cost.user_tick_ns_per_hit = user_ns_per_hit(
          {bare_user.pairs, static_cast<double>(bare_user.cpu_ns), 0},
          {probed_user.pairs, static_cast<double>((after_user.user_ticks - before_user.user_ticks) * kCalibrationTickNs),
           user_hits});
  } catch (...) {
    close(go[1]);
    close(out[0]);
    kill(child, SIGKILL);
    waitpid(child, nullptr, 0);
    throw;
  }
  close(go[1]);
  close(out[0]);
  waitpid(child, nullptr, 0);
  return cost;
}

}  // namespace memscope
