// Children that allocate the moment they are forked (--follow-children):
// they carry their parent's probes (inherited perf events), so each child's
// exact counters equal its own ground truth, whichever thread forked it and
// however soon it allocates, and every child computes what it computes
// untraced. The agent leaves no probe, program or tracefs event behind.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "e2e/e2e_support.h"
#include "support/schema_check.h"

using namespace memscope::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

const json* process_entry(const json& report, pid_t pid) {
  for (const auto& p : report["processes"])
    if (p["pid"] == pid) return &p;
  return nullptr;
}

std::vector<std::string> sorted_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) lines.push_back(l);
  std::sort(lines.begin(), lines.end());
  return lines;
}

// What a forked child of the workload did, against its truth: every call
// is a counted one, so its whole exact counters and (every call recorded)
// its sites equal the truth.
void check_child(const json& report, const json& truth) {
  INFO("child " << truth["child"] << " PID " << truth["pid"]);
  const json* p = process_entry(report, truth["pid"].get<pid_t>());
  REQUIRE(p);
  CHECK((*p)["exited"] == true);
  check_exact(*p, truth);
  CHECK((*p)["exact"]["allocation_calls"] == truth["totals"]["alloc_calls"]);
  CHECK((*p)["exact"]["free_calls"] == truth["totals"]["free_calls"]);
  check_sites_exact(*p, truth);
}

uint64_t sum_of_processes(const json& report, const char* key) {
  uint64_t n = 0;
  for (const auto& p : report["processes"]) n += p["exact"][key].get<uint64_t>();
  return n;
}

}  // namespace

TEST_CASE(
    "fork: children that allocate at once forked by the main thread and by threads older than the attach are each "
    "counted exactly",
    "[e2e][follow][fork]") {
  const std::vector<std::string> args{"--profile", "mixed", "--scale", "60", "--threads", "2", "--fork", "5"};
  std::vector<std::string> untraced_argv{kWorkload};
  untraced_argv.insert(untraced_argv.end(), args.begin(), args.end());
  const Result untraced = run(untraced_argv);
  REQUIRE(untraced.exit_code == 0);

  const std::string report = temp_path("report.json"), truth = temp_path("truth.json");
  std::vector<std::string> wl_argv{kWorkload, "--truth", truth, "--wait-start", "--wait-exit"};
  wl_argv.insert(wl_argv.end(), args.begin(), args.end());
  Child wl(wl_argv);
  REQUIRE(wl.wait_for("ready", 30s));
  // Attached after the workers exist: children 1, 2, 4 and 5 are forked by
  // threads that were running before any probe (child k by thread k % 3).
  Child agent(
      {kAgent, "-p", std::to_string(wl.pid()), "--follow-children", "--sample-all", "--top", "0", "-v", "-o", report});
  REQUIRE(agent.wait_for("tracing PID " + std::to_string(wl.pid()), 30s));
  wl.signal(SIGUSR1);
  REQUIRE(wl.wait_for("done", 300s));
  const json r = stop_agent(agent, report);
  INFO(agent.err());
  INFO("process_table_full " << r["sampling"]["process_table_full"] << " process_events_lost "
                             << r["sampling"]["process_events_lost"]);
  CHECK(r["mechanism"] == "uprobe+uretprobe-inherited");

  // The parent: its own calls, exactly, all made after its children exited.
  const json parent_truth = load_json(truth);
  INFO("parent");
  const json* parent = process_entry(r, wl.pid());
  REQUIRE(parent);
  check_exact(*parent, parent_truth);
  for (unsigned k = 0; k < 5; ++k) {
    const std::string path = truth + "." + std::to_string(k);
    check_child(r, load_json(path));
    unlink(path.c_str());
  }
  REQUIRE(r["processes"].size() == 6);
  CHECK(r["exact"]["allocation_calls"] == sum_of_processes(r, "allocation_calls"));
  CHECK(r["exact"]["free_calls"] == sum_of_processes(r, "free_calls"));

  // Safety: nothing left in the parent, no program, no tracefs event; every
  // child (and the parent) computed what it computes untraced.
  CHECK(leftover_breakpoints(r, wl.pid()).empty());
  CHECK(still_loaded(program_ids(agent.err())).empty());
  CHECK(uprobe_events_of(agent.pid()).empty());
  wl.signal(SIGUSR1);
  const int st = wl.wait(60s);
  REQUIRE((st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0));
  CHECK(sorted_lines(wl.out()) == sorted_lines(untraced.out));
  unlink(report.c_str());
  unlink(truth.c_str());
}

