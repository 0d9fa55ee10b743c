// Memory beyond malloc: the workload's large blocks are served by glibc
// with one anonymous mmap each and its 64 KiB blocks grow and shrink the
// break; the report's syscall counters and timeline must show exactly that.
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <thread>

#include "e2e/e2e_support.h"
#include "support/schema_check.h"
#include "targets/process_memory.h"

using namespace memscope::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {
uint64_t site_bytes(const json& truth, const std::string& function) {
  for (const auto& s : truth["sites"])
    if (s["function"] == function) return s["bytes"];
  return 0;
}
}  // namespace

TEST_CASE("memory beyond malloc: anonymous mmaps and munmaps and brk and the RSS timeline", "[e2e][memory]") {
  const unsigned blocks = 8;
  TracedRun run = trace_workload_by_pid(
      {"--profile", "web", "--scale", "300", "--threads", "2", "--large-blocks", std::to_string(blocks)},
      {"-i", "0.2", "--syscall-counts"});
  const json& r = run.report;
  const json& t = run.truth;
  INFO(run.agent_err);
  CHECK(schema_errors(r, kSchema) == "");
  check_exact(r, t);
  REQUIRE(r["targets"][0].contains("memory"));
  const json& m = r["targets"][0]["memory"];
  const json& ex = m["exact"];
  CHECK(r["processes"][0]["memory"]["exact"] == ex);  // the process's own entry carries the same section

  // One mmap and one munmap per large block, and no others: the web
  // profile's blocks are far below glibc's mmap threshold, and its arenas
  // and thread stacks were made before tracing began. Each mapping is the
  // block plus glibc's header, rounded up to pages.
  const uint64_t mapped = site_bytes(t, "site_large_mapped_block");
  CHECK(mapped > 0);
  CHECK(ex["mmap_anon"]["calls"] == blocks);
  CHECK(ex["munmap_anon"]["calls"] == blocks);
  CHECK(ex["mmap_anon"]["bytes"].get<uint64_t>() > mapped);
  CHECK(ex["mmap_anon"]["bytes"].get<uint64_t>() <= mapped + blocks * 4096);
  CHECK(ex["munmap_anon"]["bytes"] == ex["mmap_anon"]["bytes"]);
  CHECK(ex["untracked_mmaps"] == 0);

  // The heap blocks grow the break by at least their bytes, and their
  // frees move it back; the counters add up to how far sbrk(0) moved.
  const uint64_t grow = ex["brk"]["grow_bytes"], shrink = ex["brk"]["shrink_bytes"];
  CHECK(ex["brk"]["calls"].get<uint64_t>() >= 2);
  CHECK(grow >= site_bytes(t, "site_large_heap_block"));
  CHECK(shrink > 0);
  CHECK(grow - shrink == t["brk_end"].get<uint64_t>() - t["brk_start"].get<uint64_t>());

  // The timeline: from before the phase to after it, in time order, with
  // the process resident and the break where sbrk(0) says it is.
  const json& tl = m["timeline"];
  REQUIRE(tl.size() >= 2);
  for (size_t i = 0; i < tl.size(); ++i) {
    INFO("sample " << i);
    CHECK(tl[i]["rss_bytes"].get<uint64_t>() > 0);
    CHECK(tl[i]["rss_anon_bytes"].get<uint64_t>() <= tl[i]["rss_bytes"].get<uint64_t>());
    CHECK(tl[i]["heap_live_bytes_estimated"].get<double>() >= 0);
    if (i) CHECK(tl[i]["t"].get<double>() >= tl[i - 1]["t"].get<double>());
    // The kernel's counts so far: they never go back, and end at most at
    // the process's whole-run count.
    if (i) CHECK(tl[i]["allocation_calls"].get<uint64_t>() >= tl[i - 1]["allocation_calls"].get<uint64_t>());
    if (i) CHECK(tl[i]["allocation_bytes"].get<uint64_t>() >= tl[i - 1]["allocation_bytes"].get<uint64_t>());
  }
  const json &first = tl.front(), &last = tl.back();
  const json& exact = r["processes"][0]["exact"];
  CHECK(last["allocation_calls"].get<uint64_t>() > 0);
  CHECK(last["allocation_calls"].get<uint64_t>() <= exact["allocation_calls"].get<uint64_t>());
  CHECK(last["allocation_bytes"].get<uint64_t>() <= exact["allocation_bytes"].get<uint64_t>());
  CHECK(first["mapped_anon_bytes"] == 0);
  CHECK(last["mapped_anon_bytes"] == 0);  // every large block was unmapped
  CHECK(last["brk_bytes"].get<uint64_t>() - first["brk_bytes"].get<uint64_t>() ==
        t["brk_end"].get<uint64_t>() - t["brk_start"].get<uint64_t>());
  CHECK(run.programs_left.empty());
}

TEST_CASE("memory after exec: the break is measured from the new program's heap", "[e2e][memory]") {
  const std::string report = temp_path("report.json"), truth_path = temp_path("truth.json");
  // The shell stops itself, so that the agent follows it before its exec.
  Child sh({"/bin/sh", "-c",
            "kill -STOP $$; exec " + kWorkload + " --truth " + truth_path +
                " --wait-start --wait-exit --profile web --scale 50 --threads 1 --large-blocks 4"});
  std::string state;
  for (int i = 0; i < 500 && state.find("State:\tT") == std::string::npos; ++i) {
    std::this_thread::sleep_for(20ms);
    state = slurp("/proc/" + std::to_string(sh.pid()) + "/status");
  }
  REQUIRE(state.find("State:\tT") != std::string::npos);
  std::vector<std::string> argv{kAgent, "-p", std::to_string(sh.pid()), "--syscall-counts", "-o", report};
  for (const auto& a : probe_mode_args()) argv.push_back(a);
  Child agent(argv);
  REQUIRE(agent.wait_for("tracing PID " + std::to_string(sh.pid()), 30s));
  sh.signal(SIGCONT);
  REQUIRE(sh.wait_for("ready", 30s));
  REQUIRE(agent.wait_for("(memscope-worklo) through", 30s));
  sh.signal(SIGUSR1);
  REQUIRE(sh.wait_for("done", 120s));
  // The workload's own heap, as the kernel has it, while it waits.
  auto heap = memscope::read_program_break(sh.pid());
  REQUIRE(heap);
  const json r = stop_agent(agent, report);
  const json t = load_json(truth_path);
  const json& tl = r["targets"][0]["memory"]["timeline"];
  REQUIRE(!tl.empty());
  // The last sample is taken at the end, with the break where the phase
  // left it: its distance from this program's heap start, not the shell's.
  CHECK(tl.back()["brk_bytes"].get<uint64_t>() == t["brk_end"].get<uint64_t>() - heap->start);
  sh.signal(SIGUSR1);
  REQUIRE(sh.wait(60s) != -1);
  CHECK(memscope_programs().empty());
  unlink(report.c_str());
  unlink(truth_path.c_str());
}
