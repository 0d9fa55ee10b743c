// An open-addressing hash table for the aggregator's per-site and
// live-block state: one flat array of slots, linear probing with Robin Hood
// ordering and backward-shift deletion.
//
// Why this shape: the live table sees an insert for every sampled
// allocation and an erase for every sampled free, millions of times, so
// erasing must not leave tombstones (they would lengthen probes until a
// rehash); Robin Hood keeps probe lengths short at 7/8 load, which keeps
// the memory per entry low; slots are plain data that the policy packs as
// tightly as it likes (the live table's are 32 bytes, two per cache line),
// and an all-zero slot is empty so a fresh array is calloc'ed pages.
//
// The caller passes each key's hash: the aggregator computes the hashes of
// a whole batch at once (SIMD, in decode) and prefetches slots ahead of
// use. Policy supplies:
//   using Key; using Slot;                 Slot trivially copyable
//   static uint64_t hash(const Key&);
//   static uint64_t slot_hash(const Slot&);  the hash of the key it holds
//   static bool empty(const Slot&);          true for an all-zero slot
//   static bool holds(const Slot&, const Key&);
//   static void init(Slot&, const Key&);     an empty slot takes the key
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

  static constexpr size_t kMinCapacity = 16;
  // Grow above 7/8 full; shrink (in compact()) below 3/16, so that a
  // table that was once large gives its memory back without thrashing.
  static constexpr size_t kMaxLoadNum = 7, kMaxLoadDen = 8;
  static constexpr size_t kMinLoadNum = 3, kMinLoadDen = 16;
  static constexpr size_t kCompactAbove = 1 << 16;  // slots

  OpenTable() = default;
  OpenTable(const OpenTable&) = delete;
  OpenTable& operator=(const OpenTable&) = delete;
  OpenTable(OpenTable&& o) noexcept { swap(o); }
  OpenTable& operator=(OpenTable&& o) noexcept {
    OpenTable t(std::move(o));
    swap(t);
    return *this;
  }
  ~OpenTable() { std::free(slots_); }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  size_t capacity() const { return capacity_; }
  size_t memory_bytes() const { return capacity_ * sizeof(Slot); }

  Slot* find(const Key& key, uint64_t hash) {
    return const_cast<Slot*>(static_cast<const OpenTable*>(this)->find(key, hash));
  }
  const Slot* find(const Key& key, uint64_t hash) const {
    if (!size_) return nullptr;
    size_t i = home(hash);
    for (size_t dist = 0;; ++dist, i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (Policy::empty(s)) return nullptr;
      if (Policy::holds(s, key)) return &s;
      // Robin Hood keeps each cluster ordered by home slot: a resident
      // closer to its home than we are to ours means the key is absent.
      if (distance(s, i) < dist) return nullptr;
    }
  }
  Slot* find(const Key& key) { return find(key, Policy::hash(key)); }
  const Slot* find(const Key& key) const { return find(key, Policy::hash(key)); }

  // The key's slot and whether it was just created (Policy::init'ed). The
  // pointer stays valid until the next insert, erase or compact.
  std::pair<Slot*, bool> insert(const Key& key, uint64_t hash) {
    if ((size_ + 1) * kMaxLoadDen > capacity_ * kMaxLoadNum) rehash(capacity_ ? capacity_ * 2 : kMinCapacity);
    size_t i = home(hash);
    for (size_t dist = 0;; ++dist, i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (Policy::empty(s)) break;
      if (Policy::holds(s, key)) return {&s, false};
      if (distance(s, i) < dist) {
        shift_right_from(i);
        break;
      }
    }
    std::memset(static_cast<void*>(&slots_[i]), 0, sizeof(Slot));
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

  // Removes a slot returned by find or insert: the entries after it that
  // are away from home move back one, so no tombstone is left.
  void erase(Slot* slot) {
    size_t i = static_cast<size_t>(slot - slots_);
    for (size_t j = (i + 1) & mask_; !Policy::empty(slots_[j]) && distance(slots_[j], j) > 0; j = (j + 1) & mask_) {
      std::memcpy(static_cast<void*>(&slots_[i]), &slots_[j], sizeof(Slot));
      i = j;
    }
    std::memset(static_cast<void*>(&slots_[i]), 0, sizeof(Slot));
    --size_;
  }

  void prefetch(uint64_t hash) const {
    if (slots_) __builtin_prefetch(&slots_[home(hash)]);
  }

  void reserve(size_t entries) {
    size_t cap = kMinCapacity;
    while (entries * kMaxLoadDen > cap * kMaxLoadNum) cap *= 2;
    if (cap > capacity_) rehash(cap);
  }

  // Gives memory back after the table emptied out. Tables of a few
  // thousand slots are left alone: their memory does not matter, and a
  // batch that fills and drains one would otherwise rehash it every time.
  void compact() {
    if (capacity_ <= kCompactAbove) return;
    size_t cap = capacity_;
    while (cap > kCompactAbove && size_ * kMinLoadDen < cap * kMinLoadNum) cap /= 2;
    if (cap != capacity_) rehash(cap);
  }

  void clear() {
    std::free(slots_);
    slots_ = nullptr;
    capacity_ = size_ = mask_ = 0;
    shift_ = 64;
  }

  // Visits every occupied slot, in table order.
  template <class F>
  void for_each(F&& f) const {
    for (size_t i = 0; i < capacity_; ++i)
      if (!Policy::empty(slots_[i])) f(slots_[i]);
  }

  // Forward iteration over occupied slots.
  class const_iterator {
   public:
    const_iterator(const Slot* p, const Slot* end) : p_(p), end_(end) { skip(); }
    const Slot& operator*() const { return *p_; }
    const Slot* operator->() const { return p_; }
    const_iterator& operator++() {
      ++p_;
      skip();
      return *this;
    }
    bool operator==(const const_iterator& o) const { return p_ == o.p_; }
    bool operator!=(const const_iterator& o) const { return p_ != o.p_; }

   private:
    void skip() {
      while (p_ != end_ && Policy::empty(*p_)) ++p_;
    }
    const Slot* p_;
    const Slot* end_;
  };
  const_iterator begin() const { return {slots_, slots_ + capacity_}; }
  const_iterator end() const { return {slots_ + capacity_, slots_ + capacity_}; }

 private:
  size_t home(uint64_t hash) const { return static_cast<size_t>(hash >> shift_); }
  size_t distance(const Slot& s, size_t at) const { return (at - home(Policy::slot_hash(s))) & mask_; }

  // Opens slot i by moving the run that starts there one slot forward, as
  // far as the next empty slot (the table is never full).
  void shift_right_from(size_t i) {
    size_t j = i;
    while (!Policy::empty(slots_[j])) j = (j + 1) & mask_;
    while (j != i) {
      size_t prev = (j - 1) & mask_;
      std::memcpy(static_cast<void*>(&slots_[j]), &slots_[prev], sizeof(Slot));
      j = prev;
    }
  }

  void rehash(size_t new_capacity) {
    Slot* fresh = static_cast<Slot*>(std::calloc(new_capacity, sizeof(Slot)));
    if (!fresh) throw std::bad_alloc();
    Slot* old = slots_;
    const size_t old_capacity = capacity_;
    slots_ = fresh;
    capacity_ = new_capacity;
    mask_ = new_capacity - 1;
    shift_ = 64 - static_cast<unsigned>(__builtin_ctzll(new_capacity));
    size_ = 0;
    for (size_t k = 0; k < old_capacity; ++k) {
      const Slot& s = old[k];
      if (Policy::empty(s)) continue;
      // Placing in the same Robin Hood order as insert; keys are unique.
      const uint64_t h = Policy::slot_hash(s);
      size_t i = home(h);
      for (size_t dist = 0;; ++dist, i = (i + 1) & mask_) {
        if (Policy::empty(slots_[i])) break;
        if (distance(slots_[i], i) < dist) {
          shift_right_from(i);
          break;
        }
      }
      std::memcpy(static_cast<void*>(&slots_[i]), &s, sizeof(Slot));
      ++size_;
    }
    std::free(old);
  }

  void swap(OpenTable& o) noexcept {
    std::swap(slots_, o.slots_);
    std::swap(capacity_, o.capacity_);
    std::swap(size_, o.size_);
    std::swap(mask_, o.mask_);
    std::swap(shift_, o.shift_);
  }

  Slot* slots_ = nullptr;
  size_t capacity_ = 0, size_ = 0, mask_ = 0;
  unsigned shift_ = 64;
};

}  // namespace memscope
