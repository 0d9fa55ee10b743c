#include "targets/process_memory.h"

#include <sstream>

#include "common/fs.h"

namespace memscope {

std::optional<ResidentMemory> read_resident_memory(pid_t pid) {
  auto status = read_file("/proc/" + std::to_string(pid) + "/status");
  if (!status) return std::nullopt;
  ResidentMemory m;
  bool rss = false;
  std::istringstream lines(*status);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream f(line);
    std::string key;
    uint64_t kib = 0;
    if (!(f >> key >> kib)) continue;
    if (key == "VmRSS:") m.rss_bytes = kib * 1024, rss = true;
    if (key == "RssAnon:") m.rss_anon_bytes = kib * 1024;
  }
  if (!rss) return std::nullopt;  // a zombie has no memory left to show
  return m;
}

std::optional<ProgramBreak> read_program_break(pid_t pid) {
  const std::string dir = "/proc/" + std::to_string(pid);
  auto stat = read_file(dir + "/stat");
  auto maps = read_file(dir + "/maps");
  if (!stat || !maps) return std::nullopt;
  auto close = stat->rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(stat->substr(close + 2));
  std::string field;
  ProgramBreak b;
  // Fields after comm start at 3 (state); start_brk is 47.
  for (int i = 3; i <= 47 && rest >> field; ++i)
    if (i == 47) b.start = std::stoull(field);
  if (b.start == 0) return std::nullopt;
  b.current = b.start;
  // The kernel keeps [heap] ending at the break rounded up to a page, and
  // glibc moves the break in whole pages.
  std::istringstream lines(*maps);
  std::string line;
  while (std::getline(lines, line))
    if (line.ends_with("[heap]")) b.current = std::stoull(line.substr(line.find('-') + 1), nullptr, 16);
  return b;
}

}  // namespace memscope
