// What the report says about a traced process, read once from /proc.
#pragma once
#include <sys/types.h>

#include <string>
#include <vector>

namespace memscope {

struct ProcessInfo {
  pid_t pid = 0;     // host PID
  pid_t ns_pid = 0;  // the PID the process sees in its own PID namespace
  std::string comm;
  std::string exe;  // path as the process sees it (its mount namespace)
};

// Throws Error with a one-line reason for a PID that does not exist, a
// kernel thread, or a process whose details cannot be read.
ProcessInfo read_process(pid_t pid);

// "/proc/PID/root": the process's view of the file system, so that files of
// a process in another mount namespace are reached as it sees them.
std::string proc_root(pid_t pid);

// The PID in the innermost namespace from /proc/PID/status text, or
// host_pid when the text names none.
pid_t innermost_ns_pid(const std::string& status, pid_t host_pid);

bool process_alive(pid_t pid);

// The parent's PID, or 0 when the process is gone.
pid_t parent_of(pid_t pid);

// The process's environment, one "NAME=value" per entry (empty when gone).
std::vector<std::string> process_environ(pid_t pid);

// User plus system CPU seconds the process has used (all its threads), or
// a negative value when it is gone.
double process_cpu_seconds(pid_t pid);
// Its user-mode CPU time alone (uprobe traps are kernel time); -1 when gone.
double process_user_cpu_seconds(pid_t pid);

}  // namespace memscope
