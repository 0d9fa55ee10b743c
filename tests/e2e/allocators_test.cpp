// Other allocators than glibc's, preloaded or linked: each entry point is
// probed in the object the dynamic linker binds it to, and the exact
// counters equal the workload's ground truth.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <algorithm>
#include <cstdlib>
#include <chrono>
#include <thread>
#include <set>

#include "e2e/e2e_support.h"

using namespace memscope::test;
using nlohmann::json;

namespace {

struct Allocator {
  std::string name;                 // as in the library's file name: libjemalloc
  std::string build;                // the workload linked against it (tools/workload/CMakeLists.txt)
  std::string lib;                  // the shared object tools/setup.sh installs
  std::set<std::string> from_libc;  // entry points it lacks, which glibc serves
};

const std::vector<Allocator> kAllocators = {
    {"libtcmalloc_minimal",
     "memscope-workload-tcmalloc",
     "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4",
     {"reallocarray"}},
    {"libjemalloc",
     "memscope-workload-jemalloc",
     "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2",
     {"reallocarray", "pvalloc"}},
    {"libmimalloc", "memscope-workload-mimalloc", "/usr/lib/x86_64-linux-gnu/libmimalloc.so.2", {}},
};

// Agent options to run each case with: every call recorded, and default
// sampling, where session probes skip most returns. Classic probes always
// take every return, so one run covers them.
std::vector<const char*> sampling_variants() {
  const char* mode = getenv("MEMSCOPE_TEST_PROBE_MODE");
  if (mode && std::string(mode) == "classic") return {""};
  return {"--sample-all", ""};
}

// The mixed profile under `a`: counted exactly.
void check_allocator(const Allocator& a, const std::vector<std::string>& launcher, const std::string& workload) {
  for (const char* how : sampling_variants()) {
    INFO(workload << " " << a.name << " agent option: " << how);
    std::vector<std::string> agent;
    if (*how) agent.push_back(how);
    TracedRun run =
        trace_workload_by_pid({"--profile", "mixed", "--scale", "300", "--threads", "2"}, agent, launcher, workload);
    const json& r = run.report;
    CHECK(r["targets"][0]["allocator"].get<std::string>().find(a.name) != std::string::npos);
    for (const auto& p : r["probes"]) {
      INFO(p.dump());
      const std::string path = p["path"];
      const bool in_libc = path.find("libc.so") != std::string::npos;
      CHECK(in_libc == (a.from_libc.count(p["api"]) > 0));
    }
    check_exact(r, run.truth);
    REQUIRE(!r["sites"].empty());
    CHECK(r["sites"][0]["frames"][0]["function"].get<std::string>().rfind("site_", 0) == 0);
    CHECK(run.leftovers.empty());
  }
}

}  // namespace

TEST_CASE("preloaded tcmalloc and jemalloc and mimalloc: probed where they serve malloc and counted exactly",
          "[e2e][allocators]") {
  // tools/setup.sh installs libtcmalloc-minimal4, libjemalloc2 and
  // libmimalloc2.0. tcmalloc and jemalloc define no reallocarray, and
  // jemalloc has no pvalloc (the workload then makes none): glibc serves
  // those and is probed there. mimalloc defines all ten.
  for (const Allocator& a : kAllocators) {
    REQUIRE(access(a.lib.c_str(), R_OK) == 0);
    check_allocator(a, {"/usr/bin/env", "LD_PRELOAD=" + a.lib}, kWorkload);
  }
}

TEST_CASE("linked against tcmalloc and jemalloc and mimalloc: probed where they serve malloc and counted exactly",
          "[e2e][allocators]") {
  // The workload linked normally (DT_NEEDED ahead of libc) against each.
  for (const Allocator& a : kAllocators) {
    const std::string workload = kWorkloadDir + "/" + a.build;
    REQUIRE(access(workload.c_str(), X_OK) == 0);
    check_allocator(a, {}, workload);
  }
}

