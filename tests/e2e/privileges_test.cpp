// Without root: the agent run by user nobody holding chosen capabilities
// (setpriv, ambient). Refused, it names each capability missing in one line
// and loads nothing; given what its mode needs, it traces exactly as root
// does (what each mode needs, measured: docs/safety.md#privileges).
#include <linux/magic.h>
#include <signal.h>
#include <sys/statfs.h>
#include <sys/wait.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <regex>
#include <thread>

#include "attach/uprobe_multi.h"
#include "e2e/e2e_support.h"
#include "support/schema_check.h"

using namespace memscope::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// `argv` run as user and group nobody with only `caps` ("+bpf,+perfmon";
// "" for none at all, the bounding set emptied too).
std::vector<std::string> as_nobody(const std::string& caps, const std::vector<std::string>& argv) {
  std::vector<std::string> out{"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"};
  if (caps.empty()) out.insert(out.end(), {"--inh-caps=-all", "--bounding-set=-all"});
  else out.insert(out.end(), {"--inh-caps=-all," + caps, "--ambient-caps=" + caps});
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// One line naming what is missing, exit 1, nothing on stdout, no program
// left loaded; returns the line.
std::string expect_refusal(const Result& r) {
  INFO("stderr: " << r.err);
  CHECK(r.exit_code == 1);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK(r.err.rfind("memscope-bpf: error: missing ", 0) == 0);
  CHECK(r.out.empty());
  CHECK(memscope_programs().empty());
  return r.err;
}

int exit_code(int status) { return status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1; }

// The workload run by `owner` (as_nobody with no capabilities, or root:
// empty), traced by PID by the agent run as nobody with `caps`: exact
// counts, nothing left in the process or the kernel.
void trace_exactly(bool nobody_target, const std::string& caps) {
  const std::string truth = temp_path("truth.json"), report = temp_path("report.json");
  const std::vector<std::string> wl_argv{kWorkload, "--truth", truth, "--wait-start", "--wait-exit", "--scale", "200"};
  Child wl(nobody_target ? as_nobody("", wl_argv) : wl_argv);
  REQUIRE(wl.wait_for("ready", 30s));
  Child agent(as_nobody(caps, {kAgent, "-p", std::to_string(wl.pid()), "-o", report, "--top", "0", "-v"}));
  REQUIRE(agent.wait_for("tracing PID", 30s));
  wl.signal(SIGUSR1);
  REQUIRE(wl.wait_for("done", 120s));
  agent.signal(SIGINT);
  const int st = agent.wait(120s);
  INFO(agent.err());
  REQUIRE(exit_code(st) == 0);
  const json r = load_json(report), t = load_json(truth);
  CHECK(schema_errors(r, kSchema) == "");
  check_exact(r, t);
  CHECK(leftover_breakpoints(r, wl.pid()).empty());
  CHECK(still_loaded(program_ids(agent.err())).empty());
  // The dynamic linker's hook is a uprobe-multi link where session probes
  // load: CAP_BPF and CAP_PERFMON attach it, and dlopen is followed. (Root's
  // process hides its auxv, where the hook is found, so there it is not
  // tried.)
  if (nobody_target && r["mechanism"] == "uprobe-session")
    CHECK_FALSE(has(agent.err(), "allocators it loads later are not probed"));
  wl.signal(SIGUSR1);
  CHECK(wl.wait(60s) != -1);
  unlink(truth.c_str());
  unlink(report.c_str());
}

// Session probes (6.13+) take CAP_BPF and CAP_PERFMON; the kernel keeps
// classic perf uprobes to CAP_SYS_ADMIN.
std::string tracing_caps() { return memscope::kernel_has_uprobe_session() ? "+bpf,+perfmon" : "+sys_admin"; }

}  // namespace

