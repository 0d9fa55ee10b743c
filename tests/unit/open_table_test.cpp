#include <catch2/catch.hpp>

#include <random>
#include <unordered_map>

#include "aggregate/id_table.h"
#include "aggregate/live_table.h"

using namespace memscope;

namespace {
struct KeyHash {
  size_t operator()(const LiveKey& k) const { return live_key_hash(k.tgid, k.ptr); }
};
}  // namespace

TEST_CASE("the live table agrees with std::unordered_map through random inserts, erases, growth and shrinking") {
  std::mt19937_64 rng(5);
  LiveTable t;
  std::unordered_map<LiveKey, uint32_t, KeyHash> ref;
  // Few distinct keys, so that inserts hit existing ones and erases find
  // what they look for; phases grow and then drain the table.
  for (int phase = 0; phase < 6; ++phase) {
    const bool grow = phase % 2 == 0;
    const uint64_t span = phase < 2 ? 64 : 20000;
    for (int step = 0; step < 60000; ++step) {
      const LiveKey k{static_cast<uint32_t>(1 + rng() % 3), 16 * (1 + rng() % span)};
      const uint64_t h = live_key_hash(k.tgid, k.ptr);
      if (rng() % 100 < (grow ? 70u : 30u)) {
        auto [slot, fresh] = t.insert(k, h);
        CHECK(fresh == (ref.count(k) == 0));
        slot->site = static_cast<uint32_t>(step);
        ref[k] = static_cast<uint32_t>(step);
      } else {
        CHECK(t.erase(k, h) == (ref.erase(k) == 1));
      }
      if (step % 5000 == 0) t.compact();
    }
    REQUIRE(t.size() == ref.size());
    for (const auto& [k, site] : ref) {
      const LiveSlot* s = t.find(k);
      REQUIRE(s);
      CHECK(s->site == site);
    }
    size_t seen = 0;
    for (const auto& s : t) {
      ++seen;
      CHECK(ref.count({s.tgid, s.ptr}) == 1);
    }
    CHECK(seen == ref.size());
  }
  for (const auto& [k, site] : std::unordered_map(ref)) t.erase(k);
  CHECK(t.size() == 0);
}

TEST_CASE("a large table gives its memory back when it empties, and keeps what is left") {
  LiveTable t;
  for (uint64_t p = 1; p <= 400000; ++p) t.insert({1, 16 * p});
  const size_t full = t.capacity();
  CHECK(full >= 400000);
  for (uint64_t p = 1; p <= 400000; ++p)
    if (p % 100) t.erase({1, 16 * p});
  t.compact();
  CHECK(t.capacity() < full);
  CHECK(t.capacity() >= LiveTable::kCompactAbove);
  CHECK(t.size() == 4000);
  for (uint64_t p = 100; p <= 400000; p += 100) CHECK(t.find({1, 16 * p}));
  CHECK_FALSE(t.find({1, 16 * 101}));
}

TEST_CASE("keys whose hashes collide in the top bits still resolve, across the wrap of the array") {
  // Tiny table, many keys: long runs that wrap from the last slot to the first.
  struct Policy {
    using Key = uint64_t;
    struct Slot {
      uint64_t key;
    };
    static uint64_t hash(Key k) { return ~0ull - (k % 2); }  // every key's home is the last slot
    static uint64_t slot_hash(const Slot& s) { return hash(s.key); }
    static bool empty(const Slot& s) { return s.key == 0; }
    static bool holds(const Slot& s, Key k) { return s.key == k; }
    static void init(Slot& s, Key k) { s.key = k; }
  };
  OpenTable<Policy> t;
  for (uint64_t k = 1; k <= 13; ++k) t.insert(k);
  CHECK(t.size() == 13);
  for (uint64_t k = 1; k <= 13; ++k) CHECK(t.find(k));
  CHECK_FALSE(t.find(14));
  for (uint64_t k = 1; k <= 13; k += 2) CHECK(t.erase(k));
  for (uint64_t k = 1; k <= 13; ++k) CHECK((t.find(k) != nullptr) == (k % 2 == 0));
}

TEST_CASE("a live slot keeps a block's fields in 32 bytes") {
  LiveSlot s{};
  const uint64_t time_ns = 0x0000'1234'5678'9abcull << 10;  // beyond 32 bits of 1024-ns units
  s.set(77, (1ull << 48) - 1, 200.0f, time_ns);
  const LiveBlock b = s.block();
  CHECK(b.site == 77);
  CHECK(b.size == (1ull << 48) - 1);
  CHECK(b.weight == 200.0);
  CHECK(b.time_ns == time_ns);
}

TEST_CASE("an id table reads like the map it replaced") {
  IdTable<double, uint32_t> t;
  t[0xffffffffu] = 1.5;  // MS_NO_SITE is a real key
  t[3] += 2;
  CHECK(t.size() == 2);
  CHECK(t.at(0xffffffffu) == 1.5);
  CHECK(t.at(3) == 2);
  CHECK_THROWS_AS(t.at(4), std::out_of_range);
  double sum = 0;
  for (const auto& [id, v] : t) sum += id == 3 ? v : 0;
  CHECK(sum == 2);
}
