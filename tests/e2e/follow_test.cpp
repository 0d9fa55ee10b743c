// New processes while tracing runs: children of a traced shell
// (--follow-children), processes started later by name (--comm), a traced
// process that execs a program with another allocator, every process
// (--all). Each process is reported on its own against its own ground truth.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <regex>
#include <thread>

#include "e2e/e2e_support.h"
#include "support/schema_check.h"

using namespace memscope::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

int exit_code(int status) { return status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1; }

// PIDs of the workloads that said "ready <pid>" on `text`.
std::vector<pid_t> ready_pids(const std::string& text) {
  std::vector<pid_t> out;
  static const std::regex ready("ready ([0-9]+)");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), ready); it != std::sregex_iterator(); ++it)
    out.push_back(std::stoi((*it)[1]));
  return out;
}

const json* process_entry(const json& report, pid_t pid) {
  for (const auto& p : report["processes"])
    if (p["pid"] == pid) return &p;
  return nullptr;
}

// Everything the workload counted in its phase is in this process's own
// sites, exactly (every call recorded), and its exact counters hold at least
// the phase (they saw its start-up too, when traced from its start).
void check_phase(const json& p, const json& truth) {
  check_sites_exact(p, truth);
  uint64_t phase_allocs = 0;
  for (auto& [api, t] : truth["by_api"].items())
    if (!frees_blocks(api)) phase_allocs += t["calls"].get<uint64_t>();
  CHECK(p["exact"]["allocation_calls"].get<uint64_t>() >= phase_allocs);
}

}  // namespace

TEST_CASE("follow children: a shell's workload children are found by fork and each traced on its own",
          "[e2e][follow]") {
  const std::string report = temp_path("report.json"), t1 = temp_path("truth1.json"), t2 = temp_path("truth2.json");
  const std::string script =
      kWorkload + " --truth " + t1 + " --wait-start --profile web --scale 200 --threads 2 >/dev/null & " + kWorkload +
      " --truth " + t2 + " --wait-start --profile game --scale 100 --threads 1 >/dev/null & wait";
  std::vector<std::string> argv{kAgent, "--follow-children", "--sample-all", "--top", "0", "-o", report};
  for (const auto& a : probe_mode_args()) argv.push_back(a);
  argv.insert(argv.end(), {"--", "/bin/sh", "-c", script});
  Child agent(argv);
  // The children share the agent's stderr: their "ready" lines are there.
  std::vector<pid_t> kids;
  for (int i = 0; i < 600 && kids.size() < 2; ++i) {
    std::this_thread::sleep_for(50ms);
    kids = ready_pids(agent.err());
  }
  REQUIRE(kids.size() == 2);
  // Announced at their fork as their shell's copies, then once their exec
  // is read and their own allocator (libstdc++ too) probed.
  for (pid_t k : kids) REQUIRE(agent.wait_for("tracing PID " + std::to_string(k) + " (memscope-worklo)", 30s));
  for (pid_t k : kids) kill(k, SIGUSR1);
  const int st = agent.wait(300s);
  INFO(agent.err());
  REQUIRE(exit_code(st) == 0);
  CHECK(agent.err().find("all targets exited") != std::string::npos);
  const json r = load_json(report);
  CHECK(schema_errors(r, kSchema) == "");
  for (const std::string& t : {t1, t2}) {
    const json truth = load_json(t);
    const json* p = process_entry(r, truth["pid"].get<pid_t>());
    REQUIRE(p);
    CHECK((*p)["exited"] == true);
    CHECK((*p)["comm"] == "memscope-worklo");
    check_phase(*p, truth);
  }
  CHECK(memscope_programs().empty());
  for (const auto& f : {report, t1, t2}) unlink(f.c_str());
}

TEST_CASE("comm: a workload started after the agent is traced by name", "[e2e][follow]") {
  const std::string report = temp_path("report.json"), truth_path = temp_path("truth.json");
  std::vector<std::string> argv{kAgent, "--comm", "memscope-workload", "--sample-all", "--top", "0", "-o", report};
  for (const auto& a : probe_mode_args()) argv.push_back(a);
  Child agent(argv);
  REQUIRE(agent.wait_for("following processes named memscope-workload", 30s));
  Child wl({kWorkload, "--truth", truth_path, "--wait-start", "--wait-exit", "--profile", "web", "--scale", "200"});
  REQUIRE(wl.wait_for("ready", 30s));
  REQUIRE(agent.wait_for("tracing PID " + std::to_string(wl.pid()), 30s));
  // Another program, not named so, is left alone.
  Child other({"/bin/sleep", "5"});
  wl.signal(SIGUSR1);
  REQUIRE(wl.wait_for("done", 120s));
  const json r = stop_agent(agent, report);
  REQUIRE(r["processes"].size() == 1);
  const json& p = r["processes"][0];
  CHECK(p["pid"] == wl.pid());
  check_phase(p, load_json(truth_path));
  for (const auto& probe : r["probes"]) CHECK(probe["pid"] == wl.pid());  // filtered to it: nothing else traps
  wl.signal(SIGUSR1);
  REQUIRE(wl.wait(60s) != -1);
  CHECK(memscope_programs().empty());
  unlink(report.c_str());
  unlink(truth_path.c_str());
}

