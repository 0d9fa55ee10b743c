#include "cli/launcher.h"

#include <sys/resource.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

#include "common/error.h"

extern char** environ;

namespace memscope {

std::string resolve_command(const std::string& name) {
  if (name.find('/') != std::string::npos) return access(name.c_str(), X_OK) == 0 ? name : "";
  const char* path = getenv("PATH");
  std::istringstream dirs(path ? path : "/usr/local/bin:/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

LaunchedCommand::LaunchedCommand(const std::vector<std::string>& argv) {
  path_ = resolve_command(argv.at(0));
  if (path_.empty()) throw Error("command not found: " + argv[0]);

  // Everything the child needs is built before fork: between fork and
  // exec it may only call async-signal-safe functions.
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int go[2], err[2];
  if (pipe2(go, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) throw Error("pipe failed");
  sigset_t empty;
  sigemptyset(&empty);

  pid_ = fork();
  if (pid_ < 0) throw Error(std::string("fork failed: ") + strerror(errno));
  if (pid_ == 0) {
    close(go[1]);
    close(err[0]);
    char c;
    if (read(go[0], &c, 1) != 1) _exit(127);  // the tracer gave up
    sigprocmask(SIG_SETMASK, &empty, nullptr);
    // Capabilities granted to the agent as ambient ones (setpriv, capsh,
    // systemd's AmbientCapabilities=) would pass through exec to the
    // command: it gets none, as when they are file capabilities (setcap).
    // A command of root's is root all the same.
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    execve(path_.c_str(), args.data(), environ);
    int e = errno;
    (void)!write(err[1], &e, sizeof e);
    _exit(127);
  }
  close(go[0]);
  close(err[1]);
  go_fd_ = go[1];
  error_fd_ = err[0];
}

LaunchedCommand::~LaunchedCommand() {
  if (go_fd_ >= 0) close(go_fd_);
  if (error_fd_ >= 0) close(error_fd_);
  if (pid_ > 0 && !reaped_) {
    if (!released_) kill(pid_, SIGKILL);
    int status;
    if (!released_) waitpid(pid_, &status, 0);
  }
}

void LaunchedCommand::release() {
  char c = 1;
  released_ = true;
  if (write(go_fd_, &c, 1) != 1) throw Error("cannot start the command");
  close(go_fd_);
  go_fd_ = -1;
  int e = 0;
  ssize_t n = read(error_fd_, &e, sizeof e);  // EOF on successful exec
  close(error_fd_);
  error_fd_ = -1;
  if (n == sizeof e) {
    int status;
    waitpid(pid_, &status, 0);
    reaped_ = true;
    throw Error("cannot run " + path_ + ": " + strerror(e));
  }
}

bool LaunchedCommand::reap(int& status) {
  if (reaped_) return true;
  rusage ru{};
  pid_t r = wait4(pid_, &status, WNOHANG, &ru);
  if (r == pid_) {
    reaped_ = true;
    cpu_s_ = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
             static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  }
  return reaped_;
}

}  // namespace memscope
