// What a run needs beyond an ordinary user, decided from the capabilities
// the agent holds, the kernel's lockdown mode and what the run asks for.
// Nothing here reads the system (cli/privileges.cpp does), so that every
// case has a unit test. The rules were measured per mode as a non-root
// user holding chosen capabilities: docs/safety.md#privileges.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace memscope {

enum class Lockdown { unknown, none, integrity, confidentiality };

// The mode in brackets in /sys/kernel/security/lockdown
// ("none [integrity] confidentiality"); unknown for anything else.
Lockdown parse_lockdown(std::string_view text);

// How the uprobe_events file of tracefs looks to the agent.
enum class Tracefs { writable, read_only, unmounted };

// How the allocator probes are attached.
enum class ProbeKind {
  session,         // uprobe-multi session links (6.13+)
  classic_asked,   // perf uprobes, by --probe-mode classic
  classic_kernel,  // perf uprobes, because the kernel has no session uprobes
  inherited,       // tracefs uprobe events (--follow-children)
};

struct PrivilegeAsk {
  uint64_t capabilities = 0;  // the effective set: bit N is capability N
  bool root_uid = false;      // effective UID 0: files owned by root are its own
  Lockdown lockdown = Lockdown::unknown;
  ProbeKind probes = ProbeKind::session;
  Tracefs tracefs = Tracefs::unmounted;  // read for --follow-children only
  bool syscall_counts = false;
  bool all = false;
  std::vector<pid_t> foreign;      // PIDs given that belong to another user
  std::vector<std::string> comms;  // --comm names
};

struct MissingCapability {
  int cap = 0;      // CAP_*
  std::string why;  // what it is for in this run
};

struct PrivilegeVerdict {
  std::vector<MissingCapability> missing;  // in the order they are named
  std::vector<int> grant;                  // every capability this run needs, for the setcap hint
  std::vector<std::string> locked;         // what the lockdown blocks in this run
  std::vector<std::string> warnings;       // what the run goes ahead without
  bool ok() const { return missing.empty() && locked.empty(); }
};

PrivilegeVerdict judge_privileges(const PrivilegeAsk& ask);

// The one-line error for a verdict that is not ok(): each capability
// missing with what it is for, how to grant them to `exe`, and what the
// lockdown blocks. Empty when the verdict is ok().
std::string privilege_error(const PrivilegeVerdict& verdict, const std::string& exe);

// "CAP_SYS_PTRACE" for CAP_SYS_PTRACE.
std::string capability_name(int cap);

}  // namespace memscope
