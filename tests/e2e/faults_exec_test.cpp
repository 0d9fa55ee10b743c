// Faults: a traced process that execs another program which allocates
// (exec_chain.c: memscope_exec_chain execs memscope_exec_next), traced by
// PID and as a command with --follow-children, in the probe mode and
// placement under test. The agent survives, the programs print what they
// print untraced, every call of each program is counted under its own
// functions (the first program's sites resolve against the mappings it
// had, not the new program's), and the report says what the process ran
// after each exec, also when it became a program that cannot be traced.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <regex>
#include <thread>

#include "e2e/e2e_support.h"
#include "support/schema_check.h"

using namespace memscope::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

constexpr unsigned kBefore = 400, kAfter = 700;  // exec_chain.c's BEFORE_BLOCKS, AFTER_BLOCKS

std::string file_name(const std::string& path) { return path.substr(path.rfind('/') + 1); }

// The PID a program named in its "WORD PID" line on `text`; 0 if none yet.
pid_t said_pid(const std::string& text, const std::string& word) {
  std::smatch m;
  if (!std::regex_search(text, m, std::regex(word + " ([0-9]+)"))) return 0;
  return std::stoi(m[1]);
}

// `blocks` blocks of 32 + 7 i bytes (exec_chain.c), every call recorded,
// under `function` in `program`'s own module, its stack up to the
// program's main. A program that allocates the moment it is exec'd does so
// before the agent has read the exec and loaded its unwind tables: its
// stacks may stop at its own first frame, which the report says.
enum class Stack { whole, whole_or_no_table };
void check_stage(const json& p, const std::string& function, const std::string& program, unsigned blocks, Stack stack) {
  INFO(function);
  const SiteEstimate e = site_estimate(p, function);
  CHECK(e.count == Approx(blocks).margin(1e-6));
  CHECK(e.bytes == Approx(32.0 * blocks + 7.0 * blocks * (blocks - 1) / 2).margin(1e-6));
  for (const auto& s : p["sites"])
    if (!s["frames"].empty() && s["frames"][0]["function"] == function) {
      INFO(s.dump());
      CHECK(s["frames"][0]["module"] == file_name(program));
      bool in_main = false;
      for (const auto& f : s["frames"]) in_main |= f["function"] == "main" && f["module"] == file_name(program);
      if (stack == Stack::whole || s.value("stack_truncated_reason", "") != "no_table") CHECK(in_main);
    }
}

// Every call has its record (nothing lost, nothing counted twice), and
// the program's own sites are exact.
void check_counts(const json& p) {
  double recorded = 0;
  for (const auto& s : p["sites"]) recorded += s["estimated"]["count"].get<double>();
  CHECK(recorded == Approx(p["exact"]["allocation_calls"].get<double>()).margin(1e-6));
  CHECK(p["exact"]["by_api"]["malloc"]["calls"].get<uint64_t>() >= kBefore + kAfter);
  check_stage(p, "before_exec_alloc", EXEC_CHAIN_BIN, kBefore, Stack::whole);
  check_stage(p, "after_exec_alloc", EXEC_NEXT_BIN, kAfter, Stack::whole_or_no_table);
}

}  // namespace

