// Per-key estimates (per site, per thread) keyed by an integer id, in an
// OpenTable whose slots hold the value inline.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "aggregate/open_table.h"

namespace memscope {

// Fibonacci hashing: ids are small dense integers (site ids) or pid/tid
// pairs, and multiplying by 2^64/phi spreads both over the top bits the
// table indexes by.
inline uint64_t id_hash(uint64_t id) { return (id + 1) * 0x9E3779B97F4A7C15ull; }

template <class Value>
struct IdSlot {
  uint64_t id;
  Value value;
};

template <class Value>
struct IdPolicy {
  using Key = uint64_t;
  using Slot = IdSlot<Value>;
  static uint64_t hash(Key id) { return id_hash(id); }
  static uint64_t slot_hash(const Slot& s) { return id_hash(s.id); }
  static bool holds(const Slot& s, Key id) { return s.id == id; }
  static void init(Slot& s, Key id) {
    s.id = id;
    s.value = Value{};
  }
};

// Reads like the std::unordered_map it replaced: iteration yields
// (id, value) pairs, at() throws for an unknown id.
template <class Value, class Id = uint64_t>
class IdTable {
  static_assert(std::is_trivially_copyable_v<Value>, "values are moved with memcpy");
  using Table = OpenTable<IdPolicy<Value>>;

 public:
  Value& operator[](Id id) { return table_.insert(id, id_hash(id)).first->value; }
  const Value& at(Id id) const {
    const auto* s = table_.find(id, id_hash(id));
    if (!s) throw std::out_of_range("IdTable::at: no such id");
    return s->value;
  }
  const Value* find(Id id) const {
    const auto* s = table_.find(id, id_hash(id));
    return s ? &s->value : nullptr;
  }
  Value* find(Id id) {
    auto* s = table_.find(id, id_hash(id));
    return s ? &s->value : nullptr;
  }
  size_t count(Id id) const { return find(id) ? 1 : 0; }
  size_t size() const { return table_.size(); }
  bool empty() const { return table_.empty(); }
  size_t memory_bytes() const { return table_.memory_bytes(); }
  void reserve(size_t n) { table_.reserve(n); }

  class iterator {
   public:
    explicit iterator(typename Table::const_iterator it) : it_(it) {}
    std::pair<Id, const Value&> operator*() const { return {static_cast<Id>(it_->id), it_->value}; }
    iterator& operator++() {
      ++it_;
      return *this;
    }
    bool operator!=(const iterator& o) const { return it_ != o.it_; }
    bool operator==(const iterator& o) const { return it_ == o.it_; }

   private:
    typename Table::const_iterator it_;
  };
  iterator begin() const { return iterator(table_.begin()); }
  iterator end() const { return iterator(table_.end()); }

 private:
  Table table_;
};

}  // namespace memscope
