// An open-addressing hash table for the aggregator's per-site, per-thread
// and live-block state, in the manner of Abseil's "Swiss" tables: a flat
// array of slots and one control byte per slot (empty, deleted, or 7 bits
// of the key's hash), probed a group of 8 control bytes at a time with
// 64-bit word arithmetic (portable, no instruction-set dispatch per lookup).
//
// Why this shape: the live table sees an insert for every sampled
// allocation and an erase for every sampled free, millions of times. A
// first design (linear probing, Robin Hood order, backward-shift deletion)
// spent its time moving entries along long clusters; here an operation
// reads one control word and, almost always, one slot, so the table can run
// at 7/8 load (low memory per entry) and stay fast
// (docs/measurements.md#microbenchmarks). Deletion leaves a tombstone only in a group that has
// no empty slot, and tombstones are dropped at the next rehash.
//
// The caller passes each key's hash: the aggregator computes the hashes of
// a whole batch at once (SIMD, in decode) and prefetches slots ahead of
// use. Policy supplies:
//   using Key; using Slot;                 Slot trivially copyable
//   static uint64_t hash(const Key&);
//   static uint64_t slot_hash(const Slot&);  the hash of the key it holds
//   static bool holds(const Slot&, const Key&);
//   static void init(Slot&, const Key&);     a new slot takes the key
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <type_traits>
#include <utility>

namespace memscope {

template <class Policy>
class OpenTable {
 public:
  using Key = typename Policy::Key;
  using Slot = typename Policy::Slot;
  static_assert(std::is_trivially_copyable_v<Slot>, "slots are moved with memcpy");

  static constexpr size_t kGroup = 8;         // control bytes per probe
  static constexpr size_t kMinCapacity = 16;  // slots
  // Grow (or drop tombstones) above 7/8 full; compact() shrinks tables
  // of more than kCompactAbove slots that fell below 3/16.
  static constexpr size_t kMaxLoadNum = 7, kMaxLoadDen = 8;
  static constexpr size_t kMinLoadNum = 3, kMinLoadDen = 16;
  static constexpr size_t kCompactAbove = 1 << 16;

  OpenTable() = default;
  OpenTable(const OpenTable&) = delete;
  OpenTable& operator=(const OpenTable&) = delete;
  OpenTable(OpenTable&& o) noexcept { swap(o); }
  OpenTable& operator=(OpenTable&& o) noexcept {
    OpenTable t(std::move(o));
    swap(t);
    return *this;
  }
  ~OpenTable() { release(); }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  size_t capacity() const { return capacity_; }
  size_t memory_bytes() const { return capacity_ * (sizeof(Slot) + 1); }

  Slot* find(const Key& key, uint64_t hash) {
    return const_cast<Slot*>(static_cast<const OpenTable*>(this)->find(key, hash));
  }
  const Slot* find(const Key& key, uint64_t hash) const {
    if (!size_) return nullptr;
    const uint64_t h2 = fingerprint(hash);
    size_t g = first_group(hash);
    for (size_t step = 1;; ++step) {
      const uint64_t ctrl = load_group(g);
      for (uint64_t m = match(ctrl, h2); m; m &= m - 1) {
        const Slot& s = slots_[g * kGroup + lane(m)];
        if (Policy::holds(s, key)) return &s;
      }
      if (match_empty(ctrl)) return nullptr;  // the key would have been placed here
      g = (g + step) & group_mask_;           // triangular steps visit every group
    }
  }
  Slot* find(const Key& key) { return find(key, Policy::hash(key)); }
  const Slot* find(const Key& key) const { return find(key, Policy::hash(key)); }

