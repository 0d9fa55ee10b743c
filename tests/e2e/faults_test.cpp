// Faults: the agent killed with SIGKILL, in every probe mode. The target
// runs on unaffected and computes what it computes untraced; no program or
// link is left (they go with the agent's descriptors), and the tracefs
// uprobe events --follow-children defines, which outlive a killed agent, are
// removed by the next agent to start, which says so.
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <thread>

#include "e2e/e2e_support.h"

using namespace memscope::test;
using namespace std::chrono_literals;

namespace {

int exit_code(int status) { return status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1; }

// Programs are freed once the last descriptor is closed, after an RCU grace period.
bool none_loaded(const std::vector<uint32_t>& ids) {
  for (int i = 0; i < 50; ++i) {
    if (still_loaded(ids).empty()) return true;
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

}  // namespace

TEST_CASE("faults: an agent killed with SIGKILL in every probe mode harms nothing and leaves nothing",
          "[e2e][faults]") {
  const std::vector<std::string> args{"--profile", "mixed", "--scale", "2000", "--threads", "2"};
  std::vector<std::string> plain{kWorkload};
  plain.insert(plain.end(), args.begin(), args.end());
  const Result untraced = run(plain);
  REQUIRE(untraced.exit_code == 0);

  const std::vector<std::vector<std::string>> modes{
      {"--probe-mode", "session"}, {"--probe-mode", "classic"}, {"--follow-children"}};
  for (const auto& mode : modes) {
    INFO("mode " << mode[0]);
    std::vector<std::string> wl_argv{kWorkload, "--wait-start"};
    wl_argv.insert(wl_argv.end(), args.begin(), args.end());
    Child wl(wl_argv);
    REQUIRE(wl.wait_for("ready", 30s));
    const std::string report = temp_path("report.json");
    std::vector<std::string> agent_argv{kAgent, "-p", std::to_string(wl.pid()), "-o", report, "-v"};
    agent_argv.insert(agent_argv.end(), mode.begin(), mode.end());
    Child agent(agent_argv);
    REQUIRE(agent.wait_for("tracing PID", 30s));
    wl.signal(SIGUSR1);
    std::this_thread::sleep_for(300ms);  // mid-trace
    const auto ids = program_ids(agent.err());
    const auto events = uprobe_events_of(agent.pid());
    const pid_t dead = agent.pid();
    agent.signal(SIGKILL);
    agent.wait(30s);

    const int st = wl.wait(300s);
    CHECK(exit_code(st) == 0);
    CHECK(wl.out() == untraced.out);
    CHECK(!ids.empty());
    CHECK(none_loaded(ids));
    CHECK(access(report.c_str(), F_OK) != 0);  // no report that looks complete
    if (mode[0] != "--follow-children") continue;
    // The inherited probes' events outlive the agent ...
    CHECK(!events.empty());
    CHECK(uprobe_events_of(dead).size() == events.size());
    // ... until the next agent starts.
    const std::string next_report = temp_path("next.json");
    const Result next = run({kAgent, "-o", next_report, "--", kWorkload, "--scale", "10"});
    INFO(next.err);
    CHECK(next.exit_code == 0);
    CHECK(next.err.find("removed " + std::to_string(events.size()) + " uprobe events left by killed agent(s) (PID " +
                        std::to_string(dead)) != std::string::npos);
    CHECK(uprobe_events_of(dead).empty());
    unlink(next_report.c_str());
  }
}

TEST_CASE("faults: a ring buffer too small drops records by kind and the report says which estimates they bias",
          "[e2e][faults]") {
  // 4 KiB holds 128 records: with every call sampled the probes outrun any drain.
  TracedRun run = trace_workload_by_pid({"--profile", "web", "--scale", "3000", "--threads", "2"},
                                        {"--sample-all", "--ringbuf-size", "4096"});
  INFO(run.agent_err);
  const auto& s = run.report["sampling"];
  const uint64_t dropped = s["dropped_events"].get<uint64_t>();
  REQUIRE(dropped > 0);
  const uint64_t allocs = s["dropped_by_kind"]["allocations"], frees = s["dropped_by_kind"]["frees"];
  CHECK(allocs + frees == dropped);
  CHECK(s["estimates_affected_by_drops"]["allocations_low"] == (allocs > 0));
  CHECK(s["estimates_affected_by_drops"]["live_high"] == (frees > 0));
  CHECK(run.agent_err.find("records were dropped (ring buffer full; raise --ringbuf-size)") != std::string::npos);
  // The exact counters are counted in the kernel, not sent: drops leave them exact.
  check_exact(run.report, run.truth);
  // Every record the probes submitted was received: nothing is lost without being counted.
  CHECK(s["records_received"].get<uint64_t>() == s["sampled_events"].get<uint64_t>());
}

TEST_CASE("faults: a target stopped for longer than the control interval then killed mid-trace", "[e2e][faults]") {
  // Stopped: the optimizer sees no work for several of its intervals and
  // must neither fail nor lose a call; the exact counters equal the truth.
  TracedRun stopped;
  {
    const std::string truth = temp_path("truth.json"), report = temp_path("report.json");
    Child wl({kWorkload, "--truth", truth, "--wait-start", "--wait-exit", "--scale", "3000", "--threads", "2"});
    REQUIRE(wl.wait_for("ready", 30s));
    Child agent(
        {kAgent, "-p", std::to_string(wl.pid()), "-o", report, "--max-events", "20000", "--control-interval", "0.2"});
    REQUIRE(agent.wait_for("tracing PID", 30s));
    wl.signal(SIGUSR1);
    std::this_thread::sleep_for(100ms);
    wl.signal(SIGSTOP);
    std::this_thread::sleep_for(1500ms);  // 7 control intervals
    wl.signal(SIGCONT);
    REQUIRE(wl.wait_for("done", 300s));
    agent.signal(SIGINT);
    INFO(agent.err());
    CHECK(exit_code(agent.wait(60s)) == 0);
    check_exact(load_json(report), load_json(truth));
    wl.signal(SIGUSR1);
    CHECK(exit_code(wl.wait(60s)) == 0);
    unlink(report.c_str());
    unlink(truth.c_str());
  }
  // Killed: the trace ends with the target, its report whole.
  const std::string report = temp_path("report.json");
  Child wl({kWorkload, "--wait-start", "--scale", "100000", "--threads", "2"});
  REQUIRE(wl.wait_for("ready", 30s));
  Child agent({kAgent, "-p", std::to_string(wl.pid()), "-o", report});
  REQUIRE(agent.wait_for("tracing PID", 30s));
  wl.signal(SIGUSR1);
  std::this_thread::sleep_for(500ms);
  wl.signal(SIGKILL);
  wl.wait(30s);
  INFO(agent.err());
  CHECK(exit_code(agent.wait(60s)) == 0);
  CHECK(agent.err().find("the target exited") != std::string::npos);
  const auto r = load_json(report);
  CHECK(r["targets"][0]["exited"] == true);
  CHECK(r["exact"]["allocation_calls"].get<uint64_t>() > 0);
  CHECK(!r["sites"].empty());
  unlink(report.c_str());
}