TEST_CASE("privileges: without capabilities the agent names CAP_BPF and CAP_PERFMON and loads nothing",
          "[e2e][privileges]") {
  Child mine(as_nobody("", {kWorkload, "--wait-start"}));
  REQUIRE(mine.wait_for("ready", 30s));
  std::string e = expect_refusal(run(as_nobody("", {kAgent, "-p", std::to_string(mine.pid())})));
  CHECK(has(e, "missing CAP_BPF (load the BPF programs and create their maps) and CAP_PERFMON (load tracing "
               "programs and attach uprobes)"));
  CHECK(has(e, "CAP_SYS_ADMIN would stand for both CAP_BPF and CAP_PERFMON"));
  CHECK(has(e, "setcap cap_bpf,cap_perfmon+ep " + kAgent));
  CHECK_FALSE(has(e, "CAP_SYS_PTRACE"));  // its own process

  // A process of root's: reading it takes CAP_SYS_PTRACE as well.
  Child roots({kWorkload, "--wait-start"});
  REQUIRE(roots.wait_for("ready", 30s));
  e = expect_refusal(run(as_nobody("", {kAgent, "-p", std::to_string(roots.pid())})));
  CHECK(has(e, "CAP_SYS_PTRACE (read PID " + std::to_string(roots.pid()) +
                   "'s maps and files: it belongs to another user)"));
  CHECK(has(e, "setcap cap_bpf,cap_perfmon,cap_sys_ptrace+ep"));
}

TEST_CASE("privileges: with CAP_BPF alone the agent names CAP_PERFMON and not CAP_BPF", "[e2e][privileges]") {
  Child mine(as_nobody("", {kWorkload, "--wait-start"}));
  REQUIRE(mine.wait_for("ready", 30s));
  const std::string e = expect_refusal(run(as_nobody("+bpf", {kAgent, "-p", std::to_string(mine.pid())})));
  CHECK(has(e, "missing CAP_PERFMON (load tracing programs and attach uprobes);"));
  CHECK_FALSE(has(e, "CAP_BPF"));
  // The command is never started: the check comes first.
  const std::string marker = temp_path("started");
  expect_refusal(run(as_nobody("+bpf", {kAgent, "--", "/usr/bin/touch", marker})));
  CHECK(access(marker.c_str(), F_OK) != 0);
}

TEST_CASE("privileges: with CAP_BPF and CAP_PERFMON a process of the same user is traced exactly without root",
          "[e2e][privileges]") {
  trace_exactly(true, tracing_caps());
}

TEST_CASE("privileges: with CAP_BPF and CAP_PERFMON an allocator the process dlopens is found and probed",
          "[e2e][privileges]") {
  // Where session probes load, the dynamic linker's hook is a uprobe-multi
  // link: no CAP_SYS_ADMIN, which a perf uprobe would take.
  if (!memscope::kernel_has_uprobe_session()) {
    fprintf(stderr, "SKIPPED: no session uprobes here: the hook is a perf uprobe, which takes CAP_SYS_ADMIN\n");
    std::exit(77);
  }
  const std::string lib = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2", report = temp_path("report.json");
  const unsigned calls = 300;
  Child wl(as_nobody("", {"/usr/bin/env", "GLIBC_TUNABLES=glibc.rtld.optional_static_tls=16384", kWorkload,
                          "--wait-start", "--wait-exit", "--scale", "100", "--threads", "1", "--dlopen", lib,
                          "--dlopen-wait", "100", "--dlopen-calls", std::to_string(calls), "--dlopen-calls-wait",
                          "signal"}));
  REQUIRE(wl.wait_for("ready", 30s));
  Child agent(as_nobody("+bpf,+perfmon", {kAgent, "-p", std::to_string(wl.pid()), "-o", report, "--top", "0", "-v",
                                           "--sample-all"}));
  REQUIRE(agent.wait_for("tracing PID", 30s));
  wl.signal(SIGUSR1);
  REQUIRE(wl.wait_for("dlopened", 30s));
  REQUIRE(agent.wait_for("loaded " + lib, 30s));
  wl.signal(SIGUSR1);
  REQUIRE(wl.wait_for("done", 120s));
  const json r = stop_agent(agent, report);
  REQUIRE(r["processes"][0]["extra_allocators"].size() == 1);
  CHECK(r["processes"][0]["extra_allocators"][0]["path"] == lib);
  // Every call through the library's own malloc, and every block's free.
  double count = 0, live = 0;
  for (const auto& site : r["sites"])
    if (!site["frames"].empty() && site["frames"][0]["function"] == "site_loaded_block") {
      count += site["estimated"]["count"].get<double>();
      live += site["estimated"]["live_count"].get<double>();
    }
  CHECK(count == calls);
  CHECK(live == 0);
  CHECK(leftover_breakpoints(r, wl.pid()).empty());
  CHECK(still_loaded(program_ids(agent.err())).empty());
  wl.signal(SIGUSR1);
  CHECK(wl.wait(60s) != -1);
  unlink(report.c_str());
}

