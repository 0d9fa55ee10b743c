// Several processes at once: each one's own exact counts, sites and leaks in
// processes[], checked against its own ground truth.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <map>

#include "e2e/e2e_support.h"
#include "support/schema_check.h"

using namespace memscope::test;
using nlohmann::json;
using namespace std::chrono_literals;

TEST_CASE("two PIDs: per-process exact counts and sites and leak equal each one's ground truth", "[e2e][processes]") {
  // A third PID, of a process already gone, is named in a warning; the
  // other two are traced.
  Child gone({"/bin/true"});
  REQUIRE(gone.wait(30s) != -1);
  const std::string vanished = std::to_string(gone.pid());
  MultiRun run = trace_workloads_by_pid({{"--profile", "web", "--scale", "400", "--threads", "2"},
                                         {"--profile", "game", "--scale", "200", "--threads", "1", "--seed", "7"}},
                                        {"--sample-all", "-p", vanished});
  CHECK(run.agent_err.find("warning: no process with PID " + vanished + "; not traced") != std::string::npos);
  const json& r = run.report;
  CHECK(schema_errors(r, kSchema) == "");
  REQUIRE(r["processes"].size() == 2);
  uint64_t calls = 0;
  for (size_t i = 0; i < 2; ++i) {
    const json& p = r["processes"][i];
    const json& truth = run.truths[i];
    INFO("process " << i << " PID " << run.pids[i]);
    CHECK(p["pid"] == run.pids[i]);
    CHECK(p["pid"] == truth["pid"]);
    check_exact(p, truth);
    check_sites_exact(p, truth);  // every call, and only this process's, in its own sites
    for (const auto& s : p["sites"]) CHECK(s["pid"] == run.pids[i]);
    CHECK(leak_estimate(p, truth["leak"]["function"]).live_bytes == Approx(truth["leak"]["live_bytes"].get<double>()));
    // Each call traps at least once, at its entry.
    const uint64_t own = p["exact"]["allocation_calls"].get<uint64_t>() + p["exact"]["free_calls"].get<uint64_t>();
    CHECK(p["probe_hits"]["total"].get<uint64_t>() >= own);
    CHECK(p["probe_hits"]["total"] ==
          p["probe_hits"]["entries"].get<uint64_t>() + p["probe_hits"]["returns"].get<uint64_t>());
    REQUIRE(p["added_time_s"].is_number());
    CHECK(p["added_time_s"].get<double>() == Approx(p["probe_hits"]["total"].get<double>() *
                                                    r["sampling"]["adaptive"]["hit_cost_ns"].get<double>() / 1e9));
    calls += p["exact"]["allocation_calls"].get<uint64_t>();
  }
  // The whole report is the sum of its processes.
  CHECK(r["exact"]["allocation_calls"] == calls);
  CHECK(r["processes"][0]["exact"]["allocation_calls"] != r["processes"][1]["exact"]["allocation_calls"]);
  CHECK(run.programs_left.empty());
  // With session probes each process's free has a site of its own (the
  // kernel runs every process's link on every hit of a shared site, and
  // another's link asks for the return probe): both exact above anyway.
  if (r["mechanism"] == "uprobe-session") {
    std::map<pid_t, uint64_t> free_at;
    for (const auto& pr : r["probes"])
      if (pr["symbol"] == "free") free_at[pr["pid"].get<pid_t>()] = pr["offset"].get<uint64_t>();
    REQUIRE(free_at.size() == 2);
    CHECK(free_at.begin()->second != free_at.rbegin()->second);
  }
}

