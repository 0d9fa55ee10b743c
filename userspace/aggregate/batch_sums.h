// Whole-batch statistics of the records, in integers: counts and requested
// bytes per (tier, config slot) group, records per entry point, allocations
// per log2 size class. Integer sums do not depend on the order of
// addition, so the SIMD kernel and the scalar reference give identical
// results; the aggregator applies the floating-point weights once per group
// afterwards (weighted_totals).
#pragma once
#include <array>
#include <cstdint>

#include "aggregate/record_batch.h"

namespace memscope {

constexpr unsigned kGroups = 256;  // tier << 6 | config slot, as the record packs them

struct BatchSums {
  uint64_t records = 0, allocations = 0, frees = 0;
  std::array<uint64_t, kGroups> group_count{}, group_bytes{};  // allocation records
  std::array<uint64_t, 64> api_allocs{}, api_frees{};          // records by entry point
  std::array<uint64_t, 64> class_count{};                      // allocation records by size class

  BatchSums& operator+=(const BatchSums& o);
  bool operator==(const BatchSums&) const = default;
};

inline unsigned group_of(unsigned tier, unsigned slot) { return (tier & 3) << 6 | (slot & MS_EPOCH_MASK); }

// SIMD through Highway's runtime dispatch; sum_batch_scalar is the plain
// reference (branch-free, the fair baseline for benchmarks).
void sum_batch(const RecordBatch& b, BatchSums& out);
void sum_batch_scalar(const RecordBatch& b, BatchSums& out);

}  // namespace memscope
