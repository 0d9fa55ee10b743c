#include "attach/probe_holders.h"

#include <bpf/bpf.h>
#include <dirent.h>
#include <linux/bpf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstring>
#include <set>

#include "common/fs.h"

namespace memscope {
namespace {

// "/proc/N/root/x" -> "/x": how the file is named inside its namespace.
std::string without_proc_root(const std::string& p) {
  if (p.rfind("/proc/", 0) != 0) return p;
  auto root = p.find("/root/");
  return root == std::string::npos ? p : p.substr(root + 5);
}

bool same_file(const std::string& a, const std::string& b) {
  struct stat sa, sb;
  if (stat(a.c_str(), &sa) == 0 && stat(b.c_str(), &sb) == 0) return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
  // The holder's target may be gone while its probe stays: compare names.
  return without_proc_root(a) == without_proc_root(b);
}

std::string comm_of(int pid) {
  auto c = read_file("/proc/" + std::to_string(pid) + "/comm");
  std::string s = c ? *c : "?";
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

}  // namespace

std::string uprobe_holders(const std::string& path, uint64_t offset) {
  std::set<std::string> found;
  const int self = getpid();
  DIR* proc = opendir("/proc");
  if (!proc) return "";
  while (dirent* p = readdir(proc)) {
    const int pid = atoi(p->d_name);
    if (pid <= 0 || pid == self) continue;
    const std::string fd_dir = "/proc/" + std::to_string(pid) + "/fd";
    DIR* fds = opendir(fd_dir.c_str());
    if (!fds) continue;
    while (dirent* f = readdir(fds)) {
      const int fd = atoi(f->d_name);
      if (fd < 0 || f->d_name[0] == '.') continue;
      char link[64] = {0};
      if (readlink((fd_dir + "/" + f->d_name).c_str(), link, sizeof link - 1) <= 0) continue;
      if (std::strcmp(link, "anon_inode:[perf_event]") != 0) continue;
      char name[PATH_MAX] = {0};
      __u32 len = sizeof name, prog_id = 0, type = 0;
      __u64 probe_offset = 0, probe_addr = 0;
      if (bpf_task_fd_query(pid, fd, 0, name, &len, &prog_id, &type, &probe_offset, &probe_addr) != 0) continue;
      if ((type != BPF_FD_TYPE_UPROBE && type != BPF_FD_TYPE_URETPROBE) || probe_offset != offset) continue;
      if (same_file(name, path)) found.insert("PID " + std::to_string(pid) + " (" + comm_of(pid) + ")");
    }
    closedir(fds);
  }
  closedir(proc);
  std::string out;
  for (const auto& s : found) out += (out.empty() ? "" : ", ") + s;
  return out;
}

std::string conflict_hint(const std::string& path, const std::vector<uint64_t>& offsets) {
  std::string holders;
  for (uint64_t off : offsets)
    if (holders.empty()) holders = uprobe_holders(path, off);
  if (!holders.empty())
    return " (" + holders +
           " holds a uprobe at the same address with a different ref_ctr_offset; stop it or trace at another time)";
  return " (another tool may hold a uprobe at the same address with a different ref_ctr_offset)";
}

}  // namespace memscope
