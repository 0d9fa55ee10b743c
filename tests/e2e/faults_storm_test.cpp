// Faults: thousands of short-lived children and threads (fork_storm.c:
// 2000 children of 8 blocks each, 2000 threads of 4, 100 blocks in the
// parent), traced by PID and with --follow-children, in the probe mode and
// placement under test. The program prints what it prints untraced; the
// parent's calls (its threads' included) are counted exactly and only
// they, or with --follow-children each child's as its own; a record or a
// process event lost is counted and said; the agent ends promptly and
// leaves nothing attached.
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>

#include "e2e/e2e_support.h"
#include "support/schema_check.h"

using namespace memscope::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// fork_storm.c: block i is 24 + 5 i bytes.
constexpr uint64_t blocks_bytes(uint64_t blocks) { return 24 * blocks + 5 * blocks * (blocks - 1) / 2; }
constexpr uint64_t kChildren = 2000, kThreads = 2000;
constexpr uint64_t kParentCalls = 100 + kThreads * 4;
constexpr uint64_t kParentBytes = blocks_bytes(100) + kThreads * blocks_bytes(4);
constexpr uint64_t kChildCalls = 8, kChildBytes = blocks_bytes(8);

struct StormRun {
  json report;
  pid_t pid = 0;
  std::string agent_err;  // its end: the summary (the whole names every child)
  double stop_s = 0;      // from SIGINT to the agent's exit
  bool same_output = false;
  std::vector<std::string> leftovers;
  std::vector<std::string> events_left;
};

StormRun trace_storm(const std::vector<std::string>& agent_args) {
  const Result untraced = run({FORK_STORM_BIN, "--now"});
  REQUIRE(untraced.exit_code == 0);
  StormRun out;
  const std::string report = temp_path("report.json");
  Child storm({FORK_STORM_BIN});
  REQUIRE(storm.wait_for("ready", 30s));
  out.pid = storm.pid();
  std::vector<std::string> argv{kAgent, "-p",  std::to_string(storm.pid()), "--sample-all", "--top", "0", "-v",
                                "-o",   report};
  argv.insert(argv.end(), agent_args.begin(), agent_args.end());
  for (const auto& a : probe_mode_args()) argv.push_back(a);
  Child agent(argv);
  REQUIRE(agent.wait_for("tracing PID " + std::to_string(storm.pid()), 30s));
  storm.signal(SIGUSR1);
  REQUIRE(storm.wait_for("done", 300s));
  const auto t0 = std::chrono::steady_clock::now();
  out.report = stop_agent(agent, report);
  out.stop_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const std::string err = agent.err();
  out.agent_err = err.substr(err.size() > 8000 ? err.size() - 8000 : 0);
  out.leftovers = leftover_breakpoints(out.report, storm.pid());
  out.events_left = uprobe_events_of(agent.pid());
  storm.signal(SIGUSR1);
  REQUIRE(storm.wait(60s) != -1);
  out.same_output = !untraced.out.empty() && storm.out() == untraced.out;
  unlink(report.c_str());
  return out;
}

const json* process_entry(const json& report, pid_t pid) {
  for (const auto& p : report["processes"])
    if (p["pid"] == pid) return &p;
  return nullptr;
}

// The parent's own calls and its threads', exactly, every one recorded;
// besides them only glibc's own for the new threads (a DTV calloc for each
// new stack, each exiting thread's cache freed through free).
void check_parent(const json& p) {
  INFO("parent");
  CHECK(p["exact"]["by_api"]["malloc"]["calls"] == kParentCalls);
  CHECK(p["exact"]["by_api"]["malloc"]["bytes"] == kParentBytes);
  CHECK(p["exact"]["by_api"]["free"]["calls"].get<uint64_t>() >= kParentCalls);
  CHECK(site_estimate(p, "parent_alloc").count == Approx(100).margin(1e-6));
  CHECK(site_estimate(p, "thread_alloc").count == Approx(kThreads * 4).margin(1e-6));
  CHECK(site_estimate(p, "thread_alloc").bytes == Approx(kThreads * blocks_bytes(4)).margin(1e-6));
  CHECK(site_estimate(p, "child_alloc").sites == 0);  // its children's are theirs
  double recorded = 0;
  for (const auto& s : p["sites"]) recorded += s["estimated"]["count"].get<double>();
  CHECK(recorded == Approx(p["exact"]["allocation_calls"].get<double>()).margin(1e-6));
}

