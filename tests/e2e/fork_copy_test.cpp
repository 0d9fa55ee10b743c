// A process traced by PID (its children not followed) that forks: the
// child's memory is a copy of the parent's, breakpoints included. A session
// link skips its program in another process and asks the kernel for the
// return probe, never for the breakpoint's removal, so the untraced child
// used to trap twice on every call (2.1-2.4 us per malloc+free pair here,
// against 10 ns untraced and 1.5 us for the traced parent). The agent now
// sweeps the breakpoints out of such copies (BpfObject::sweep_copies): the
// child's memory must read what the library file holds, while the traced
// parent keeps every breakpoint.
#include <signal.h>

#include <cstdio>
#include <cstdlib>

#include <catch2/catch.hpp>
#include <regex>
#include <thread>

#include "attach/uprobe_multi.h"
#include "e2e/e2e_support.h"

using namespace memscope::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// The probes `memscope-bpf -v` lists ("  malloc  /path/libc.so.6+0x98930 ..."),
// as the report's probes[] (what leftover_breakpoints reads).
json probes_listed(const std::string& agent_err) {
  json out = {{"probes", json::array()}};
  const std::regex line(R"(memscope-bpf:\s+(\S+)\s+(/\S+)\+0x([0-9a-f]+)\s+\[)");
  for (std::sregex_iterator it(agent_err.begin(), agent_err.end(), line), end; it != end; ++it)
    out["probes"].push_back({{"symbol", (*it)[1].str()},
                             {"path", (*it)[2].str()},
                             {"offset", std::stoull((*it)[3].str(), nullptr, 16)}});
  return out;
}

}  // namespace

TEST_CASE("fork: a child of a process traced by PID that nobody traces keeps none of its breakpoints",
          "[e2e][fork]") {
  if (!memscope::kernel_has_uprobe_session() || getenv("MEMSCOPE_TEST_PROBE_MODE")) {
    fprintf(stderr, "SKIPPED: session uprobes only (classic probes' filter removes a child's breakpoint itself)\n");
    std::exit(77);
  }
  // dash's subshell is a fork without exec; the shell waits for SIGUSR1
  // until the agent's probes are in.
  Child sh({"/bin/sh", "-c",
            "trap 'go=1' USR1; echo ready; while [ -z \"$go\" ]; do sleep 0.05; done; "
            "( while :; do sleep 0.1; done ) & echo child $!; wait"});
  REQUIRE(sh.wait_for("ready", 10s, true));
  const std::string report = temp_path("report.json");
  Child agent({kAgent, "-p", std::to_string(sh.pid()), "--top", "0", "-v", "-o", report});
  REQUIRE(agent.wait_for("tracing PID " + std::to_string(sh.pid()), 30s));
  const json probes = probes_listed(agent.err());
  INFO(agent.err().substr(0, 3000));
  REQUIRE(probes["probes"].size() >= 5);
  const size_t all = probes["probes"].size();
  CHECK(leftover_breakpoints(probes, sh.pid()).size() == all);  // the traced shell: every probe in

  sh.signal(SIGUSR1);
  REQUIRE(sh.wait_for("child ", 10s, true));
  std::smatch m;
  const std::string out = sh.out();
  REQUIRE(std::regex_search(out, m, std::regex(R"(child (\d+))")));
  const pid_t child = std::stoi(m[1].str());
  // Swept at most 200 ms after the fork is handled; the agent's loop wakes
  // at least once a second.
  std::vector<std::string> left = leftover_breakpoints(probes, child);
  for (int i = 0; i < 50 && !left.empty(); ++i) {
    std::this_thread::sleep_for(100ms);
    left = leftover_breakpoints(probes, child);
  }
  INFO("breakpoints left in the child: " << left.size() << " of " << all);
  CHECK(left.empty());
  CHECK(leftover_breakpoints(probes, sh.pid()).size() == all);  // the parent keeps its own

  const json r = stop_agent(agent, report);
  CHECK(r["mechanism"] == "uprobe-session");
  CHECK(leftover_breakpoints(r, sh.pid()).empty());
  kill(child, SIGKILL);
  sh.signal(SIGKILL);
  unlink(report.c_str());
}
