// Objects loaded while tracing runs (dlopen): an allocator library opened
// RTLD_LOCAL after the agent attached is found through the dynamic linker's
// debugger hook and probed, and the calls made through its dlsym'd malloc
// and free are counted exactly; a library that is no allocator changes
// nothing.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <set>

#include "e2e/e2e_support.h"

using namespace memscope::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

const std::string kJemalloc = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2";

struct LoadedRun {
  json report, truth;
  std::string agent_err;
  std::vector<std::string> leftovers;
  std::vector<uint32_t> programs_left;
};

// The workload attached by PID, which then opens `lib` in its phase and,
// once the agent said it probed it, makes `calls` malloc/free pairs through
// it; with `calls` 0 the agent is expected to find nothing to probe. With
// `attach_later` the agent attaches only once the library is open.
LoadedRun trace_loading(const std::string& lib, unsigned calls, bool attach_later = false) {
  LoadedRun r;
  const std::string truth = temp_path("truth.json"), report = temp_path("report.json");
  // jemalloc's thread-local storage is initial-exec: a dlopen needs more
  // static TLS than glibc keeps spare by default.
  Child wl({"/usr/bin/env",
            "GLIBC_TUNABLES=glibc.rtld.optional_static_tls=16384",
            kWorkload,
            "--truth",
            truth,
            "--wait-start",
            "--wait-exit",
            "--profile",
            "web",
            "--scale",
            "100",
            "--threads",
            "1",
            "--dlopen",
            lib,
            "--dlopen-wait",
            "100",
            "--dlopen-calls",
            std::to_string(calls),
            "--dlopen-calls-wait",
            calls ? "signal" : "0"});
  REQUIRE(wl.wait_for("ready", 30s));
  if (attach_later) {
    wl.signal(SIGUSR1);
    REQUIRE(wl.wait_for("dlopened", 30s));
  }
  std::vector<std::string> argv{kAgent, "-p",          std::to_string(wl.pid()), "-o", report, "--top", "0",
                                "-v",   "--sample-all"};
  for (const auto& a : probe_mode_args()) argv.push_back(a);
  Child agent(argv);
  REQUIRE(agent.wait_for("tracing PID", 30s));
  wl.signal(SIGUSR1);  // the phase starts, or (attach_later) its calls do
  if (calls && !attach_later) {
    // The calls start once the agent has probed the library: none is lost
    // to the window between the dlopen and the attach (measured apart).
    REQUIRE(wl.wait_for("dlopened", 30s));
    REQUIRE(agent.wait_for("loaded " + lib, 30s));
    wl.signal(SIGUSR1);
  }
  REQUIRE(wl.wait_for("done", 120s));
  r.report = stop_agent(agent, report);
  r.agent_err = agent.err();
  r.truth = load_json(truth);
  r.leftovers = leftover_breakpoints(r.report, wl.pid());
  r.programs_left = still_loaded(program_ids(r.agent_err));
  wl.signal(SIGUSR1);
  REQUIRE(wl.wait(60s) != -1);
  unlink(truth.c_str());
  unlink(report.c_str());
  return r;
}

}  // namespace

TEST_CASE("dlopen: an allocator opened while tracing runs is probed and its calls through dlsym are counted exactly",
          "[e2e][dlopen]") {
  const unsigned calls = 500;
  LoadedRun run = trace_loading(kJemalloc, calls);
  const json& r = run.report;
  INFO(run.agent_err);
  CHECK(run.truth["dlopen_calls"] == calls);
  for (const json* t : {&r["targets"][0], &r["processes"][0]}) {
    // The object serving malloc is still glibc's; jemalloc comes beside it.
    CHECK((*t)["allocator"].get<std::string>().find("libc.so") != std::string::npos);
    REQUIRE((*t)["extra_allocators"].size() == 1);
    const json& x = (*t)["extra_allocators"][0];
    CHECK(x["path"] == kJemalloc);
    CHECK(x["attach_delay_s"].is_number());
    std::set<std::string> apis(x["entry_points"].begin(), x["entry_points"].end());
    CHECK(apis.count("malloc") == 1);
    CHECK(apis.count("free") == 1);
  }
  // Its probes are filtered to the process, like the allocator's.
  size_t in_jemalloc = 0;
  for (const auto& p : r["probes"])
    if (p["path"] == kJemalloc) {
      ++in_jemalloc;
      CHECK(p["pid"] == r["targets"][0]["pid"]);
    }
  CHECK(in_jemalloc >= 2);
  // Every call through jemalloc's malloc at its site, and every block given
  // back through its free (a free it did not see would leave it live).
  SiteEstimate loaded = site_estimate(r, "site_loaded_block");
  CHECK(loaded.count == calls);
  CHECK(loaded.live_count == 0);
  // The workload's own sites through glibc, exactly as ever.
  check_sites_exact(r, run.truth);
  CHECK(run.leftovers.empty());
  CHECK(run.programs_left.empty());
}

TEST_CASE("dlopen: a library that defines no allocator entry point changes nothing", "[e2e][dlopen]") {
  LoadedRun run = trace_loading("/usr/lib/x86_64-linux-gnu/libz.so.1", 0);
  const json& r = run.report;
  INFO(run.agent_err);
  CHECK(r["targets"][0]["extra_allocators"].empty());
  for (const auto& p : r["probes"]) {
    const std::string path = p["path"];
    CHECK(path.find("libz") == std::string::npos);
  }
  check_sites_exact(r, run.truth);
  CHECK(run.leftovers.empty());
  CHECK(run.programs_left.empty());
}

TEST_CASE("dlopen: an allocator opened before the agent attached is probed from the start", "[e2e][dlopen]") {
  const unsigned calls = 300;
  LoadedRun run = trace_loading(kJemalloc, calls, true);
  const json& r = run.report;
  INFO(run.agent_err);
  REQUIRE(r["processes"][0]["extra_allocators"].size() == 1);
  const json& x = r["processes"][0]["extra_allocators"][0];
  CHECK(x["path"] == kJemalloc);
  CHECK(x["attach_delay_s"].is_null());  // no window: it was there before tracing
  SiteEstimate loaded = site_estimate(r, "site_loaded_block");
  CHECK(loaded.count == calls);
  CHECK(loaded.live_count == 0);
  check_sites_exact(r, run.truth);
  CHECK(run.leftovers.empty());
  CHECK(run.programs_left.empty());
}
