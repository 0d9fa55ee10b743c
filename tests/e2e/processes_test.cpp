// Several processes at once: each one's own exact counts, sites and leaks in
// processes[], checked against its own ground truth.
#include <catch2/catch.hpp>

#include "e2e/e2e_support.h"
#include "support/schema_check.h"

using namespace memscope::test;
using nlohmann::json;

TEST_CASE("two PIDs: per-process exact counts and sites and leak equal each one's ground truth", "[e2e][processes]") {
  MultiRun run = trace_workloads_by_pid({{"--profile", "web", "--scale", "400", "--threads", "2"},
                                         {"--profile", "game", "--scale", "200", "--threads", "1", "--seed", "7"}},
                                        {"--sample-all"});
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
    // Every call, and only this process's, is in its own sites.
    for (const auto& s : truth["sites"]) {
      if (s["calls"].get<uint64_t>() == 0) continue;
      INFO(s["function"]);
      SiteEstimate e = site_estimate(p, s["function"]);
      CHECK(e.count == Approx(s["calls"].get<double>()).margin(1e-6));
      CHECK(e.bytes == Approx(s["bytes"].get<double>()).margin(1e-6));
    }
    for (const auto& s : p["sites"]) CHECK(s["pid"] == run.pids[i]);
    CHECK(leak_estimate(p, truth["leak"]["function"]).live_bytes == Approx(truth["leak"]["live_bytes"].get<double>()));
    // Each call traps at least once, at its entry.
    const uint64_t own = p["exact"]["allocation_calls"].get<uint64_t>() + p["exact"]["free_calls"].get<uint64_t>();
    CHECK(p["probe_hits"]["total"].get<uint64_t>() >= own);
    CHECK(p["probe_hits"]["total"] == p["probe_hits"]["entries"].get<uint64_t>() + p["probe_hits"]["returns"].get<uint64_t>());
    REQUIRE(p["added_time_s"].is_number());
    CHECK(p["added_time_s"].get<double>() ==
          Approx(p["probe_hits"]["total"].get<double>() * r["sampling"]["adaptive"]["hit_cost_ns"].get<double>() / 1e9));
    calls += p["exact"]["allocation_calls"].get<uint64_t>();
  }
  // The whole report is the sum of its processes.
  CHECK(r["exact"]["allocation_calls"] == calls);
  CHECK(r["processes"][0]["exact"]["allocation_calls"] != r["processes"][1]["exact"]["allocation_calls"]);
  CHECK(run.programs_left.empty());
}
