// A long system-wide trace sees processes come and go: the kernel's
// per-process tables must hold the processes alive, not every one that ever
// ran, and nothing a process counted may be lost when its entries go.
#include <bpf/bpf.h>
#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "e2e/e2e_support.h"
#include "memscope/processes.h"
#include "memscope/vm_counts.h"

using namespace memscope::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// Entries of `pids` in the agent's per-process hash maps (proc_counts,
// proc_hits, and with --syscall-counts vm_procs and vm_regions), found
// through the map ids its descriptors hold; `only`: in that map alone.
size_t entries_of(pid_t agent, const std::set<uint32_t>& pids, const std::string& only = "") {
  size_t found = 0;
  const std::string fdinfo = "/proc/" + std::to_string(agent) + "/fdinfo";
  DIR* dir = opendir(fdinfo.c_str());
  if (!dir) return 0;
  std::set<uint32_t> seen;
  while (dirent* d = readdir(dir)) {
    std::istringstream info(slurp(fdinfo + "/" + d->d_name));
    std::string line;
    uint32_t id = 0;
    while (std::getline(info, line))
      if (line.rfind("map_id:", 0) == 0) id = static_cast<uint32_t>(std::stoul(line.substr(7)));
    if (!id || !seen.insert(id).second) continue;
    int fd = bpf_map_get_fd_by_id(id);
    if (fd < 0) continue;
    bpf_map_info m{};
    uint32_t len = sizeof m;
    if (bpf_obj_get_info_by_fd(fd, &m, &len) == 0) {
      const std::string name = m.name;
      if (!only.empty() && name != only) {
      } else if (name == "proc_counts") {
        ms_proc_key key{}, next{};
        const ms_proc_key* prev = nullptr;
        while (bpf_map_get_next_key(fd, prev, &next) == 0) {
          key = next;
          prev = &key;
          found += pids.count(key.tgid);
        }
      } else if (name == "vm_regions") {
        ms_vm_region_key key{}, next{};
        const ms_vm_region_key* prev = nullptr;
        while (bpf_map_get_next_key(fd, prev, &next) == 0) {
          key = next;
          prev = &key;
          found += pids.count(key.tgid);
        }
      } else if (name == "proc_hits" || name == "vm_procs") {
        uint32_t key = 0, next = 0;
        const uint32_t* prev = nullptr;
        while (bpf_map_get_next_key(fd, prev, &next) == 0) {
          key = next;
          prev = &key;
          found += pids.count(key);
        }
      }
    }
    close(fd);
  }
  closedir(dir);
  return found;
}

}  // namespace

TEST_CASE("all: the per-process tables let go of exited processes and keep their counts", "[e2e][follow]") {
  const std::string report = temp_path("report.json");
  std::vector<std::string> argv{kAgent, "--all", "--top", "0", "-o", report};
  for (const auto& a : probe_mode_args()) argv.push_back(a);
  Child agent(argv);
  REQUIRE(agent.wait_for("--all: probing", 60s));
  // Short-lived processes, one after another, each allocating (ls sorts
  // its listing in malloc'd memory).
  Result shell = run({"/bin/sh", "-c", "for i in $(seq 40); do /bin/ls / >/dev/null & echo $!; wait; done"});
  REQUIRE(shell.exit_code == 0);
  std::set<uint32_t> pids;
  std::istringstream lines(shell.out);
  for (std::string l; std::getline(lines, l);)
    if (!l.empty()) pids.insert(static_cast<uint32_t>(std::stoul(l)));
  REQUIRE(pids.size() == 40);
  // Each one's entries go once the agent has read its exit.
  size_t left = 0;
  for (int i = 0; i < 200; ++i) {
    left = entries_of(agent.pid(), pids);
    if (left == 0) break;
    std::this_thread::sleep_for(50ms);
  }
  CHECK(left == 0);
  const json r = stop_agent(agent, report);
  // Their counts stayed in the report, and the report is still the sum of
  // its processes.
  uint64_t calls = 0;
  size_t reported = 0;
  for (const auto& p : r["processes"]) {
    calls += p["exact"]["allocation_calls"].get<uint64_t>();
    if (!pids.count(p["pid"].get<uint32_t>())) continue;
    ++reported;
    INFO("PID " << p["pid"]);
    CHECK(p["exited"] == true);
    CHECK(p["exact"]["allocation_calls"].get<uint64_t>() > 0);
    CHECK(p["probe_hits"]["total"].get<uint64_t>() >= p["exact"]["allocation_calls"].get<uint64_t>());
    CHECK(p["uncounted"]["calls"] == 0);
  }
  CHECK(reported == pids.size());
  CHECK(r["sampling"]["processes_not_counted"] == 0);
  CHECK(r["exact"]["allocation_calls"].get<uint64_t>() == calls + r["sampling"]["process_table_full"].get<uint64_t>());
  CHECK(memscope_programs().empty());
  unlink(report.c_str());
}

TEST_CASE("all: the memory counters of exited processes are taken out too", "[e2e][follow]") {
  const std::string report = temp_path("report.json");
  std::vector<std::string> argv{kAgent, "--all", "--syscall-counts", "--top", "0", "-o", report};
  for (const auto& a : probe_mode_args()) argv.push_back(a);
  Child agent(argv);
  REQUIRE(agent.wait_for("--all: probing", 60s));
  // Workloads that map memory in their phase (blocks glibc maps and unmaps,
  // and the stacks of new threads, --churn, which stay mapped until exit),
  // each let start once the agent counts its memory syscalls (its vm_procs
  // entry exists): how soon the agent reads an exec under --all depends on
  // the host, not on what this test checks.
  std::set<uint32_t> pids;
  for (int k = 0; k < 5; ++k) {
    Child w({kWorkload, "--wait-start", "--scale", "40", "--threads", "1", "--churn", "4", "--large-blocks", "2"});
    const std::set<uint32_t> one{static_cast<uint32_t>(w.pid())};
    for (int i = 0; i < 600 && entries_of(agent.pid(), one, "vm_procs") == 0; ++i) std::this_thread::sleep_for(50ms);
    REQUIRE(entries_of(agent.pid(), one, "vm_procs") == 1);
    w.signal(SIGUSR1);
    const int st = w.wait(60s);
    REQUIRE((st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0));
    pids.insert(one.begin(), one.end());
  }
  size_t left = 0;
  for (int i = 0; i < 200; ++i) {
    left = entries_of(agent.pid(), pids);
    if (left == 0) break;
    std::this_thread::sleep_for(50ms);
  }
  CHECK(left == 0);
  const json r = stop_agent(agent, report);
  // Their counters were read before they went.
  uint64_t mmaps = 0;
  for (const auto& p : r["processes"])
    if (pids.count(p["pid"].get<uint32_t>()) && p["memory"].contains("exact"))
      mmaps += p["memory"]["exact"]["mmap_anon"]["calls"].get<uint64_t>();
  CHECK(mmaps > 0);
  CHECK(memscope_programs().empty());
  unlink(report.c_str());
}
