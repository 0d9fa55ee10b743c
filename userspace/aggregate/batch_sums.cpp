#include "aggregate/batch_sums.h"

namespace memscope {

BatchSums& BatchSums::operator+=(const BatchSums& o) {
  records += o.records;
  allocations += o.allocations;
  frees += o.frees;
  for (unsigned g = 0; g < kGroups; ++g) {
    group_count[g] += o.group_count[g];
    group_bytes[g] += o.group_bytes[g];
  }
  for (unsigned k = 0; k < 64; ++k) {
    api_allocs[k] += o.api_allocs[k];
    api_frees[k] += o.api_frees[k];
    class_count[k] += o.class_count[k];
  }
  return *this;
}

void sum_batch_scalar(const RecordBatch& b, BatchSums& out) {
  out = BatchSums{};
  const size_t n = b.count();
  // Frees land in extra rows that are dropped at the end, so that the loop
  // has no data-dependent branch (half the records are frees when every
  // call is traced, and a mispredicted branch would dominate).
  std::array<uint64_t, 128> api{};
  std::array<uint64_t, 65> cls{};
  std::array<uint64_t, kGroups + 1> count{}, bytes{};
  for (size_t i = 0; i < n; ++i) {
    const unsigned is_free = b.kind[i] == MS_KIND_FREE;
    const unsigned g = is_free ? kGroups : group_of(b.tier[i], b.epoch[i]);
    api[is_free << 6 | (b.api[i] & 63)] += 1;
    cls[is_free ? 64 : (b.size_class[i] & 63)] += 1;
    count[g] += 1;
    bytes[g] += b.size[i];
  }
  out.records = n;
  out.frees = count[kGroups];
  out.allocations = n - out.frees;
  for (unsigned g = 0; g < kGroups; ++g) {
    out.group_count[g] = count[g];
    out.group_bytes[g] = bytes[g];
  }
  for (unsigned k = 0; k < 64; ++k) {
    out.api_allocs[k] = api[k];
    out.api_frees[k] = api[64 + k];
    out.class_count[k] = cls[k];
  }
}

}  // namespace memscope