TEST_CASE("privileges: a command started without root holds none of the agent's capabilities",
          "[e2e][privileges]") {
  // Ambient capabilities would pass through exec: the agent clears them.
  const std::string report = temp_path("report.json");
  const Result r = run(as_nobody(tracing_caps() + ",+sys_ptrace",
                                 {kAgent, "-o", report, "--", "/bin/grep", "-E", "^Cap(Prm|Eff|Amb)", "/proc/self/status"}));
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out == "CapPrm:\t0000000000000000\nCapEff:\t0000000000000000\nCapAmb:\t0000000000000000\n");
  CHECK(load_json(report)["exact"]["by_api"]["malloc"]["calls"].get<uint64_t>() > 0);  // traced all the same
  CHECK(memscope_programs().empty());
  unlink(report.c_str());
}

TEST_CASE("privileges: a process of another user takes CAP_SYS_PTRACE and is traced exactly with it",
          "[e2e][privileges]") {
  Child roots({kWorkload, "--wait-start"});
  REQUIRE(roots.wait_for("ready", 30s));
  const std::string e = expect_refusal(run(as_nobody(tracing_caps(), {kAgent, "-p", std::to_string(roots.pid())})));
  CHECK(has(e, "missing CAP_SYS_PTRACE ("));
  CHECK_FALSE(has(e, "CAP_BPF ("));
  CHECK_FALSE(has(e, "CAP_PERFMON ("));
  trace_exactly(false, tracing_caps() + ",+sys_ptrace");
}

TEST_CASE("privileges: --follow-children without root takes tracefs's uprobe_events and follows exactly with it",
          "[e2e][privileges]") {
  // Mounted, tracefs's files are root's to write; mounted nowhere, the
  // agent mounts it for itself, which takes CAP_SYS_ADMIN.
  struct statfs fs {};
  const bool mounted = statfs("/sys/kernel/tracing", &fs) == 0 && fs.f_type == TRACEFS_MAGIC;
  const std::string report = temp_path("report.json"), truth = temp_path("truth.json");
  const std::string script = kWorkload + " --truth " + truth + " --wait-start --scale 200 >/dev/null";
  const std::vector<std::string> argv{kAgent, "--follow-children", "--sample-all", "--top", "0", "-o",
                                      report, "--",         "/bin/sh", "-c",   script};
  std::string e = expect_refusal(run(as_nobody("+bpf,+perfmon", argv)));
  CHECK(has(e, "CAP_DAC_OVERRIDE (write tracefs's uprobe_events, owned by root, for --follow-children)"));
  CHECK(has(e, "CAP_SYS_ADMIN (mount tracefs") == !mounted);

  Child agent(as_nobody(mounted ? "+bpf,+perfmon,+dac_override" : "+sys_admin,+dac_override", argv));
  pid_t kid = 0;
  static const std::regex ready("ready ([0-9]+)");
  for (int i = 0; i < 600 && !kid; ++i) {
    std::this_thread::sleep_for(50ms);
    std::smatch m;
    const std::string err = agent.err();
    if (std::regex_search(err, m, ready)) kid = std::stoi(m[1]);
  }
  INFO(agent.err());
  REQUIRE(kid > 0);
  REQUIRE(agent.wait_for("tracing PID " + std::to_string(kid) + " (memscope-worklo)", 30s));
  kill(kid, SIGUSR1);
  REQUIRE(exit_code(agent.wait(300s)) == 0);
  const json r = load_json(report), t = load_json(truth);
  const auto p = std::find_if(r["processes"].begin(), r["processes"].end(), [&](const json& x) { return x["pid"] == kid; });
  REQUIRE(p != r["processes"].end());
  check_sites_exact(*p, t);
  CHECK(memscope_programs().empty());
  CHECK(uprobe_events_of(agent.pid()).empty());
  unlink(report.c_str());
  unlink(truth.c_str());
}
