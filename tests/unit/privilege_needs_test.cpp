#include <linux/capability.h>

#include <catch2/catch.hpp>

#include "cli/privilege_needs.h"

using namespace memscope;

namespace {

uint64_t caps(std::initializer_list<int> list) {
  uint64_t out = 0;
  for (int c : list) out |= uint64_t{1} << c;
  return out;
}

std::vector<int> missing(const PrivilegeVerdict& v) {
  std::vector<int> out;
  for (const auto& m : v.missing) out.push_back(m.cap);
  return out;
}

std::string error(const PrivilegeAsk& ask) { return privilege_error(judge_privileges(ask), "/opt/memscope-bpf"); }

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

const uint64_t kTracing = caps({CAP_BPF, CAP_PERFMON});
const uint64_t kRoot = ~uint64_t{0} >> (63 - CAP_LAST_CAP);

}  // namespace

TEST_CASE("privileges: the lockdown mode is the one in brackets") {
  CHECK(parse_lockdown("[none] integrity confidentiality\n") == Lockdown::none);
  CHECK(parse_lockdown("none [integrity] confidentiality\n") == Lockdown::integrity);
  CHECK(parse_lockdown("none integrity [confidentiality]\n") == Lockdown::confidentiality);
  CHECK(parse_lockdown("") == Lockdown::unknown);
  CHECK(parse_lockdown("none integrity confidentiality") == Lockdown::unknown);
  CHECK(parse_lockdown("] none [") == Lockdown::unknown);
  CHECK(parse_lockdown("none [paranoid]") == Lockdown::unknown);
}

TEST_CASE("privileges: no capability names CAP_BPF and CAP_PERFMON, with CAP_SYS_ADMIN as the alternative") {
  PrivilegeAsk ask;
  const PrivilegeVerdict v = judge_privileges(ask);
  CHECK_FALSE(v.ok());
  CHECK(missing(v) == std::vector<int>{CAP_BPF, CAP_PERFMON});
  CHECK(v.grant == std::vector<int>{CAP_BPF, CAP_PERFMON});
  const std::string e = error(ask);
  INFO(e);
  CHECK(e.rfind("missing CAP_BPF (load the BPF programs", 0) == 0);
  CHECK(has(e, "and CAP_PERFMON (load tracing programs and attach uprobes)"));
  CHECK(has(e, "CAP_SYS_ADMIN would stand for both"));
  CHECK(has(e, "setcap cap_bpf,cap_perfmon+ep /opt/memscope-bpf"));
  CHECK(e.find('\n') == std::string::npos);
}

TEST_CASE("privileges: one of the two names only the other") {
  PrivilegeAsk ask;
  ask.capabilities = caps({CAP_BPF});
  CHECK(missing(judge_privileges(ask)) == std::vector<int>{CAP_PERFMON});
  std::string e = error(ask);
  CHECK(has(e, "CAP_PERFMON"));
  CHECK_FALSE(has(e, "CAP_BPF"));
  CHECK_FALSE(has(e, "CAP_SYS_ADMIN"));
  CHECK(has(e, "setcap cap_bpf,cap_perfmon+ep"));  // the whole set: file capabilities replace ambient ones
  ask.capabilities = caps({CAP_PERFMON});
  CHECK(missing(judge_privileges(ask)) == std::vector<int>{CAP_BPF});
  e = error(ask);
  CHECK(has(e, "CAP_BPF"));
  CHECK_FALSE(has(e, "CAP_PERFMON"));
}

TEST_CASE("privileges: session probes need CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN, and nothing else") {
  PrivilegeAsk ask;
  for (uint64_t held : {kTracing, caps({CAP_SYS_ADMIN}), caps({CAP_BPF, CAP_SYS_ADMIN}), kRoot}) {
    ask.capabilities = held;
    const PrivilegeVerdict v = judge_privileges(ask);
    CHECK(v.ok());
    CHECK(v.missing.empty());
    CHECK(v.warnings.empty());
    CHECK(privilege_error(v, "x").empty());
  }
}

TEST_CASE("privileges: classic probes are perf uprobes, which take CAP_SYS_ADMIN") {
  PrivilegeAsk ask;
  ask.probes = ProbeKind::classic_asked;
  ask.capabilities = kTracing;
  PrivilegeVerdict v = judge_privileges(ask);
  CHECK(missing(v) == std::vector<int>{CAP_SYS_ADMIN});
  CHECK(v.grant == std::vector<int>{CAP_SYS_ADMIN});  // it grants the other two
  std::string e = error(ask);
  CHECK(has(e, "missing CAP_SYS_ADMIN (the perf uprobes of --probe-mode classic"));
  CHECK(has(e, "setcap cap_sys_admin+ep"));
  CHECK_FALSE(has(e, "load the BPF programs"));  // held already

  ask.probes = ProbeKind::classic_kernel;
  ask.capabilities = 0;
  v = judge_privileges(ask);
  CHECK(missing(v) == std::vector<int>{CAP_SYS_ADMIN});
  e = error(ask);
  CHECK(has(e, "CAP_SYS_ADMIN (load the BPF programs and attach uprobes; perf uprobes: this kernel has no session"));
  CHECK_FALSE(has(e, "CAP_BPF"));

  ask.capabilities = caps({CAP_SYS_ADMIN});
  CHECK(judge_privileges(ask).ok());
}

