// /proc/PID/maps text: what the kernel writes, with paths the traced
// program chose (any bytes but '\n', which the kernel escapes). parse_maps
// must take anything without throwing, keep only absolute paths, and every
// mapping it returns must read back the same when printed in the kernel's
// format; find_mapping must agree with a linear search over sorted maps.
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "targets/proc_maps.h"

using namespace memscope;

namespace {

std::string kernel_line(const Mapping& m) {
  char head[96];
  snprintf(head, sizeof head, "%" PRIx64 "-%" PRIx64 " %s %08" PRIx64 " ", m.start, m.end,
           m.executable ? "r-xp" : "r--p", m.offset);
  return head + m.dev + " " + std::to_string(m.inode) + " " + m.path + "\n";
}

bool same(const Mapping& a, const Mapping& b) {
  return a.start == b.start && a.end == b.end && a.offset == b.offset && a.inode == b.inode && a.dev == b.dev &&
         a.path == b.path && a.executable == b.executable;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const std::vector<Mapping> maps = parse_maps(text);
  for (const Mapping& m : maps) {
    if (!m.path.empty() && (m.path[0] != '/' || m.inode == 0)) abort();
    // A path the kernel would print differently, or that itself ends in the
    // kernel's " (deleted)" mark, cannot read back the same.
    if (m.path.find('\n') != std::string::npos || m.path.ends_with(" (deleted)")) continue;
    const std::vector<Mapping> again = parse_maps(kernel_line(m));
    if (again.size() != 1 || !same(again[0], m)) abort();
  }
  // find_mapping binary-searches maps sorted by start, as the kernel lists
  // them: on such a list it must find what a linear search finds.
  bool sorted = true;
  for (size_t i = 0; i < maps.size(); ++i)
    sorted = sorted && maps[i].start < maps[i].end && (i == 0 || maps[i - 1].end <= maps[i].start);
  if (sorted) {
    for (const Mapping& m : maps) {
      for (uint64_t addr : {m.start, m.end - 1, m.end}) {
        const Mapping* linear = nullptr;
        for (const Mapping& n : maps)
          if (addr >= n.start && addr < n.end) linear = &n;
        if (find_mapping(maps, addr) != linear) abort();
      }
    }
  }
  const std::vector<std::string> files = mapped_files(maps);
  for (size_t i = 0; i < files.size(); ++i)
    for (size_t j = i + 1; j < files.size(); ++j)
      if (files[i] == files[j]) abort();
  return 0;
}
