// CLOCK_MONOTONIC in nanoseconds: the clock bpf_ktime_get_ns() reads, so
// record times and the agent's own times share one time line.
#pragma once
#include <cstdint>
#include <ctime>

namespace memscope {

inline uint64_t monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// CPU time of the whole agent process (all its threads), in seconds.
inline double process_cpu_seconds_self() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

}  // namespace memscope
