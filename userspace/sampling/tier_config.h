// Size-tiered sampling settings, as the user gives them and as the kernel
// reads them (thresholds out of 2^32 in a ms_config slot).
#pragma once
#include <array>
#include <cstdint>

#include "memscope/record.h"

namespace memscope {

struct TierConfig {
  uint64_t medium_min = 1024;                       // 1 KiB .. 8 KiB is medium
  uint64_t large_min = 8193;                        // above 8 KiB is large
  std::array<double, 3> rate = {0.005, 0.05, 0.1};  // small, medium, large
  uint32_t guarantee = 1000;                        // at least one sampled call in every N (0: off)
  uint64_t always_min = 1 << 20;                    // sizes from here up are always sampled (0: off)
  // --sampling=bytes: Poisson sampling on bytes, mean interval in bytes.
  bool by_bytes = false;
  uint64_t byte_interval = 64 * 1024;

  static TierConfig sample_all();
};

// Throws Error for rates outside [0, 1] or thresholds out of order.
void validate(const TierConfig& c);

uint64_t rate_to_threshold(double rate);
// Bytes mode: probability that a block of `size` bytes is sampled.
double bytes_inclusion_probability(uint64_t size, uint64_t interval);
double threshold_to_rate(uint64_t threshold);

ms_config to_kernel(const TierConfig& c, uint32_t slot);

}  // namespace memscope
