// Reads committed records straight out of a BPF ring buffer's memory and
// hands the space back to the kernel once per batch.
//
// libbpf's ring_buffer__consume calls a function per record and publishes
// the consumer position after every record: a write to the cache line the
// producing CPUs read on every reserve. Reading the layout directly lets a
// batch be copied out in one loop and released with one store.
#pragma once
#include <cstddef>
#include <cstdint>

#include "memscope/record.h"

namespace memscope {

// The kernel's ring-buffer layout (kernel/bpf/ringbuf.c): a consumer page
// the reader writes, a producer page, then the data pages mapped twice in a
// row so that a record wrapping the end reads contiguously. Each record is
// an 8-byte header (length, busy and discard bits) and its data, rounded
// up to 8 bytes.
struct RingLayout {
  uint64_t* consumer_pos = nullptr;
  const uint64_t* producer_pos = nullptr;
  const uint8_t* data = nullptr;
  uint64_t size = 0;  // data bytes, a power of two
};

class RingReader {
 public:
  explicit RingReader(int ringbuf_map_fd);                          // maps the BPF map
  explicit RingReader(const RingLayout& layout) : ring_(layout) {}  // memory laid out by the caller
  ~RingReader();
  RingReader(const RingReader&) = delete;
  RingReader& operator=(const RingReader&) = delete;

  // Copies up to `max` committed records to `out`, stopping at the first
  // record still being written, and releases their space. Records shorter
  // than ms_record are skipped; longer ones are cut to it.
  size_t read(ms_record* out, size_t max);

  // Bytes written by the producers and not yet consumed.
  uint64_t pending_bytes() const;
  uint64_t size_bytes() const { return ring_.size; }

 private:
  RingLayout ring_;
  void* consumer_map_ = nullptr;
  void* producer_map_ = nullptr;
  size_t producer_map_len_ = 0, page_ = 0;
};

}  // namespace memscope
