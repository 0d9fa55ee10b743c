#include "cli/privileges.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cstdio>
#include <sstream>

#include "attach/uprobe_multi.h"
#include "cli/privilege_needs.h"
#include "common/capabilities.h"
#include "common/error.h"
#include "common/fs.h"

namespace memscope {
namespace {

// Where securityfs is mounted nowhere (as on this project's VM), a mount of
// it attached nowhere, as for tracefs (attach/tracefs_events.h): that takes
// CAP_SYS_ADMIN, and without it the mode stays unknown.
Lockdown read_lockdown() {
  if (auto text = read_file("/sys/kernel/security/lockdown")) return parse_lockdown(*text);
  int fs = fsopen("securityfs", FSOPEN_CLOEXEC);
  if (fs < 0) return Lockdown::unknown;
  int mnt = -1;
  if (fsconfig(fs, FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) == 0) mnt = fsmount(fs, FSMOUNT_CLOEXEC, 0);
  close(fs);
  if (mnt < 0) return Lockdown::unknown;
  const auto text = read_file_at(mnt, "lockdown");
  close(mnt);
  return text ? parse_lockdown(*text) : Lockdown::unknown;
}

// As open_tracefs() will find it: statfs tells a mount without the
// permission to look inside it, AT_EACCESS asks as the agent is
// (capabilities included), not as its real user.
Tracefs tracefs_state() {
  bool mounted = false;
  for (const std::string dir : {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"}) {
    struct statfs fs {};
    if (statfs(dir.c_str(), &fs) != 0 || fs.f_type != TRACEFS_MAGIC) continue;
    mounted = true;
    if (faccessat(AT_FDCWD, (dir + "/uprobe_events").c_str(), W_OK, AT_EACCESS) == 0) return Tracefs::writable;
  }
  return mounted ? Tracefs::read_only : Tracefs::unmounted;
}

// The kernel's ptrace_may_access() without CAP_SYS_PTRACE: the target's
// real, effective and saved IDs all the agent's, and the process dumpable
// (else its /proc directory belongs to root). A process gone is not
// foreign: resolving it says it is gone.
bool foreign(pid_t pid) {
  const std::string dir = "/proc/" + std::to_string(pid);
  struct stat st {};
  auto status = read_file(dir + "/status");
  if (!status || stat(dir.c_str(), &st) != 0) return false;
  const uid_t uid = geteuid();
  const gid_t gid = getegid();
  bool same = st.st_uid == uid;
  std::istringstream lines(*status);
  std::string line;
  while (std::getline(lines, line)) {
    const bool uids = line.rfind("Uid:", 0) == 0, gids = line.rfind("Gid:", 0) == 0;
    if (!uids && !gids) continue;
    std::istringstream ids(line.substr(4));
    unsigned long real = 0, effective = 0, saved = 0;
    ids >> real >> effective >> saved;
    const unsigned long mine = uids ? uid : gid;
    same = same && real == mine && effective == mine && saved == mine;
  }
  return !same;
}

ProbeKind probe_kind(const Options& o) {
  if (o.follow.children && !o.follow.all) return ProbeKind::inherited;
  if (o.probe_mode == ProbeMode::Classic) return ProbeKind::classic_asked;
  if (o.probe_mode == ProbeMode::Auto && !kernel_has_uprobe_session()) return ProbeKind::classic_kernel;
  return ProbeKind::session;
}

std::string own_path() {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "memscope-bpf";
}

}  // namespace

void check_privileges(const Options& o) {
  PrivilegeAsk ask;
  ask.capabilities = effective_capabilities();
  ask.root_uid = geteuid() == 0;
  ask.lockdown = read_lockdown();
  ask.probes = probe_kind(o);
  if (ask.probes == ProbeKind::inherited) ask.tracefs = tracefs_state();
  ask.syscall_counts = o.syscall_counts;
  ask.all = o.follow.all;
  for (pid_t pid : o.pids)
    if (foreign(pid)) ask.foreign.push_back(pid);
  ask.comms = o.follow.comms;
  const PrivilegeVerdict verdict = judge_privileges(ask);
  if (!verdict.ok()) throw Error(privilege_error(verdict, own_path()));
  for (const auto& w : verdict.warnings) fprintf(stderr, "memscope-bpf: warning: %s\n", w.c_str());
}

}  // namespace memscope