TEST_CASE("privileges: --follow-children writes tracefs's uprobe_events, mounting tracefs where it is not") {
  PrivilegeAsk ask;
  ask.probes = ProbeKind::inherited;
  ask.capabilities = kTracing;
  ask.tracefs = Tracefs::writable;
  CHECK(judge_privileges(ask).ok());

  ask.tracefs = Tracefs::read_only;
  CHECK(missing(judge_privileges(ask)) == std::vector<int>{CAP_DAC_OVERRIDE});
  CHECK(has(error(ask), "CAP_DAC_OVERRIDE (write tracefs's uprobe_events, owned by root, for --follow-children)"));
  CHECK(has(error(ask), "setcap cap_bpf,cap_perfmon,cap_dac_override+ep"));
  ask.capabilities = caps({CAP_BPF, CAP_PERFMON, CAP_DAC_OVERRIDE});
  CHECK(judge_privileges(ask).ok());

  ask.tracefs = Tracefs::unmounted;
  CHECK(missing(judge_privileges(ask)) == std::vector<int>{CAP_SYS_ADMIN});
  ask.capabilities = kTracing;
  CHECK(missing(judge_privileges(ask)) == std::vector<int>{CAP_SYS_ADMIN, CAP_DAC_OVERRIDE});
  CHECK(has(error(ask), "CAP_SYS_ADMIN (mount tracefs, mounted nowhere, for --follow-children's uprobe events)"));
  CHECK(has(error(ask), "setcap cap_sys_admin,cap_dac_override+ep"));
  ask.capabilities = caps({CAP_SYS_ADMIN, CAP_DAC_OVERRIDE});
  CHECK(judge_privileges(ask).ok());
  // Root's own files need no override.
  ask.capabilities = caps({CAP_SYS_ADMIN});
  ask.root_uid = true;
  CHECK(judge_privileges(ask).ok());
}

TEST_CASE("privileges: another user's process takes CAP_SYS_PTRACE, named with its PID") {
  PrivilegeAsk ask;
  ask.capabilities = kTracing;
  ask.foreign = {4321};
  CHECK(missing(judge_privileges(ask)) == std::vector<int>{CAP_SYS_PTRACE});
  std::string e = error(ask);
  CHECK(has(e, "CAP_SYS_PTRACE (read PID 4321's maps and files: it belongs to another user)"));
  CHECK(has(e, "setcap cap_bpf,cap_perfmon,cap_sys_ptrace+ep"));
  ask.foreign = {1, 2, 3, 4};
  CHECK(has(error(ask), "PIDs 1, 2, 3, ...: they belong to other users"));
  ask.capabilities = caps({CAP_BPF, CAP_PERFMON, CAP_SYS_PTRACE});
  CHECK(judge_privileges(ask).ok());
  ask.capabilities = caps({CAP_SYS_ADMIN});  // not enough: measured
  CHECK(missing(judge_privileges(ask)) == std::vector<int>{CAP_SYS_PTRACE});

  ask.foreign.clear();
  ask.all = true;
  ask.capabilities = kTracing;
  CHECK(missing(judge_privileges(ask)) == std::vector<int>{CAP_SYS_PTRACE});
  CHECK(has(error(ask), "which --all traces"));
}

TEST_CASE("privileges: --comm without CAP_SYS_PTRACE goes ahead with a warning") {
  PrivilegeAsk ask;
  ask.capabilities = kTracing;
  ask.comms = {"nginx", "redis"};
  PrivilegeVerdict v = judge_privileges(ask);
  CHECK(v.ok());
  REQUIRE(v.warnings.size() == 1);
  CHECK(v.warnings[0] == "without CAP_SYS_PTRACE, processes named nginx and redis that belong to other users are "
                         "not traced");
  ask.capabilities = caps({CAP_BPF, CAP_PERFMON, CAP_SYS_PTRACE});
  CHECK(judge_privileges(ask).warnings.empty());
}

TEST_CASE("privileges: lockdown=confidentiality blocks --follow-children and --syscall-counts, for root too") {
  PrivilegeAsk ask;
  ask.capabilities = kRoot;
  ask.root_uid = true;
  ask.lockdown = Lockdown::confidentiality;
  CHECK(judge_privileges(ask).ok());  // the other programs read no kernel memory

  ask.syscall_counts = true;
  CHECK_FALSE(judge_privileges(ask).ok());
  CHECK(judge_privileges(ask).missing.empty());
  CHECK(error(ask) ==
        "the kernel is locked down (confidentiality), which blocks --syscall-counts (its programs read the syscall "
        "registers from kernel memory) for root too");

  ask.probes = ProbeKind::inherited;
  ask.tracefs = Tracefs::writable;
  CHECK(judge_privileges(ask).locked.size() == 2);
  CHECK(has(error(ask), "blocks --follow-children (tracefs is closed, and its uprobe events with it) and "
                        "--syscall-counts"));

  for (Lockdown mode : {Lockdown::none, Lockdown::integrity, Lockdown::unknown}) {
    ask.lockdown = mode;
    CHECK(judge_privileges(ask).ok());
  }
}

TEST_CASE("privileges: capabilities missing and a lockdown are said in one line") {
  PrivilegeAsk ask;
  ask.lockdown = Lockdown::confidentiality;
  ask.syscall_counts = true;
  const std::string e = error(ask);
  INFO(e);
  CHECK(e.rfind("missing CAP_BPF", 0) == 0);
  CHECK(has(e, "+ep /opt/memscope-bpf; the kernel is locked down (confidentiality)"));
  CHECK(e.find('\n') == std::string::npos);
}

TEST_CASE("privileges: capability names") {
  CHECK(capability_name(CAP_BPF) == "CAP_BPF");
  CHECK(capability_name(CAP_PERFMON) == "CAP_PERFMON");
  CHECK(capability_name(CAP_SYS_ADMIN) == "CAP_SYS_ADMIN");
  CHECK(capability_name(CAP_SYS_PTRACE) == "CAP_SYS_PTRACE");
  CHECK(capability_name(CAP_DAC_OVERRIDE) == "CAP_DAC_OVERRIDE");
  CHECK(capability_name(CAP_CHOWN) == "capability 0");
}
