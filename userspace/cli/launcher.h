// Starts a command held at the door: the child is forked and waits on a
// pipe until the probes are attached to its PID, then execs, so that not one
// allocation of the new program happens untraced. Uprobes filtered by PID
// follow the task through exec into the new program's mappings.
#pragma once
#include <sys/types.h>

#include <string>
#include <vector>

namespace memscope {

class LaunchedCommand {
 public:
  // Resolves argv[0] through PATH and forks; throws Error when the command
  // cannot be found.
  explicit LaunchedCommand(const std::vector<std::string>& argv);
  ~LaunchedCommand();  // kills a child that was never released
  LaunchedCommand(const LaunchedCommand&) = delete;
  LaunchedCommand& operator=(const LaunchedCommand&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& path() const { return path_; }

  // Lets the child exec; throws Error if exec failed.
  void release();
  // Reaps the child if it has exited; returns true then.
  bool reap(int& status);
  // The reaped child's own CPU seconds (user + system, from wait4): what
  // /proc/PID/stat can no longer tell once it is reaped.
  double cpu_seconds() const { return cpu_s_; }

 private:
  pid_t pid_ = -1;
  std::string path_;
  int go_fd_ = -1;     // parent writes one byte: exec now
  int error_fd_ = -1;  // child writes errno if exec fails (CLOEXEC otherwise)
  bool released_ = false;
  bool reaped_ = false;
  double cpu_s_ = 0;
};

// argv[0] resolved like execvp; empty when not found.
std::string resolve_command(const std::string& name);

}  // namespace memscope