TEST_CASE("faults: a process traced by PID that execs a program which allocates and then one without an allocator",
          "[e2e][faults][exec]") {
  const Result untraced = run({EXEC_CHAIN_BIN, "--now", EXEC_NEXT_BIN, "--now"});
  REQUIRE(untraced.exit_code == 0);
  const std::string report = temp_path("report.json");
  Child chain({EXEC_CHAIN_BIN, EXEC_NEXT_BIN, NO_ALLOCATOR_BIN});
  REQUIRE(chain.wait_for("ready", 30s));
  std::vector<std::string> argv{kAgent, "-p",  std::to_string(chain.pid()), "--sample-all", "--top", "0", "-v",
                                "-o",   report};
  for (const auto& a : probe_mode_args()) argv.push_back(a);
  Child agent(argv);
  REQUIRE(agent.wait_for("tracing PID " + std::to_string(chain.pid()), 30s));
  chain.signal(SIGUSR1);
  REQUIRE(chain.wait_for("done", 60s));
  // The agent has read the exec: the new program announced, same PID.
  REQUIRE(agent.wait_for("tracing PID " + std::to_string(chain.pid()) + " (memscope_exec_n)", 30s));
  // Then a static program with no allocator: said, and tracing goes on.
  chain.signal(SIGUSR1);
  REQUIRE(agent.wait_for("PID " + std::to_string(chain.pid()) + " now runs " + std::string(NO_ALLOCATOR_BIN), 30s));
  const json r = stop_agent(agent, report);
  INFO(agent.err());
  CHECK(chain.out() == untraced.out);
  REQUIRE(r["processes"].size() == 1);
  const json& p = r["processes"][0];
  CHECK(p["pid"] == chain.pid());
  CHECK(p["exited"] == false);
  // What it ran after each exec, and whether that was traced.
  CHECK(p["exe"] == NO_ALLOCATOR_BIN);
  REQUIRE(p["execs"].size() == 2);
  CHECK(p["execs"][0]["exe"] == EXEC_NEXT_BIN);
  CHECK(p["execs"][0]["traced"] == true);
  CHECK(p["execs"][1]["exe"] == NO_ALLOCATOR_BIN);
  CHECK(p["execs"][1]["traced"] == false);
  CHECK(p["execs"][1]["not_traced_because"].get<std::string>().find("no allocator") != std::string::npos);
  CHECK(p["execs"][0]["time_s"].get<double>() <= p["execs"][1]["time_s"].get<double>());
  check_counts(p);
  CHECK(r["sampling"]["dropped_events"] == 0);
  chain.signal(SIGKILL);
  chain.wait(30s);
  CHECK(memscope_programs().empty());
  unlink(report.c_str());
}

TEST_CASE("faults: a command followed with its children that execs a program which allocates", "[e2e][faults][exec]") {
  const Result untraced = run({EXEC_CHAIN_BIN, "--now", EXEC_NEXT_BIN, "--now"});
  REQUIRE(untraced.exit_code == 0);
  const std::string report = temp_path("report.json");
  std::vector<std::string> argv{kAgent, "--follow-children", "--sample-all", "--top", "0", "-v", "-o", report};
  for (const auto& a : probe_mode_args()) argv.push_back(a);
  argv.insert(argv.end(), {"--", EXEC_CHAIN_BIN, EXEC_NEXT_BIN});
  Child agent(argv);
  // The command shares the agent's stderr.
  pid_t pid = 0;
  for (int i = 0; i < 600 && !pid; ++i) {
    std::this_thread::sleep_for(50ms);
    pid = said_pid(agent.err(), "ready");
  }
  REQUIRE(pid > 0);
  // Once the agent has read the command's own start (its unwind tables
  // loaded), so that the first program's stacks are whole.
  REQUIRE(agent.wait_for("PID " + std::to_string(pid) + " runs " + std::string(EXEC_CHAIN_BIN), 30s));
  kill(pid, SIGUSR1);
  REQUIRE(agent.wait_for("done " + std::to_string(pid), 60s));
  REQUIRE(agent.wait_for("tracing PID " + std::to_string(pid) + " (memscope_exec_n)", 30s));
  kill(pid, SIGUSR1);  // exits: the trace ends with it
  const int st = agent.wait(120s);
  INFO(agent.err());
  REQUIRE((st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0));
  CHECK(agent.err().find("the target exited") != std::string::npos);
  CHECK(agent.out() == untraced.out);
  const json r = load_json(report);
  CHECK(schema_errors(r, kSchema) == "");
  CHECK(r["mechanism"] == "uprobe+uretprobe-inherited");
  REQUIRE(r["processes"].size() == 1);
  const json& p = r["processes"][0];
  CHECK(p["pid"] == pid);
  CHECK(p["exited"] == true);
  CHECK(p["exe"] == EXEC_NEXT_BIN);
  REQUIRE(p["execs"].size() == 1);
  CHECK(p["execs"][0]["exe"] == EXEC_NEXT_BIN);
  CHECK(p["execs"][0]["traced"] == true);
  check_counts(p);
  CHECK(r["sampling"]["dropped_events"] == 0);
  CHECK(memscope_programs().empty());
  CHECK(uprobe_events_of(agent.pid()).empty());
  unlink(report.c_str());
}