TEST_CASE("statically linked allocator: found in the executable's symbol table and counted exactly",
          "[e2e][allocators]") {
  // Linked -static against glibc: no dynamic symbols at all, malloc is in
  // .symtab only.
  const std::string workload = kWorkloadDir + "/memscope-workload-static";
  REQUIRE(access(workload.c_str(), X_OK) == 0);
  check_allocator({"memscope-workload-static", "", "", {}}, {}, workload);

  // Stripped of .symtab, nothing names its allocator: one line says so.
  const std::string stripped = temp_path("workload-static-stripped");
  REQUIRE(run({"/usr/bin/strip", "-o", stripped, workload}).exit_code == 0);
  Result r = run({kAgent, "--", stripped, "--scale", "1"});
  INFO(r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("stripped of its symbol table") != std::string::npos);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  unlink(stripped.c_str());
  CHECK(memscope_programs().empty());
}

TEST_CASE("C++ new and delete: their own counters and the calling function first in the stack", "[e2e][allocators]") {
  // site_game_entity calls operator new, site_game_particles operator
  // new[]; they go back through sized operator delete and operator
  // delete[]. Under glibc libstdc++ serves the operators (and calls malloc
  // and free, counted once, inside them); a preloaded jemalloc serves its
  // own.
  struct Case {
    std::string name, object;
    std::vector<std::string> launcher;
  };
  const std::vector<Case> cases = {
      {"glibc", "libstdc++.so", {}},
      {"jemalloc", "libjemalloc.so", {"/usr/bin/env", "LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"}}};
  for (const Case& c : cases) {
    INFO(c.name);
    TracedRun run =
        trace_workload_by_pid({"--profile", "game", "--scale", "200", "--threads", "2"}, {"--sample-all"}, c.launcher);
    const json& r = run.report;
    const json& truth = run.truth;
    check_exact(r, truth);
    for (const char* api : {"operator new", "operator new[]", "operator delete", "operator delete[]"}) {
      INFO(api);
      CHECK(truth["by_api"][api]["calls"].get<uint64_t>() > 0);
      CHECK(r["exact"]["by_api"][api]["calls"] == truth["by_api"][api]["calls"]);
      CHECK(!r["exact"]["by_api"][api].contains("counted_as"));
    }
    for (const auto& p : r["probes"]) {
      const std::string api = p["api"];
      if (api.rfind("operator", 0) == 0) {
        INFO(p.dump());
        CHECK(p["path"].get<std::string>().find(c.object) != std::string::npos);
      }
    }
    if (c.name == "glibc") CHECK(r["sampling"]["nested_calls"].get<uint64_t>() > 0);  // malloc inside new
    for (const char* fn : {"site_game_entity", "site_game_particles"}) {
      INFO(fn);
      uint64_t calls = 0, bytes = 0;
      for (const auto& s : truth["sites"])
        if (s["function"] == fn) calls = s["calls"], bytes = s["bytes"];
      REQUIRE(calls > 0);
      SiteEstimate e = site_estimate(r, fn);
      CHECK(e.sites >= 1);
      CHECK(e.count == Approx(static_cast<double>(calls)).margin(1e-6));
      CHECK(e.bytes == Approx(static_cast<double>(bytes)).margin(1e-6));
      CHECK(e.live_count == Approx(0).margin(1e-6));  // every delete matched its new
    }
    // No site starts inside the C++ runtime or the allocator.
    for (const auto& s : r["sites"]) {
      if (s["frames"].empty()) continue;
      const std::string f0 = s["frames"][0]["function"];
      INFO(f0);
      CHECK(f0.rfind("operator new", 0) != 0);
    }
    CHECK(run.leftovers.empty());
  }
}

TEST_CASE("two targets where one has no allocator: a warning names it and the other is traced exactly",
          "[e2e][allocators]") {
  Child bare({NO_ALLOCATOR_BIN});
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  TracedRun run = trace_workload_by_pid({"--profile", "web", "--scale", "200", "--threads", "2"},
                                        {"-p", std::to_string(bare.pid())});
  INFO(run.agent_err);
  const std::string warning = "memscope-bpf: warning: PID " + std::to_string(bare.pid()) + " (";
  const auto at = run.agent_err.find(warning);
  REQUIRE(at != std::string::npos);
  const std::string line = run.agent_err.substr(at, run.agent_err.find('\n', at) - at);
  CHECK(line.find("no allocator to probe") != std::string::npos);
  CHECK(line.find("not traced") != std::string::npos);
  REQUIRE(run.report["targets"].size() == 1);
  CHECK(run.report["targets"][0]["pid"] == run.truth["pid"]);
  check_exact(run.report, run.truth);
  CHECK(run.leftovers.empty());
}
