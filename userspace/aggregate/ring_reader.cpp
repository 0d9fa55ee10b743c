#include "aggregate/ring_reader.h"

#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "common/error.h"

namespace memscope {

RingReader::RingReader(int map_fd) {
  bpf_map_info info{};
  uint32_t len = sizeof info;
  if (bpf_obj_get_info_by_fd(map_fd, &info, &len))
    throw Error(std::string("cannot read the ring buffer's size: ") + strerror(errno));
  page_ = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  consumer_map_ = mmap(nullptr, page_, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0);
  if (consumer_map_ == MAP_FAILED) throw Error(std::string("cannot map the ring buffer: ") + strerror(errno));
  producer_map_len_ = page_ + 2 * static_cast<size_t>(info.max_entries);
  producer_map_ = mmap(nullptr, producer_map_len_, PROT_READ, MAP_SHARED, map_fd, static_cast<off_t>(page_));
  if (producer_map_ == MAP_FAILED) {
    munmap(consumer_map_, page_);
    throw Error(std::string("cannot map the ring buffer: ") + strerror(errno));
  }
  ring_.consumer_pos = static_cast<uint64_t*>(consumer_map_);
  ring_.producer_pos = static_cast<const uint64_t*>(producer_map_);
  ring_.data = static_cast<const uint8_t*>(producer_map_) + page_;
  ring_.size = info.max_entries;
}

RingReader::~RingReader() {
  if (producer_map_) munmap(producer_map_, producer_map_len_);
  if (consumer_map_) munmap(consumer_map_, page_);
}

uint64_t RingReader::pending_bytes() const {
  return __atomic_load_n(ring_.producer_pos, __ATOMIC_ACQUIRE) - __atomic_load_n(ring_.consumer_pos, __ATOMIC_RELAXED);
}

size_t RingReader::read(ms_record* out, size_t max) {
  // Only this reader writes the consumer position.
  uint64_t cons = __atomic_load_n(ring_.consumer_pos, __ATOMIC_RELAXED);
  const uint64_t prod = __atomic_load_n(ring_.producer_pos, __ATOMIC_ACQUIRE);
  const uint64_t mask = ring_.size - 1;
  size_t got = 0;
  while (cons < prod && got < max) {
    const uint8_t* rec = ring_.data + (cons & mask);
    // Acquire: the record's data is complete once its busy bit is seen clear.
    const uint32_t len = __atomic_load_n(reinterpret_cast<const uint32_t*>(rec), __ATOMIC_ACQUIRE);
    if (len & BPF_RINGBUF_BUSY_BIT) break;  // still being written: keep order, stop here
    const uint32_t data_len = len & ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
    if (!(len & BPF_RINGBUF_DISCARD_BIT) && data_len >= sizeof(ms_record))
      std::memcpy(&out[got++], rec + BPF_RINGBUF_HDR_SZ, sizeof(ms_record));
    cons += (data_len + BPF_RINGBUF_HDR_SZ + 7) & ~7ull;
  }
  // Release: the kernel may overwrite the space once it sees the new position.
  __atomic_store_n(ring_.consumer_pos, cons, __ATOMIC_RELEASE);
  return got;
}

}  // namespace memscope
