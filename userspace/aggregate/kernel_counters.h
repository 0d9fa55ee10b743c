// The kernel's exact counters, summed over CPUs: calls and requested bytes
// per entry point and log2 size class, and the probes' health counters.
#pragma once
#include <array>
#include <cstdint>

#include "memscope/record.h"

namespace memscope {

struct ExactCounts {
  std::array<std::array<ms_count, MS_SIZE_CLASSES>, MS_API_COUNT> by_api_class{};
  std::array<uint64_t, MS_STAT_COUNT> stats{};

  ms_count api_total(unsigned api) const;
  uint64_t allocation_calls() const;  // every entry point but free and the deletes
  uint64_t allocation_bytes() const;
  uint64_t free_calls() const;  // free and the deletes
};

// What happened between two readings, for interval summaries.
ExactCounts operator-(const ExactCounts& a, const ExactCounts& b);

}  // namespace memscope