TEST_CASE(
    "fork: a command's exec'd children and their forked children not root allocating at once are each counted exactly",
    "[e2e][follow][fork]") {
  const std::string report = temp_path("report.json"), t1 = temp_path("truth1.json"), t2 = temp_path("truth2.json");
  // C profiles: an exec'd program's libstdc++ is probed only once the agent
  // has read the exec, so its first C++ calls would not be counted.
  const std::string a = " --profile web --scale 80 --threads 1 --fork 2",
                    b = " --profile pipeline --scale 40 --threads 2 --fork 1";
  const Result untraced = run({"/bin/sh", "-c", kWorkload + a + " & " + kWorkload + b + " & wait"});
  REQUIRE(untraced.exit_code == 0);
  // Two workloads at once, each forking its children the moment its phase
  // starts (no waiting for the agent), as user nobody: inheriting the probes
  // must not need the target's privileges. They wait after their phase so
  // that the agent reads their mappings (their children's are copies).
  const std::string script =
      kWorkload + " --wait-exit --truth " + t1 + a + " & " + kWorkload + " --wait-exit --truth " + t2 + b + " & wait";
  Child agent({kAgent, "--follow-children", "--sample-all", "--top", "0", "-v", "-o", report, "--", "/usr/bin/setpriv",
               "--reuid=65534", "--regid=65534", "--clear-groups", "/bin/sh", "-c", script});
  std::vector<pid_t> workloads;
  for (const auto& path : {t1, t2}) {
    json truth;
    for (int i = 0; i < 600 && truth.is_null(); ++i) {
      std::this_thread::sleep_for(50ms);
      try {
        truth = load_json(path);
      } catch (const std::exception&) {  // not there yet, or half written
      }
    }
    REQUIRE(!truth.is_null());
    workloads.push_back(truth["pid"].get<pid_t>());
    // Announced once as its shell's copy, then again once its exec is read.
    REQUIRE(agent.wait_for("tracing PID " + std::to_string(workloads.back()) + " (memscope-worklo)", 30s));
  }
  // Its children wrote theirs before it: the agent has registered them too.
  for (const auto& [path, forks] : {std::pair{t1, 2u}, std::pair{t2, 1u}})
    for (unsigned k = 0; k < forks; ++k) {
      const json child = load_json(path + "." + std::to_string(k));
      REQUIRE(agent.wait_for("tracing PID " + std::to_string(child["pid"].get<pid_t>()), 30s));
    }
  // Their phases are over (the truth is written after it): the agent ends
  // while they live, and leaves no breakpoint in them, though their probes
  // were the inherited copies of their shell's.
  const json r = stop_agent(agent, report);
  INFO(agent.err());
  for (pid_t w : workloads) {
    CHECK(leftover_breakpoints(r, w).empty());
    kill(w, SIGUSR1);
  }
  for (const auto& [path, forks] : {std::pair{t1, 2u}, std::pair{t2, 1u}}) {
    // The exec'd workload: traced from its exec, so its counters hold the
    // start-up too; its phase's sites are exact.
    const json truth = load_json(path);
    INFO("workload PID " << truth["pid"]);
    const json* p = process_entry(r, truth["pid"].get<pid_t>());
    REQUIRE(p);
    check_sites_exact(*p, truth);
    CHECK((*p)["exact"]["allocation_calls"].get<uint64_t>() >= truth["totals"]["alloc_calls"].get<uint64_t>());
    for (unsigned k = 0; k < forks; ++k) {
      const std::string child = path + "." + std::to_string(k);
      check_child(r, load_json(child));
      unlink(child.c_str());
    }
  }
  CHECK(r["exact"]["allocation_calls"] == sum_of_processes(r, "allocation_calls"));
  CHECK(still_loaded(program_ids(agent.err())).empty());
  CHECK(uprobe_events_of(agent.pid()).empty());
  // The agent's stdout is the command's: the workloads' and their children's
  // lines, all written before the workloads' "done".
  CHECK(sorted_lines(agent.out()) == sorted_lines(untraced.out));
  for (pid_t w : workloads)
    for (int i = 0; i < 200 && kill(w, 0) == 0; ++i) std::this_thread::sleep_for(50ms);
  for (const auto& f : {report, t1, t2}) unlink(f.c_str());
}