void check_clean(const StormRun& run) {
  INFO(run.agent_err);
  CHECK(run.same_output);
  CHECK(run.report["sampling"]["dropped_events"] == 0);
  CHECK(run.stop_s < 20);  // promptly, whatever it had to follow
  CHECK(run.leftovers.empty());
  CHECK(run.events_left.empty());
  CHECK(memscope_programs().empty());
}

}  // namespace

TEST_CASE("faults: 2000 children and 2000 threads of a process traced by PID", "[e2e][faults][storm]") {
  const StormRun run = trace_storm({});
  INFO(run.agent_err);
  const json& r = run.report;
  CHECK(schema_errors(r, kSchema) == "");
  REQUIRE(r["processes"].size() == 1);
  check_parent(r["processes"][0]);
  check_parent(r);
  CHECK(r["threads"].size() > kThreads);
  check_clean(run);
}

TEST_CASE("faults: 2000 children and 2000 threads of a process traced by PID with its children",
          "[e2e][faults][storm]") {
  const StormRun run = trace_storm({"--follow-children"});
  INFO(run.agent_err);
  const json& r = run.report;
  CHECK(schema_errors(r, kSchema) == "");
  CHECK(r["mechanism"] == "uprobe+uretprobe-inherited");
  const json* parent = process_entry(r, run.pid);
  REQUIRE(parent);
  check_parent(*parent);
  // The probes are the kernel's copies in every child from its first
  // instruction: the totals hold every call, the children's too.
  CHECK(r["exact"]["by_api"]["malloc"]["calls"] == kParentCalls + kChildren * kChildCalls);
  CHECK(r["exact"]["by_api"]["malloc"]["bytes"] == kParentBytes + kChildren * kChildBytes);
  CHECK(site_estimate(r, "child_alloc").count == Approx(kChildren * kChildCalls).margin(1e-6));
  // Each child on its own, every call of it either in its own counters or
  // in its `uncounted` (its entry in the per-process table could not be
  // made in the burst): said, never silent.
  uint64_t children = 0, calls = 0, uncounted = 0, short_children = 0;
  for (const auto& p : r["processes"]) {
    const uint64_t own = p["exact"]["allocation_calls"].get<uint64_t>() + p["exact"]["free_calls"].get<uint64_t>();
    calls += own;
    uncounted += p["uncounted"]["calls"].get<uint64_t>();
    if (p["pid"] == run.pid) continue;
    ++children;
    INFO("child " << p["pid"] << ": " << p["exact"].dump() << " uncounted " << p["uncounted"]);
    CHECK(p["exited"] == true);
    CHECK(own + p["uncounted"]["calls"].get<uint64_t>() == 2 * kChildCalls);
    CHECK(site_estimate(p, "child_alloc").count == Approx(kChildCalls).margin(1e-6));  // records carry the PID
    if (p["uncounted"]["calls"] != 0) {
      ++short_children;
      continue;
    }
    CHECK(p["exact"]["by_api"]["malloc"]["calls"] == kChildCalls);
    CHECK(p["exact"]["by_api"]["malloc"]["bytes"] == kChildBytes);
    CHECK(p["exact"]["by_api"]["free"]["calls"] == kChildCalls);
  }
  const json& s = r["sampling"];
  INFO(children << " children, " << short_children << " short of " << uncounted << " calls; process_events_lost "
                << s["process_events_lost"] << " process_table_full " << s["process_table_full"]);
  // Every call is in some process's counters or its `uncounted`.
  CHECK(r["exact"]["allocation_calls"].get<uint64_t>() + r["exact"]["free_calls"].get<uint64_t>() == calls + uncounted);
  CHECK(s["process_table_full"] == uncounted);
  if (uncounted) CHECK(run.agent_err.find(" were not counted per process") != std::string::npos);
  CHECK(parent->at("uncounted")["calls"] == 0);  // its counters were made before its probes
  // A child the agent never heard of (its fork event lost) is still listed
  // from its counters; a lost event is said.
  CHECK(children == kChildren);
  if (s["process_events_lost"] != 0) CHECK(run.agent_err.find("process events were lost") != std::string::npos);
  check_clean(run);
}
