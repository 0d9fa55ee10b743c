// A drained batch of ring-buffer records, decoded into one array per field
// so that aggregation walks contiguous columns.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "memscope/record.h"

namespace memscope {

struct RecordBatch {
  std::vector<uint64_t> ptr, size, time_ns;
  std::vector<uint32_t> tgid, tid, site;
  std::vector<uint8_t> kind, api, tier, epoch;

  size_t count() const { return ptr.size(); }
  void clear();
};

// Record times are 32-bit (ns >> 10); `now_ns` (CLOCK_MONOTONIC at drain)
// anchors them, valid for records up to ~73 minutes old.
uint64_t unwrap_time(uint32_t time, uint64_t now_ns);

void decode(std::span<const ms_record> records, uint64_t now_ns, RecordBatch& out);

}  // namespace memscope
