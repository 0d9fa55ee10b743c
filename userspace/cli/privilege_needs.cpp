#include "cli/privilege_needs.h"

#include <linux/capability.h>

#include <algorithm>
#include <cctype>

#include "common/capabilities.h"

namespace memscope {
namespace {

// CAP_SYS_ADMIN stands in for both (the kernel's bpf_capable() and
// perfmon_capable()).
bool granted(uint64_t caps, int cap) {
  if (holds_capability(caps, cap)) return true;
  return (cap == CAP_BPF || cap == CAP_PERFMON) && holds_capability(caps, CAP_SYS_ADMIN);
}

void need(std::vector<MissingCapability>& needs, int cap, const std::string& why) {
  for (auto& n : needs)
    if (n.cap == cap) {
      n.why += "; " + why;
      return;
    }
  needs.push_back({cap, why});
}

std::string foreign_why(const std::vector<pid_t>& pids) {
  if (pids.size() == 1) return "read PID " + std::to_string(pids[0]) + "'s maps and files: it belongs to another user";
  std::string out = "read the maps and files of PIDs ";
  for (size_t i = 0; i < pids.size() && i < 3; ++i) out += (i ? ", " : "") + std::to_string(pids[i]);
  return out + (pids.size() > 3 ? ", ..." : "") + ": they belong to other users";
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i == 0 ? "" : i + 1 == items.size() ? " and " : ", ") + items[i];
  return out;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// Every capability the run needs, each with what it is for.
std::vector<MissingCapability> needs_of(const PrivilegeAsk& ask) {
  std::vector<MissingCapability> needs;
  need(needs, CAP_BPF, "load the BPF programs and create their maps");
  need(needs, CAP_PERFMON, "load tracing programs and attach uprobes");
  // The kernel keeps perf uprobes to CAP_SYS_ADMIN (upstream ba677dbe77af,
  // 2025); session links and tracefs uprobe events take CAP_PERFMON.
  if (ask.probes == ProbeKind::classic_asked)
    need(needs, CAP_SYS_ADMIN, "the perf uprobes of --probe-mode classic; the default session probes do without");
  if (ask.probes == ProbeKind::classic_kernel)
    need(needs, CAP_SYS_ADMIN, "perf uprobes: this kernel has no session uprobes, 6.13+, that do without");
  if (ask.probes == ProbeKind::inherited && ask.tracefs != Tracefs::writable) {
    if (ask.tracefs == Tracefs::unmounted)
      need(needs, CAP_SYS_ADMIN, "mount tracefs, mounted nowhere, for --follow-children's uprobe events");
    if (!ask.root_uid)
      need(needs, CAP_DAC_OVERRIDE, "write tracefs's uprobe_events, owned by root, for --follow-children");
  }
  if (!ask.foreign.empty())
    need(needs, CAP_SYS_PTRACE, foreign_why(ask.foreign));
  if (ask.all) need(needs, CAP_SYS_PTRACE, "read the maps and files of other users' processes, which --all traces");
  return needs;
}

}  // namespace

Lockdown parse_lockdown(std::string_view text) {
  const auto open = text.find('['), close = text.find(']');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) return Lockdown::unknown;
  const std::string_view mode = text.substr(open + 1, close - open - 1);
  if (mode == "none") return Lockdown::none;
  if (mode == "integrity") return Lockdown::integrity;
  if (mode == "confidentiality") return Lockdown::confidentiality;
  return Lockdown::unknown;
}

std::string capability_name(int cap) {
  switch (cap) {
    case CAP_BPF: return "CAP_BPF";
    case CAP_PERFMON: return "CAP_PERFMON";
    case CAP_SYS_ADMIN: return "CAP_SYS_ADMIN";
    case CAP_SYS_PTRACE: return "CAP_SYS_PTRACE";
    case CAP_DAC_OVERRIDE: return "CAP_DAC_OVERRIDE";
    default: return "capability " + std::to_string(cap);
  }
}

PrivilegeVerdict judge_privileges(const PrivilegeAsk& ask) {
  PrivilegeVerdict v;
  auto needs = needs_of(ask);
  // Where CAP_SYS_ADMIN is needed anyway it grants CAP_BPF and CAP_PERFMON
  // (the kernel's bpf_capable() and perfmon_capable()): it is named alone.
  auto admin = std::find_if(needs.begin(), needs.end(), [](const auto& n) { return n.cap == CAP_SYS_ADMIN; });
  if (admin != needs.end()) {
    if (!granted(ask.capabilities, CAP_BPF) || !granted(ask.capabilities, CAP_PERFMON))
      admin->why = "load the BPF programs and attach uprobes; " + admin->why;
    std::erase_if(needs, [](const auto& n) { return n.cap == CAP_BPF || n.cap == CAP_PERFMON; });
  }
  for (const auto& n : needs) {
    if (!granted(ask.capabilities, n.cap)) v.missing.push_back(n);
    v.grant.push_back(n.cap);
  }
  // Lockdown=confidentiality (LOCKDOWN_TRACEFS, LOCKDOWN_BPF_READ_KERNEL)
  // holds root too; integrity blocks nothing the agent does.
  if (ask.lockdown == Lockdown::confidentiality) {
    if (ask.probes == ProbeKind::inherited)
      v.locked.push_back("--follow-children (tracefs is closed, and its uprobe events with it)");
    if (ask.syscall_counts)
      v.locked.push_back("--syscall-counts (its programs read the syscall registers from kernel memory)");
  }
  if (!ask.comms.empty() && !holds_capability(ask.capabilities, CAP_SYS_PTRACE))
    v.warnings.push_back("without CAP_SYS_PTRACE, processes named " + joined(ask.comms) +
                         " that belong to other users are not traced");
  return v;
}

std::string privilege_error(const PrivilegeVerdict& v, const std::string& exe) {
  if (v.ok()) return {};
  std::string out;
  if (!v.missing.empty()) {
    std::vector<std::string> items;
    bool bpf = false, perfmon = false;
    for (const auto& m : v.missing) {
      items.push_back(capability_name(m.cap) + " (" + m.why + ")");
      bpf |= m.cap == CAP_BPF;
      perfmon |= m.cap == CAP_PERFMON;
    }
    out = "missing " + joined(items);
    if (bpf && perfmon) out += "; CAP_SYS_ADMIN would stand for both CAP_BPF and CAP_PERFMON";
    std::string caps;
    for (int c : v.grant) caps += (caps.empty() ? "" : ",") + lower(capability_name(c));
    out += "; run as root, or grant them: setcap " + caps + "+ep " + exe;
  }
  if (!v.locked.empty())
    out += (out.empty() ? "" : "; ") + std::string("the kernel is locked down (confidentiality), which blocks ") +
           joined(v.locked) + " for root too";
  return out;
}

}  // namespace memscope
