#include "targets/process.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <sstream>

#include "common/error.h"
#include "common/fs.h"

namespace memscope {
namespace {

constexpr unsigned long kPfKthread = 0x00200000;  // include/linux/sched.h

}  // namespace

std::string proc_root(pid_t pid) { return "/proc/" + std::to_string(pid) + "/root"; }

pid_t innermost_ns_pid(const std::string& status, pid_t host_pid) {
  std::istringstream lines(status);
  std::string line;
  pid_t ns_pid = host_pid;
  while (std::getline(lines, line)) {
    if (line.rfind("NSpid:", 0) != 0) continue;
    std::istringstream ids(line.substr(6));
    // The innermost namespace is last. A process reaped while its status
    // is read prints 0 there (task_pid_nr_ns of a task no longer
    // pid_alive): its host PID stands in.
    for (pid_t id; ids >> id;)
      if (id > 0) ns_pid = id;
  }
  return ns_pid;
}

bool process_alive(pid_t pid) { return kill(pid, 0) == 0 || errno == EPERM; }

pid_t parent_of(pid_t pid) {
  auto stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return 0;
  auto close = stat->rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(stat->substr(close + 2));
  std::string state;
  pid_t ppid = 0;
  rest >> state >> ppid;
  return ppid;
}

std::vector<std::string> process_environ(pid_t pid) {
  std::vector<std::string> out;
  auto env = read_file("/proc/" + std::to_string(pid) + "/environ");
  if (!env) return out;
  for (size_t at = 0; at < env->size();) {
    size_t end = env->find('\0', at);
    if (end == std::string::npos) end = env->size();
    if (end > at) out.push_back(env->substr(at, end - at));
    at = end + 1;
  }
  return out;
}

namespace {

// utime and stime of /proc/PID/stat in seconds; false when gone.
bool read_cpu_times(pid_t pid, double& user, double& system) {
  auto stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return false;
  auto close = stat->rfind(')');
  if (close == std::string::npos) return false;
  std::istringstream rest(stat->substr(close + 2));
  std::string field;
  double utime = 0, stime = 0;
  // Fields after comm start at 3 (state); utime is 14, stime 15.
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stod(field);
    if (i == 15) stime = std::stod(field);
  }
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  user = utime / tick;
  system = stime / tick;
  return true;
}

}  // namespace

double process_cpu_seconds(pid_t pid) {
  double user, system;
  return read_cpu_times(pid, user, system) ? user + system : -1;
}

double process_user_cpu_seconds(pid_t pid) {
  double user, system;
  return read_cpu_times(pid, user, system) ? user : -1;
}

ProcessInfo read_process(pid_t pid) {
  const std::string dir = "/proc/" + std::to_string(pid);
  if (pid <= 0) throw Error("invalid PID " + std::to_string(pid));
  auto stat = read_file(dir + "/stat");
  if (!stat) throw Error("no process with PID " + std::to_string(pid));

  ProcessInfo info;
  info.pid = pid;
  // comm may hold spaces and parentheses: it ends at the last ')'.
  auto open = stat->find('('), close = stat->rfind(')');
  if (open == std::string::npos || close == std::string::npos)
    throw Error("cannot parse /proc/" + std::to_string(pid) + "/stat");
  info.comm = stat->substr(open + 1, close - open - 1);
  std::istringstream rest(stat->substr(close + 2));
  std::string field;
  unsigned long flags = 0;
  // Fields after comm: state(3) ppid pgrp session tty_nr tpgid flags(9).
  for (int i = 3; i <= 9 && rest >> field; ++i)
    if (i == 9) flags = std::stoul(field);
  if (flags & kPfKthread)
    throw Error("PID " + std::to_string(pid) + " (" + info.comm +
                ") is a kernel thread: it has no user-space allocator to trace");

  char buf[PATH_MAX];
  ssize_t n = readlink((dir + "/exe").c_str(), buf, sizeof(buf) - 1);
  if (n < 0) {
    const int err = errno;
    if (!process_alive(pid)) throw Error("no process with PID " + std::to_string(pid));
    // Another user's process without CAP_SYS_PTRACE reads as EACCES; a
    // zombie's exe link is gone (ENOENT).
    if (err == EACCES || err == EPERM)
      throw Error("cannot read /proc/" + std::to_string(pid) +
                  "/exe: permission denied (another user's process needs CAP_SYS_PTRACE)");
    throw Error("cannot read /proc/" + std::to_string(pid) + "/exe: " + strerror(err) + " (is this a zombie?)");
  }
  info.exe = std::string(buf, n);
  const std::string deleted = " (deleted)";
  if (info.exe.size() > deleted.size() &&
      info.exe.compare(info.exe.size() - deleted.size(), deleted.size(), deleted) == 0)
    info.exe.resize(info.exe.size() - deleted.size());

  const auto status = read_file(dir + "/status");
  info.ns_pid = innermost_ns_pid(status.value_or(""), pid);
  return info;
}

}  // namespace memscope
