#include "attach/unwind_maps.h"

#include <bpf/bpf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "attach/mapped_files.h"
#include "common/error.h"
#include "memscope/unwind.h"
#include "unwind/unwind_table.h"

namespace memscope {

uint64_t kernel_dev(const std::string& maps_dev) {
  unsigned major_no = 0, minor_no = 0;
  if (sscanf(maps_dev.c_str(), "%x:%x", &major_no, &minor_no) != 2) return 0;
  return (uint64_t{major_no} << 20) | minor_no;
}

UnwindMaps::UnwindMaps(int objects_fd, int rows_fd, uint32_t capacity, const bpf_program* mapped_files)
    : objects_fd_(objects_fd), mapped_files_(mapped_files), capacity_(capacity) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  mapped_bytes_ = (size_t{capacity} * sizeof(ms_unwind_row) + page - 1) / page * page;
  rows_ = mmap(nullptr, mapped_bytes_, PROT_READ | PROT_WRITE, MAP_SHARED, rows_fd, 0);
  if (rows_ == MAP_FAILED) {
    rows_ = nullptr;
    throw Error(std::string("cannot map the unwind rows: ") + strerror(errno));
  }
}

UnwindMaps::~UnwindMaps() {
  if (rows_) munmap(rows_, mapped_bytes_);
}

size_t UnwindMaps::load(pid_t pid) {
  try {
    return load(pid, read_maps(pid));
  } catch (const Error&) {
    return 0;  // gone
  }
}

size_t UnwindMaps::load(pid_t pid, const std::vector<Mapping>& maps) {
  size_t fresh = 0;
  const auto kernel_names = kernel_mapped_files(mapped_files_, pid);
  for (const Mapping& m : maps) {
    if (!m.executable || !m.inode || m.path.empty()) continue;
    const auto named = kernel_names.find(m.start);
    const ms_unwind_key key = named != kernel_names.end() ? named->second : ms_unwind_key{kernel_dev(m.dev), m.inode};
    if (!loaded_.insert({key.dev, key.ino}).second) continue;
    load_object(pid, m, key);
    ++fresh;
  }
  return fresh;
}

void UnwindMaps::load_object(pid_t pid, const Mapping& m, const ms_unwind_key& key) {
  // map_files opens what is mapped even if the path was replaced or deleted.
  char mapped[96];
  snprintf(mapped, sizeof mapped, "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, pid, m.start, m.end);
  UnwindTable table;
  const auto t0 = std::chrono::steady_clock::now();
  try {
    table = build_unwind_table(std::string(mapped));
  } catch (const Error&) {
    try {
      table = build_unwind_table("/proc/" + std::to_string(pid) + "/root" + m.path);
    } catch (const Error&) {
    }
  }
  stats_.build_ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();

  ms_unwind_object obj{};
  obj.bias = table.bias;
  if (table.rows.size() > capacity_ - next_row_) {
    ++stats_.rows_full;
    return;  // no entry: the walk says no_table, not no_cfi
  }
  if (!table.rows.empty()) {
    // The rows are in place before the entry that points at them exists.
    memcpy(static_cast<ms_unwind_row*>(rows_) + next_row_, table.rows.data(),
           table.rows.size() * sizeof(ms_unwind_row));
    obj.first_row = next_row_;
    obj.rows = static_cast<uint32_t>(table.rows.size());
    next_row_ += obj.rows;
    stats_.rows += obj.rows;
    ++stats_.objects;
  } else {
    ++stats_.without_cfi;
  }
  bpf_map_update_elem(objects_fd_, &key, &obj, BPF_ANY);
}

}  // namespace memscope
