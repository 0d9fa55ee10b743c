// How a trace ends: SIGTERM, --duration, Ctrl-C, the target exiting; by
// command or by PID. Each ends with a report and nothing attached, and the
// traced program computes exactly what it computes untraced.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "e2e/e2e_support.h"
#include "support/schema_check.h"

using namespace memscope::test;
using namespace std::chrono_literals;

namespace {
int exit_code(int status) { return status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1; }
}  // namespace

TEST_CASE("attach by command: traced from the first allocation with output unchanged", "[e2e][command]") {
  const std::vector<std::string> args{"--profile", "web", "--scale", "300", "--threads", "2"};
  std::vector<std::string> plain{kWorkload};
  plain.insert(plain.end(), args.begin(), args.end());
  Result untraced = run(plain);
  REQUIRE(untraced.exit_code == 0);

  const std::string report = temp_path("report.json"), truth = temp_path("truth.json");
  std::vector<std::string> cmd{kAgent, "--sample-all", "--top", "0", "-o", report};
  for (const auto& a : probe_mode_args()) cmd.push_back(a);
  cmd.insert(cmd.end(), {"--", kWorkload, "--truth", truth});
  cmd.insert(cmd.end(), args.begin(), args.end());
  Result traced = run(cmd);
  INFO(traced.err);
  REQUIRE(traced.exit_code == 0);
  CHECK(traced.out == untraced.out);
  CHECK(traced.err.find("the target exited") != std::string::npos);

  auto r = load_json(report);
  auto t = load_json(truth);
  CHECK(schema_errors(r, kSchema) == "");
  CHECK(r["targets"][0]["exited"] == true);
  // The whole program is traced, start-up included: at least the phase's
  // calls, and every site of the phase exactly.
  for (auto& [api, v] : t["by_api"].items()) {
    std::string as = r["exact"]["by_api"][api].value("counted_as", api);
    CHECK(r["exact"]["by_api"][as]["calls"].get<uint64_t>() >= v["calls"].get<uint64_t>());
  }
  check_sites_exact(r, t);
  CHECK(leak_estimate(r, t["leak"]["function"]).live_bytes == Approx(t["leak"]["live_bytes"].get<double>()));
  CHECK(memscope_programs().empty());
  unlink(report.c_str());
  unlink(truth.c_str());
}

TEST_CASE("attach by PID: the traced workload's output is identical to an untraced run", "[e2e][pid]") {
  const std::vector<std::string> args{"--profile", "mixed", "--scale", "300", "--threads", "2"};
  std::vector<std::string> plain{kWorkload};
  plain.insert(plain.end(), args.begin(), args.end());
  Result untraced = run(plain);
  REQUIRE(untraced.exit_code == 0);
  TracedRun traced = trace_workload_by_pid(args, {"--sample-all"});
  CHECK(traced.workload_out == untraced.out);
  TracedRun sampled = trace_workload_by_pid(args, {});
  CHECK(sampled.workload_out == untraced.out);
}

TEST_CASE("SIGTERM and SIGINT and --duration end with a report and nothing attached", "[e2e][lifecycle]") {
  Child target({kWorkload, "--wait-start"});
  REQUIRE(target.wait_for("ready", 30s));
  for (int how : {SIGTERM, SIGINT, 0}) {
    INFO("ending by " << (how ? strsignal(how) : "--duration"));
    const std::string report = temp_path("report.json");
    std::vector<std::string> argv{kAgent, "-p", std::to_string(target.pid()), "-o", report, "-v", "-i", "0.2"};
    if (!how) argv.insert(argv.end(), {"--duration", "0.5"});
    Child agent(argv);
    REQUIRE(agent.wait_for("tracing PID", 30s));
    REQUIRE(agent.wait_for("allocs", 10s));  // an interval summary line
    if (how) agent.signal(how);
    int st = agent.wait(60s);
    INFO(agent.err());
    CHECK(exit_code(st) == 0);
    auto r = load_json(report);
    CHECK(schema_errors(r, kSchema) == "");
    CHECK(r["targets"][0]["exited"] == false);
    CHECK(leftover_breakpoints(r, target.pid()).empty());
    CHECK(still_loaded(program_ids(agent.err())).empty());
    unlink(report.c_str());
  }
  CHECK(kill(target.pid(), 0) == 0);  // the target lives on
}

TEST_CASE("the target exiting ends the trace with its report", "[e2e][lifecycle]") {
  Child target({kWorkload, "--wait-start", "--scale", "200"});
  REQUIRE(target.wait_for("ready", 30s));
  const std::string report = temp_path("report.json");
  Child agent({kAgent, "-p", std::to_string(target.pid()), "-o", report});
  REQUIRE(agent.wait_for("tracing PID", 30s));
  target.signal(SIGUSR1);
  CHECK(exit_code(target.wait(120s)) == 0);
  CHECK(exit_code(agent.wait(60s)) == 0);
  CHECK(agent.err().find("the target exited") != std::string::npos);
  auto r = load_json(report);
  CHECK(r["targets"][0]["exited"] == true);
  CHECK(r["exact"]["allocation_calls"].get<uint64_t>() > 0);
  // Symbols of an exited process still resolve from the snapshot.
  bool named = false;
  for (const auto& s : r["sites"])
    named = named || s["frames"][0]["function"].get<std::string>().rfind("site_", 0) == 0;
  CHECK(named);
  CHECK(memscope_programs().empty());
  unlink(report.c_str());
}
