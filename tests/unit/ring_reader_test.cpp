#include <catch2/catch.hpp>
#include <linux/bpf.h>

#include <cstring>
#include <vector>

#include "aggregate/ring_reader.h"

using namespace memscope;

namespace {
// A ring laid out as the kernel lays it out, written as the kernel writes
// it: data mapped twice in a row is emulated by mirroring every write.
struct FakeRing {
  static constexpr uint64_t kSize = 4096;
  uint64_t consumer = 0, producer = 0;
  std::vector<uint8_t> data = std::vector<uint8_t>(2 * kSize);

  RingLayout layout() { return {&consumer, &producer, data.data(), kSize}; }
  void put(uint64_t pos, const void* src, size_t n) {
    for (size_t i = 0; i < n; ++i) {
      const uint64_t at = (pos + i) & (kSize - 1);
      data[at] = data[at + kSize] = static_cast<const uint8_t*>(src)[i];
    }
  }
  // Appends a record of `len` bytes with header flags; returns its position.
  uint64_t push(const void* rec, uint32_t len, uint32_t flags = 0) {
    const uint64_t at = producer;
    const uint32_t hdr[2] = {len | flags, 0};
    put(at, hdr, sizeof hdr);
    put(at + 8, rec, len);
    producer += (len + 8 + 7) & ~7ull;
    return at;
  }
  void set_flags(uint64_t at, uint32_t len, uint32_t flags) {
    const uint32_t v = len | flags;
    put(at, &v, sizeof v);
  }
};

ms_record rec(uint64_t ptr) {
  ms_record r{};
  r.ptr = ptr;
  r.size_lo = 16;
  return r;
}
}  // namespace

TEST_CASE("the ring reader copies committed records, skips discarded ones and releases the space") {
  FakeRing ring;
  RingReader reader(ring.layout());
  for (uint64_t p = 1; p <= 3; ++p) {
    ms_record r = rec(p);
    ring.push(&r, sizeof r, p == 2 ? BPF_RINGBUF_DISCARD_BIT : 0);
  }
  ms_record out[8];
  REQUIRE(reader.read(out, 8) == 2);
  CHECK(out[0].ptr == 1);
  CHECK(out[1].ptr == 3);
  CHECK(ring.consumer == ring.producer);
  CHECK(reader.pending_bytes() == 0);
}

TEST_CASE("the ring reader stops at a record still being written and resumes there") {
  FakeRing ring;
  RingReader reader(ring.layout());
  ms_record a = rec(1), b = rec(2), c = rec(3);
  ring.push(&a, sizeof a);
  const uint64_t busy = ring.push(&b, sizeof b, BPF_RINGBUF_BUSY_BIT);
  ring.push(&c, sizeof c);
  ms_record out[8];
  REQUIRE(reader.read(out, 8) == 1);
  CHECK(ring.consumer == busy);
  ring.set_flags(busy, sizeof b, 0);  // committed
  REQUIRE(reader.read(out, 8) == 2);
  CHECK(out[0].ptr == 2);
  CHECK(out[1].ptr == 3);
}

TEST_CASE("the ring reader reads records that wrap the end of the ring, in batches of at most max") {
  FakeRing ring;
  RingReader reader(ring.layout());
  ms_record out[16];
  uint64_t next = 1, expect = 1;
  // 40-byte records in a 4096-byte ring: positions wrap many times and
  // records straddle the end.
  for (int round = 0; round < 500; ++round) {
    for (int k = 0; k < 7; ++k) {
      ms_record r = rec(next++);
      ring.push(&r, sizeof r);
    }
    ms_record odd[2] = {rec(next++), rec(0)};
    ring.push(odd, sizeof odd);  // longer than a record: cut to one
    size_t n;
    while ((n = reader.read(out, 5)) > 0) {
      CHECK(n <= 5);
      for (size_t i = 0; i < n; ++i) CHECK(out[i].ptr == expect++);
    }
  }
  CHECK(expect == next);
  CHECK(ring.producer > 40 * FakeRing::kSize);  // wrapped dozens of times
}