  // The key's slot and whether it was just created (Policy::init'ed). The
  // pointer stays valid until the next insert, erase or compact.
  std::pair<Slot*, bool> insert(const Key& key, uint64_t hash) {
    if (Slot* s = find(key, hash)) return {s, false};
    if (growth_left_ == 0) {
      // The room is used up by entries and tombstones: when tombstones
      // hold half of it, dropping them is enough; otherwise grow.
      const bool mostly_tombstones = capacity_ && size_ * 2 * kMaxLoadDen <= capacity_ * kMaxLoadNum;
      rehash(mostly_tombstones ? capacity_ : capacity_ ? capacity_ * 2 : kMinCapacity);
    }
    const size_t i = free_slot(hash);
    if (ctrl_[i] == kEmpty) --growth_left_;  // a tombstone reused costs no room
    ctrl_[i] = static_cast<uint8_t>(fingerprint(hash));
    Policy::init(slots_[i], key);
    ++size_;
    return {&slots_[i], true};
  }
  std::pair<Slot*, bool> insert(const Key& key) { return insert(key, Policy::hash(key)); }

  bool erase(const Key& key, uint64_t hash) {
    Slot* s = find(key, hash);
    if (!s) return false;
    erase(s);
    return true;
  }
  bool erase(const Key& key) { return erase(key, Policy::hash(key)); }

  // Removes a slot returned by find or insert. A group that still has an
  // empty slot never sent a probe on to the next group, so the slot can go
  // back to empty; in a full group it must stay a tombstone.
  void erase(Slot* slot) {
    const size_t i = static_cast<size_t>(slot - slots_);
    if (match_empty(load_group(i / kGroup))) {
      ctrl_[i] = kEmpty;
      ++growth_left_;
    } else {
      ctrl_[i] = kDeleted;
    }
    --size_;
  }

  void prefetch(uint64_t hash) const {
    if (!capacity_) return;
    const size_t g = first_group(hash);
    __builtin_prefetch(ctrl_ + g * kGroup);
    __builtin_prefetch(slots_ + g * kGroup);
  }

  void reserve(size_t entries) {
    size_t cap = kMinCapacity;
    while (entries * kMaxLoadDen > cap * kMaxLoadNum) cap *= 2;
    if (cap > capacity_) rehash(cap);
  }

  // Gives memory back after a large table emptied out; small tables are
  // left alone (their memory does not matter, and a batch that fills and
  // drains one would otherwise rehash it every time).
  void compact() {
    if (capacity_ <= kCompactAbove) return;
    size_t cap = capacity_;
    while (cap > kCompactAbove && size_ * kMinLoadDen < cap * kMinLoadNum) cap /= 2;
    if (cap != capacity_) rehash(cap);
  }

  void clear() {
    release();
    slots_ = nullptr;
    ctrl_ = nullptr;
    capacity_ = size_ = growth_left_ = group_mask_ = 0;
    shift_ = 64;
  }

  // Visits every occupied slot, in table order.
  template <class F>
  void for_each(F&& f) const {
    for (size_t i = 0; i < capacity_; ++i)
      if (is_full(ctrl_[i])) f(slots_[i]);
  }

  class const_iterator {
   public:
    const_iterator(const OpenTable* t, size_t i) : t_(t), i_(i) { skip(); }
    const Slot& operator*() const { return t_->slots_[i_]; }
    const Slot* operator->() const { return &t_->slots_[i_]; }
    const_iterator& operator++() {
      ++i_;
      skip();
      return *this;
    }
    bool operator==(const const_iterator& o) const { return i_ == o.i_; }
    bool operator!=(const const_iterator& o) const { return i_ != o.i_; }

   private:
    void skip() {
      while (i_ < t_->capacity_ && !is_full(t_->ctrl_[i_])) ++i_;
    }
    const OpenTable* t_;
    size_t i_;
  };
  const_iterator begin() const { return {this, 0}; }
  const_iterator end() const { return {this, capacity_}; }

 private:
  static constexpr uint8_t kEmpty = 0x80, kDeleted = 0xfe;  // full slots hold 0..0x7f
  static constexpr uint64_t kLsbs = 0x0101010101010101ull, kMsbs = 0x8080808080808080ull;