TEST_CASE("exec: a traced shell that execs a workload under jemalloc is probed again in the new program",
          "[e2e][follow]") {
  const std::string jemalloc = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2";
  REQUIRE(access(jemalloc.c_str(), R_OK) == 0);
  const std::string report = temp_path("report.json"), truth_path = temp_path("truth.json");
  // The shell stops itself, so that the agent attaches to the shell first.
  Child sh({"/bin/sh", "-c",
            "kill -STOP $$; export LD_PRELOAD=" + jemalloc + "; exec " + kWorkload + " --truth " + truth_path +
                " --wait-start --wait-exit --profile mixed --scale 100 --threads 1"});
  std::string state;
  for (int i = 0; i < 200 && state.find("State:\tT") == std::string::npos; ++i) {
    std::this_thread::sleep_for(20ms);
    state = slurp("/proc/" + std::to_string(sh.pid()) + "/status");
  }
  REQUIRE(state.find("State:\tT") != std::string::npos);
  std::vector<std::string> argv{kAgent, "-p", std::to_string(sh.pid()), "--sample-all", "--top", "0", "-o", report};
  for (const auto& a : probe_mode_args()) argv.push_back(a);
  Child agent(argv);
  REQUIRE(agent.wait_for("tracing PID " + std::to_string(sh.pid()), 30s));
  sh.signal(SIGCONT);
  REQUIRE(sh.wait_for("ready", 30s));
  REQUIRE(agent.wait_for("(memscope-worklo) through " + jemalloc, 30s));
  sh.signal(SIGUSR1);
  REQUIRE(sh.wait_for("done", 120s));
  const json r = stop_agent(agent, report);
  REQUIRE(r["processes"].size() == 1);
  const json& p = r["processes"][0];
  CHECK(p["exe"] == kWorkload);
  CHECK(p["allocator"] == jemalloc);
  check_phase(p, load_json(truth_path));
  sh.signal(SIGUSR1);
  REQUIRE(sh.wait(60s) != -1);
  CHECK(memscope_programs().empty());
  unlink(report.c_str());
  unlink(truth_path.c_str());
}

TEST_CASE("attach by command: a script is traced through its #! interpreter and the program it execs",
          "[e2e][follow]") {
  const std::string report = temp_path("report.json"), truth = temp_path("truth.json"), script = temp_path("run.sh");
  std::ofstream(script) << "#!/bin/sh\nexec " + kWorkload + " --truth " + truth +
                               " --wait-start --profile web --scale 200 --threads 1\n";
  REQUIRE(chmod(script.c_str(), 0755) == 0);
  std::vector<std::string> argv{kAgent, "--sample-all", "--top", "0", "-o", report};
  for (const auto& a : probe_mode_args()) argv.push_back(a);
  argv.insert(argv.end(), {"--", script});
  Child agent(argv);
  // The shell first (its allocator resolved from /bin/sh), then the
  // workload it execs, probed again; its "ready" comes through the agent's
  // stderr, which it inherits.
  REQUIRE(agent.wait_for("(memscope-worklo) through", 30s));
  REQUIRE(agent.wait_for("ready ", 30s));
  const std::string err = agent.err();
  const pid_t pid = std::stoi(err.substr(err.find("ready ") + 6));
  REQUIRE(kill(pid, SIGUSR1) == 0);
  const int status = agent.wait(120s);
  INFO(agent.err());
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  const json r = load_json(report);
  REQUIRE(r["processes"].size() == 1);
  CHECK(r["processes"][0]["pid"] == pid);
  CHECK(r["processes"][0]["exe"] == kWorkload);
  check_phase(r["processes"][0], load_json(truth));
  CHECK(memscope_programs().empty());
  unlink(report.c_str());
  unlink(truth.c_str());
  unlink(script.c_str());
}

TEST_CASE("all: every process is traced and reported on its own and the agent never traces itself", "[e2e][follow]") {
  const std::string report = temp_path("report.json"), truth_path = temp_path("truth.json");
  Child wl({kWorkload, "--truth", truth_path, "--wait-start", "--wait-exit", "--profile", "web", "--scale", "200"});
  REQUIRE(wl.wait_for("ready", 30s));
  std::vector<std::string> argv{kAgent, "--all", "--top", "0", "-o", report};
  for (const auto& a : probe_mode_args()) argv.push_back(a);
  Child agent(argv);
  REQUIRE(agent.wait_for("--all: probing", 60s));
  wl.signal(SIGUSR1);
  REQUIRE(wl.wait_for("done", 120s));
  const json r = stop_agent(agent, report);
  const json* p = process_entry(r, wl.pid());
  REQUIRE(p);
  check_exact(*p, load_json(truth_path));  // attached before its phase: exact
  CHECK(process_entry(r, agent.pid()) == nullptr);
  uint64_t calls = 0;
  for (const auto& q : r["processes"]) calls += q["exact"]["allocation_calls"].get<uint64_t>();
  CHECK(r["exact"]["allocation_calls"] == calls);
  for (const auto& probe : r["probes"]) CHECK(probe["pid"] == 0);
  wl.signal(SIGUSR1);
  REQUIRE(wl.wait(60s) != -1);
  CHECK(memscope_programs().empty());
  unlink(report.c_str());
  unlink(truth_path.c_str());
}