TEST_CASE("fork: a forked shell keeps being counted after the commands it runs have exited", "[e2e][follow][fork]") {
  // The same loop run by the command itself, and by a shell it forks (the
  // "; true" keeps the outer shell from exec'ing the inner one). Each
  // command the loop runs is a child that execs and exits, and dash
  // allocates the same for every iteration: the forked shell's counters
  // must equal those of the shell traced from its exec.
  const std::string loop = "i=0; while [ $i -lt 300 ]; do /bin/true; i=$((i+1)); done";
  auto trace = [](const std::string& script, const std::string& report) {
    Child agent({kAgent, "--follow-children", "--top", "0", "-o", report, "--", "/bin/sh", "-c", script});
    const int st = agent.wait(300s);
    INFO(agent.err());
    REQUIRE((st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0));
    json r = load_json(report);
    CHECK(schema_errors(r, kSchema) == "");
    CHECK(uprobe_events_of(agent.pid()).empty());
    unlink(report.c_str());
    return r;
  };
  const json direct = trace(loop, temp_path("direct.json"));
  const json nested = trace("/bin/sh -c '" + loop + "'; true", temp_path("nested.json"));
  const pid_t root = direct["targets"][0]["pid"], outer = nested["targets"][0]["pid"];
  const json* expected = process_entry(direct, root);
  REQUIRE(expected);
  REQUIRE((*expected)["exact"]["by_api"]["malloc"]["calls"].get<uint64_t>() > 300);
  // The inner shell: the one process of the nested run named sh besides the
  // outer one that made calls.
  const json* inner = nullptr;
  for (const auto& p : nested["processes"])
    if (p["pid"] != outer && p["comm"] == "sh" && p["exact"]["allocation_calls"].get<uint64_t>() > 0) {
      CHECK(inner == nullptr);
      inner = &p;
    }
  REQUIRE(inner);
  // (Their start-ups differ by a realloc: the command's is held before exec.)
  for (const char* api : {"malloc", "free"}) {
    INFO(api);
    CHECK((*inner)["exact"]["by_api"][api]["calls"] == (*expected)["exact"]["by_api"][api]["calls"]);
  }
}

TEST_CASE("fork: a PID taken again by a new process is reported once and says it holds both", "[e2e][follow][fork]") {
  // The kernel hands a PID out again once it wraps at pid_max; here the
  // shell asks for the first workload's PID for the second one
  // (ns_last_pid), retrying while other processes take it first. Every
  // figure is keyed by PID, so the one entry holds both and must say so.
  const std::string report = temp_path("report.json"), t = temp_path("truth");
  const std::string script = "W=" + kWorkload + "; T=" + t +
                             "; $W --profile web --scale 300 --threads 1 --truth $T.a & A=$!; wait $A; n=0; "
                             "while [ $n -lt 100 ]; do echo $((A-1)) > /proc/sys/kernel/ns_last_pid; "
                             "$W --profile game --scale 200 --threads 1 --truth $T.b & B=$!; wait $B; "
                             "[ $B -eq $A ] && exit 0; n=$((n+1)); done; exit 3";
  Child agent({kAgent, "--follow-children", "--top", "0", "-o", report, "--", "/bin/sh", "-c", script});
  const int st = agent.wait(300s);
  INFO(agent.err());
  REQUIRE((st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0));
  const json r = load_json(report), a = load_json(t + ".a"), b = load_json(t + ".b");
  CHECK(schema_errors(r, kSchema) == "");
  const pid_t pid = a["pid"].get<pid_t>();
  REQUIRE(b["pid"].get<pid_t>() == pid);
  size_t entries = 0;
  for (const auto& p : r["processes"]) entries += p["pid"] == pid;
  CHECK(entries == 1);
  const json* p = process_entry(r, pid);
  REQUIRE(p);
  CHECK((*p)["pid_reused"] == 1);
  // Both phases, and no call twice: beyond them only each program's
  // start-up and its shell's calls between fork and exec (30 in all here).
  const uint64_t both = a["totals"]["alloc_calls"].get<uint64_t>() + b["totals"]["alloc_calls"].get<uint64_t>();
  CHECK((*p)["exact"]["allocation_calls"].get<uint64_t>() >= both);
  CHECK((*p)["exact"]["allocation_calls"].get<uint64_t>() <= both + 500);
  // Frees too, and each call trapped once (the new process carries its
  // parent's inherited probes: probed again, it would trap twice).
  const uint64_t frees = a["totals"]["free_calls"].get<uint64_t>() + b["totals"]["free_calls"].get<uint64_t>();
  CHECK((*p)["exact"]["free_calls"].get<uint64_t>() >= frees);
  CHECK((*p)["exact"]["free_calls"].get<uint64_t>() <= frees + 500);
  const uint64_t calls = (*p)["exact"]["allocation_calls"].get<uint64_t>() + (*p)["exact"]["free_calls"].get<uint64_t>();
  // (Besides the counted calls, the linker hook's and other entry points'
  // hits: 2% here. Probed twice, entries would be about twice the calls.)
  CHECK((*p)["probe_hits"]["entries"].get<uint64_t>() <= calls + calls / 4);
  CHECK(agent.err().find("took its PID") != std::string::npos);
  CHECK(uprobe_events_of(agent.pid()).empty());
  for (const auto& f : {report, t + ".a", t + ".b"}) unlink(f.c_str());
}