  static bool is_full(uint8_t c) { return c < 0x80; }
  static uint64_t fingerprint(uint64_t hash) { return hash & 0x7f; }
  // The top bits pick the group (the aggregator's hashes mix every input
  // bit into them); the low 7 are the fingerprint.
  size_t first_group(uint64_t hash) const { return static_cast<size_t>(hash >> shift_); }
  uint64_t load_group(size_t g) const {
    uint64_t w;
    std::memcpy(&w, ctrl_ + g * kGroup, sizeof w);
    return w;  // little-endian: byte k is slot k of the group
  }
  // One bit (the byte's top bit) per control byte equal to h2. May flag a
  // byte after a true match as well; the key comparison sorts those out.
  static uint64_t match(uint64_t ctrl, uint64_t h2) {
    const uint64_t x = ctrl ^ (kLsbs * h2);
    return (x - kLsbs) & ~x & kMsbs;
  }
  static uint64_t match_empty(uint64_t ctrl) { return ctrl & ~(ctrl << 6) & kMsbs; }  // 0x80 only
  static uint64_t match_free(uint64_t ctrl) { return ctrl & ~(ctrl << 7) & kMsbs; }   // 0x80 or 0xfe
  static size_t lane(uint64_t bits) { return static_cast<size_t>(__builtin_ctzll(bits)) / 8; }

  // The first empty or deleted slot on the key's probe path.
  size_t free_slot(uint64_t hash) const {
    size_t g = first_group(hash);
    for (size_t step = 1;; ++step) {
      if (const uint64_t m = match_free(load_group(g))) return g * kGroup + lane(m);
      g = (g + step) & group_mask_;
    }
  }

  void rehash(size_t new_capacity) {
    Slot* old_slots = slots_;
    uint8_t* old_ctrl = ctrl_;
    const size_t old_capacity = capacity_;
    slots_ = static_cast<Slot*>(std::malloc(new_capacity * sizeof(Slot)));
    ctrl_ = static_cast<uint8_t*>(std::malloc(new_capacity));
    if (!slots_ || !ctrl_) {
      std::free(slots_);
      std::free(ctrl_);
      slots_ = old_slots;
      ctrl_ = old_ctrl;
      throw std::bad_alloc();
    }
    std::memset(ctrl_, kEmpty, new_capacity);
    capacity_ = new_capacity;
    group_mask_ = new_capacity / kGroup - 1;
    shift_ = 64 - static_cast<unsigned>(__builtin_ctzll(new_capacity / kGroup));
    growth_left_ = new_capacity * kMaxLoadNum / kMaxLoadDen - size_;
    for (size_t k = 0; k < old_capacity; ++k) {
      if (!is_full(old_ctrl[k])) continue;
      const uint64_t h = Policy::slot_hash(old_slots[k]);
      const size_t i = free_slot(h);
      ctrl_[i] = static_cast<uint8_t>(fingerprint(h));
      std::memcpy(static_cast<void*>(&slots_[i]), &old_slots[k], sizeof(Slot));
    }
    std::free(old_slots);
    std::free(old_ctrl);
  }

  void release() {
    std::free(slots_);
    std::free(ctrl_);
  }

  void swap(OpenTable& o) noexcept {
    std::swap(slots_, o.slots_);
    std::swap(ctrl_, o.ctrl_);
    std::swap(capacity_, o.capacity_);
    std::swap(size_, o.size_);
    std::swap(growth_left_, o.growth_left_);
    std::swap(group_mask_, o.group_mask_);
    std::swap(shift_, o.shift_);
  }

  Slot* slots_ = nullptr;
  uint8_t* ctrl_ = nullptr;
  size_t capacity_ = 0, size_ = 0, growth_left_ = 0, group_mask_ = 0;
  unsigned shift_ = 64;
};

}  // namespace memscope
