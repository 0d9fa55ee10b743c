// A drained batch of ring-buffer records, decoded into one array per field
// so that aggregation walks contiguous columns (and SIMD kernels load them
// whole).
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "memscope/record.h"

namespace memscope {

// Columns are overwritten whole by decode: growing one need not zero it.
template <class T>
struct UninitializedAllocator : std::allocator<T> {
  template <class U>
  struct rebind {
    using other = UninitializedAllocator<U>;
  };
  template <class U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};
template <class T>
using Column = std::vector<T, UninitializedAllocator<T>>;

struct RecordBatch {
  Column<uint64_t> ptr, size, time_ns;
  Column<uint32_t> tgid, tid, site;
  Column<uint8_t> kind, api, tier, epoch;
  Column<uint8_t> size_class;  // floor(log2(size)), 0 for sizes 0 and 1
  Column<uint64_t> live_hash;  // live_key_hash(tgid, ptr): the live table's hash, for prefetching

  size_t count() const { return ptr.size(); }
  void clear();
  void resize(size_t n);
};

// Record times are 32-bit (ns >> 10); `now_ns` (CLOCK_MONOTONIC at drain)
// anchors them, valid for records up to ~73 minutes old.
uint64_t unwrap_time(uint32_t time, uint64_t now_ns);

// Decodes with the best SIMD instruction set this CPU has (Highway runtime
// dispatch); decode_scalar is the plain reference it must equal exactly.
void decode(std::span<const ms_record> records, uint64_t now_ns, RecordBatch& out);
void decode_scalar(std::span<const ms_record> records, uint64_t now_ns, RecordBatch& out);

// Decodes records [from, to) of `records` into rows [from, to) of `out`,
// which is already sized: the scalar tail of the SIMD decoder.
void decode_rows_scalar(const ms_record* records, size_t from, size_t to, uint64_t now_ns, RecordBatch& out);

}  // namespace memscope
