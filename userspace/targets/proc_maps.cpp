#include "targets/proc_maps.h"

#include <algorithm>
#include <charconv>
#include <sstream>

#include "common/error.h"
#include "common/fs.h"

namespace memscope {
namespace {

// The whole field as a number, or false (std::stoull would throw
// std::invalid_argument past every Error handler, or read a prefix).
bool parse_number(std::string_view field, int base, uint64_t& out) {
  const char* end = field.data() + field.size();
  auto [at, err] = std::from_chars(field.data(), end, out, base);
  return err == std::errc() && at == end;
}

}  // namespace

std::vector<Mapping> parse_maps(const std::string& text) {
  std::vector<Mapping> out;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream f(line);
    std::string range, perms, offset, dev, inode;
    if (!(f >> range >> perms >> offset >> dev >> inode)) continue;
    Mapping m;
    // A line that is not in the kernel's format is skipped, as a short one is.
    auto dash = range.find('-');
    if (dash == std::string::npos) continue;
    const std::string_view r(range);
    if (!parse_number(r.substr(0, dash), 16, m.start) || !parse_number(r.substr(dash + 1), 16, m.end) ||
        !parse_number(offset, 16, m.offset) || !parse_number(inode, 10, m.inode))
      continue;
    m.dev = dev;
    m.executable = perms.size() > 2 && perms[2] == 'x';
    std::string path;
    std::getline(f >> std::ws, path);
    const std::string deleted = " (deleted)";
    if (path.size() > deleted.size() && path.ends_with(deleted)) path.resize(path.size() - deleted.size());
    if (m.inode != 0 && !path.empty() && path[0] == '/') m.path = path;
    out.push_back(std::move(m));
  }
  return out;
}

std::vector<Mapping> read_maps(pid_t pid) {
  auto text = read_file("/proc/" + std::to_string(pid) + "/maps");
  if (!text) throw Error("cannot read /proc/" + std::to_string(pid) + "/maps (process gone?)");
  return parse_maps(*text);
}

const Mapping* find_mapping(const std::vector<Mapping>& maps, uint64_t addr) {
  auto it = std::upper_bound(maps.begin(), maps.end(), addr, [](uint64_t a, const Mapping& m) { return a < m.start; });
  if (it == maps.begin()) return nullptr;
  --it;
  return addr < it->end ? &*it : nullptr;
}

std::vector<std::string> mapped_files(const std::vector<Mapping>& maps) {
  std::vector<std::string> out;
  for (const auto& m : maps)
    if (!m.path.empty() && std::find(out.begin(), out.end(), m.path) == out.end()) out.push_back(m.path);
  return out;
}

}  // namespace memscope
