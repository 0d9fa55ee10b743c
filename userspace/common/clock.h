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

}  // namespace memscope
