// Sampled blocks still allocated, keyed by (process, pointer): one 32-byte
// slot (and a control byte) per block in an OpenTable, so that millions of
// live blocks cost tens of megabytes (README, "Agent pipeline and its cost").
#pragma once
#include <cstdint>
#include <cstring>
#include <utility>

#include "aggregate/open_table.h"

namespace memscope {

struct LiveKey {
  uint32_t tgid;
  uint64_t ptr;
  bool operator==(const LiveKey&) const = default;
};

// A live block as readers see it (the slot stores it packed).
struct LiveBlock {
  uint32_t site = 0;
  uint64_t size = 0;
  double weight = 0;
  uint64_t time_ns = 0;
};

// splitmix64's finalizer over the pointer mixed with the process: pointers
// are 16-byte aligned and clustered, and the table indexes by the top bits,
// so every input bit must reach them. decode() computes the same function
// with SIMD for a whole batch (tests check they agree).
constexpr uint64_t kLiveHashTgid = 0x9E3779B97F4A7C15ull;
constexpr uint64_t kLiveHashMul1 = 0xBF58476D1CE4E5B9ull;
constexpr uint64_t kLiveHashMul2 = 0x94D049BB133111EBull;
inline uint64_t live_key_hash(uint32_t tgid, uint64_t ptr) {
  uint64_t x = ptr ^ (static_cast<uint64_t>(tgid) * kLiveHashTgid);
  x ^= x >> 30;
  x *= kLiveHashMul1;
  x ^= x >> 27;
  x *= kLiveHashMul2;
  x ^= x >> 31;
  return x;
}

// 32 bytes. Sizes fit 48 bits (the record's field); times are kept at the
// record's own resolution (ns >> 10) in 48 bits, good for 9 years of
// uptime; the weight is a float, and the aggregator adds the same rounded
// value to the site sums that it later takes off at the free, so the
// rounding (< 1e-7 relative, far below any sampling error) never leaves
// phantom live bytes.
struct LiveSlot {
  uint64_t ptr;
  uint32_t tgid;
  uint32_t site;
  uint64_t size_and_time_hi;  // size in bits 0..47, time units 32..47 in bits 48..63
  uint32_t time_lo;           // time units 0..31
  float weight;

  static constexpr uint64_t kSizeMask = (1ull << 48) - 1;

  LiveBlock block() const {
    const uint64_t units = (size_and_time_hi >> 48) << 32 | time_lo;
    return {site, size_and_time_hi & kSizeMask, weight, units << 10};
  }
  void set(uint32_t site_id, uint64_t size, float w, uint64_t time_ns) {
    const uint64_t units = time_ns >> 10;
    site = site_id;
    size_and_time_hi = (size & kSizeMask) | ((units >> 32) & 0xffff) << 48;
    time_lo = static_cast<uint32_t>(units);
    weight = w;
  }
};
static_assert(sizeof(LiveSlot) == 32, "two live blocks per cache line");

struct LivePolicy {
  using Key = LiveKey;
  using Slot = LiveSlot;
  static uint64_t hash(const Key& k) { return live_key_hash(k.tgid, k.ptr); }
  static uint64_t slot_hash(const Slot& s) { return live_key_hash(s.tgid, s.ptr); }
  static bool holds(const Slot& s, const Key& k) { return s.ptr == k.ptr && s.tgid == k.tgid; }
  static void init(Slot& s, const Key& k) {
    s.ptr = k.ptr;
    s.tgid = k.tgid;
  }
};

using LiveTable = OpenTable<LivePolicy>;

// Iterates a LiveTable as (key, block) pairs, as std::unordered_map did.
class LiveView {
 public:
  explicit LiveView(const LiveTable& t) : table_(t) {}
  class iterator {
   public:
    explicit iterator(LiveTable::const_iterator it) : it_(it) {}
    std::pair<LiveKey, LiveBlock> operator*() const { return {LiveKey{it_->tgid, it_->ptr}, it_->block()}; }
    iterator& operator++() {
      ++it_;
      return *this;
    }
    bool operator!=(const iterator& o) const { return it_ != o.it_; }
    bool operator==(const iterator& o) const { return it_ == o.it_; }

   private:
    LiveTable::const_iterator it_;
  };
  iterator begin() const { return iterator(table_.begin()); }
  iterator end() const { return iterator(table_.end()); }
  size_t size() const { return table_.size(); }
  bool empty() const { return table_.empty(); }
  size_t memory_bytes() const { return table_.memory_bytes(); }

 private:
  const LiveTable& table_;
};

}  // namespace memscope
