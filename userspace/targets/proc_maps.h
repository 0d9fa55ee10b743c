// The file-backed mappings of a process, from /proc/PID/maps: which object
// sits at which address, so that allocator files can be found and return
// addresses turned into (file, offset).
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace memscope {

struct Mapping {
  uint64_t start = 0;
  uint64_t end = 0;
  uint64_t offset = 0;  // file offset of `start`
  uint64_t inode = 0;
  std::string dev;
  std::string path;  // as the process sees it; empty for anonymous memory
  bool executable = false;
  bool operator==(const Mapping&) const = default;
};

std::vector<Mapping> parse_maps(const std::string& text);

// Throws Error when the maps cannot be read (process gone, no permission).
std::vector<Mapping> read_maps(pid_t pid);

// The mapping that holds `addr`, or nullptr.
const Mapping* find_mapping(const std::vector<Mapping>& maps, uint64_t addr);

// Distinct file paths in the order they first appear.
std::vector<std::string> mapped_files(const std::vector<Mapping>& maps);

}  // namespace memscope