TEST_CASE("a process that exits mid-trace keeps its data and its symbols even with its binary deleted",
          "[e2e][processes]") {
  // A copy of the workload, deleted while it runs: once it has exited its
  // sites can only resolve from what the agent kept while it lived.
  const std::string copy = temp_path("memscope-workload-copy"), report = temp_path("report.json");
  const std::string t1 = temp_path("truth1.json"), t2 = temp_path("truth2.json");
  REQUIRE(run({"/bin/cp", kWorkload, copy}).exit_code == 0);
  Child leaving({copy, "--truth", t1, "--wait-start", "--profile", "web", "--scale", "200", "--threads", "2"});
  Child staying({kWorkload, "--truth", t2, "--wait-start", "--wait-exit", "--profile", "game", "--scale", "100"});
  REQUIRE(leaving.wait_for("ready", 30s));
  REQUIRE(staying.wait_for("ready", 30s));
  std::vector<std::string> argv{
      kAgent, "-p",  std::to_string(leaving.pid()), "-p", std::to_string(staying.pid()), "--sample-all", "--top", "0",
      "-o",   report};
  for (const auto& a : probe_mode_args()) argv.push_back(a);
  Child agent(argv);
  REQUIRE(agent.wait_for("tracing PID " + std::to_string(staying.pid()), 30s));
  REQUIRE(unlink(copy.c_str()) == 0);
  leaving.signal(SIGUSR1);
  staying.signal(SIGUSR1);
  REQUIRE(leaving.wait(120s) != -1);
  REQUIRE(staying.wait_for("done", 120s));
  const json r = stop_agent(agent, report);
  REQUIRE(r["processes"].size() == 2);
  const json& gone = r["processes"][0];
  CHECK(gone["pid"] == leaving.pid());
  CHECK(gone["exited"] == true);
  CHECK(r["processes"][1]["exited"] == false);
  const json truth = load_json(t1);
  // Every allocation of the phase, and nothing else: the process allocates
  // nothing after it. Its frees include those of its threads' exit.
  uint64_t calls = 0, bytes = 0;
  for (auto& [api, t] : truth["by_api"].items())
    if (!frees_blocks(api)) {
      calls += t["calls"].get<uint64_t>();
      bytes += t["bytes"].get<uint64_t>();
    }
  CHECK(gone["exact"]["allocation_calls"] == calls);
  CHECK(gone["exact"]["allocation_bytes"] == bytes);
  CHECK(gone["exact"]["free_calls"].get<uint64_t>() >= truth["by_api"]["free"]["calls"].get<uint64_t>());
  check_sites_exact(gone, truth);  // found by function name: its symbols were kept
  check_exact(r["processes"][1], load_json(t2));
  staying.signal(SIGUSR1);
  REQUIRE(staying.wait(60s) != -1);
  for (const auto& f : {report, t1, t2}) unlink(f.c_str());
}

TEST_CASE("threads by the thousand: 1000 short-lived threads allocate and every call is counted", "[e2e][processes]") {
  TracedRun run = trace_workload_by_pid({"--profile", "web", "--scale", "1000", "--threads", "2", "--churn", "1000"},
                                        {"--sample-all"});
  const json& r = run.report;
  const json& truth = run.truth;
  CHECK(schema_errors(r, kSchema) == "");
  CHECK(r["sampling"]["dropped_events"] == 0);
  // Every allocation call has its record: the counters and the records agree.
  double recorded = 0, glibc_own = 0;
  for (const auto& s : r["sites"]) {
    recorded += s["estimated"]["count"].get<double>();
    if (s["frames"].empty() || s["frames"][0]["function"].get<std::string>().rfind("site_", 0) != 0)
      glibc_own += s["estimated"]["count"].get<double>();
  }
  CHECK(recorded == Approx(r["exact"]["allocation_calls"].get<double>()).margin(1e-6));
  // The workload's own calls exactly; besides them only glibc's own for the
  // new threads (a DTV calloc for each new stack; each exiting thread frees
  // its cache through free).
  for (auto& [api, t] : truth["by_api"].items()) {
    INFO(api);
    const uint64_t got = r["exact"]["by_api"][api]["calls"];
    if (api == "free") CHECK(got >= t["calls"].get<uint64_t>());
    else if (api == "calloc") CHECK(got == t["calls"].get<uint64_t>() + static_cast<uint64_t>(glibc_own));
    else CHECK(got == t["calls"].get<uint64_t>());
  }
  check_sites_exact(r, truth);
  CHECK(r["threads"].size() > 1000);  // every thread's calls, by thread
  CHECK(run.leftovers.empty());
  CHECK(run.programs_left.empty());
}
