#include "attach/tracefs_events.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

#include "common/error.h"
#include "common/fs.h"

namespace memscope {

namespace {

bool agent_alive(pid_t pid) {
  if (kill(pid, 0) != 0 && errno != EPERM) return false;
  auto comm = read_file("/proc/" + std::to_string(pid) + "/comm");
  return comm && comm->rfind("memscope-bpf", 0) == 0;  // else a reused PID
}

// "p:memscope_123/ms_0 /usr/lib/x86_64-linux-gnu/libc.so.6:0x..." -> the
// agent's PID (123) and the event ("memscope_123/ms_0"); 0 for other lines.
pid_t event_agent(const std::string& line, std::string& event) {
  const auto colon = line.find(':'), slash = line.find('/'), space = line.find(' ');
  if (colon == std::string::npos || slash == std::string::npos || space == std::string::npos || slash > space ||
      colon > slash)
    return 0;
  const std::string group = line.substr(colon + 1, slash - colon - 1);
  if (group.rfind(kUprobeGroupPrefix, 0) != 0) return 0;
  const std::string digits = group.substr(sizeof kUprobeGroupPrefix - 1);
  if (digits.empty() || digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) return 0;
  event = line.substr(colon + 1, space - colon - 1);
  return static_cast<pid_t>(std::stol(digits));
}

}  // namespace

int open_tracefs() {
  for (const char* path : {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"}) {
    int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) continue;
    // AT_EACCESS: as the agent is (its capabilities too), not as its real user.
    if (faccessat(fd, "uprobe_events", W_OK, AT_EACCESS) == 0) return fd;
    close(fd);
  }
  int fs = fsopen("tracefs", FSOPEN_CLOEXEC);
  if (fs < 0) throw Error(std::string("cannot mount tracefs for inherited uprobes: ") + strerror(errno));
  int mnt = -1;
  if (fsconfig(fs, FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) == 0) mnt = fsmount(fs, FSMOUNT_CLOEXEC, 0);
  const int err = errno;
  close(fs);
  if (mnt < 0) throw Error(std::string("cannot mount tracefs for inherited uprobes: ") + strerror(err));
  if (faccessat(mnt, "uprobe_events", W_OK, AT_EACCESS) != 0) {
    const int why = errno;
    close(mnt);
    if (why == ENOENT)
      throw Error("this kernel has no uprobe events in tracefs (CONFIG_UPROBE_EVENTS): --follow-children needs them");
    throw Error(std::string("cannot write tracefs's uprobe_events (owned by root) for --follow-children: ") +
                strerror(why));
  }
  return mnt;
}

int write_uprobe_command(int tracefs, const std::string& line) {
  int fd = openat(tracefs, "uprobe_events", O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0) return errno;
  const std::string text = line + "\n";
  int err = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) ? 0 : errno;
  close(fd);
  return err;
}

std::string read_tracefs(int tracefs, const std::string& path) { return read_file_at(tracefs, path).value_or(""); }

// A killed agent's perf events are freed after it is gone: those its BPF
// links held go through the kernel's delayed fput, each close waiting for
// grace periods one after another (~90 ms a probe), and an event in use
// cannot be removed (EBUSY). So events still busy are tried again, for up
// to kBusyWaitMs.
constexpr int kBusyWaitMs = 10000, kBusyRetryMs = 50;

StaleEvents remove_stale_uprobe_events(int tracefs) {
  StaleEvents stale;
  for (int waited = 0;; waited += kBusyRetryMs) {
    std::istringstream in(read_tracefs(tracefs, "uprobe_events"));
    std::string line, event;
    bool busy = false;
    while (std::getline(in, line)) {
      const pid_t agent = event_agent(line, event);
      if (agent <= 0 || agent_alive(agent)) continue;
      if (const int err = write_uprobe_command(tracefs, "-:" + event)) {
        busy = busy || err == EBUSY;
        continue;
      }
      ++stale.removed;
      stale.agents.insert(agent);
    }
    if (!busy || waited >= kBusyWaitMs) return stale;
    usleep(kBusyRetryMs * 1000);
  }
}

StaleEvents remove_stale_uprobe_events() {
  try {
    const int tracefs = open_tracefs();
    StaleEvents stale = remove_stale_uprobe_events(tracefs);
    close(tracefs);
    return stale;
  } catch (const Error&) {
    return {};  // no tracefs, or no uprobe events: nothing can be left
  }
}

}  // namespace memscope
