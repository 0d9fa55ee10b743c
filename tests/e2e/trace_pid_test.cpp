// The workload attached by PID: exact counters equal its ground truth,
// estimates land within their bounds, the leak is found, the report matches
// its schema, and nothing stays attached.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>

#include "e2e/e2e_support.h"
#include "support/schema_check.h"

using namespace memscope::test;
using nlohmann::json;

TEST_CASE("attach by PID: exact counts and estimates and leak and schema and clean detach", "[e2e][pid]") {
  // Rates chosen so that every checked figure has at least ~1,500 samples
  // behind it: 10% is then more than 3.5 standard errors (default rates
  // would need ~20,000 leaked blocks for the same confidence).
  TracedRun run = trace_workload_by_pid({"--profile", "web", "--scale", "6000", "--threads", "2"},
                                        {"--medium-rate", "0.5", "--small-rate", "0.05", "--large-rate", "1"});
  const json& r = run.report;
  const json& truth = run.truth;

  CHECK(schema_errors(r, kSchema) == "");
  CHECK(r["schema"] == "memscope-bpf/report/v1");
  CHECK(r["targets"][0]["pid"] == truth["pid"]);
  CHECK(r["targets"][0]["allocator"].get<std::string>().find("libc.so.6") != std::string::npos);
  CHECK(r["sampling"]["dropped_events"] == 0);
  check_exact(r, truth);

  // Sites holding at least 5% of the bytes: estimated bytes within 10%;
  // the deliberate leak found, with its live bytes within 10%.
  CHECK(check_big_sites(r, truth, 0.05, 0.10) >= 2);
  check_leak(r, truth, 0.10);
  const std::string leak_fn = truth["leak"]["function"];
  CHECK(r["leaks"][0]["frames"][0]["function"].get<std::string>().find(leak_fn) != std::string::npos);
  CHECK(r["leaks"][0]["oldest_age_s"].get<double>() > 0);

  // Frames carry file:line for the workload, built with debug info.
  bool has_line = false;
  for (const auto& s : r["sites"])
    if (!s["frames"].empty() && s["frames"][0]["function"].get<std::string>().rfind("site_", 0) == 0)
      has_line = has_line || (s["frames"][0]["line"].is_number() && !s["frames"][0]["file"].is_null());
  CHECK(has_line);

  CHECK(run.leftovers.empty());
  CHECK(!program_ids(run.agent_err).empty());
  CHECK(run.programs_left.empty());
}

TEST_CASE("every call recorded: exact per-site counts and bytes", "[e2e][pid]") {
  TracedRun run = trace_workload_by_pid({"--profile", "mixed", "--scale", "300", "--threads", "2"}, {"--sample-all"});
  const json& r = run.report;
  check_exact(r, run.truth);
  CHECK(r["sampling"]["dropped_events"] == 0);
  for (const auto& s : run.truth["sites"]) {
    if (s["calls"].get<uint64_t>() == 0) continue;
    const std::string fn = s["function"];
    SiteEstimate e = site_estimate(r, fn);
    INFO(fn);
    CHECK(e.count == Approx(s["calls"].get<double>()).margin(1e-6));
    CHECK(e.bytes == Approx(s["bytes"].get<double>()).margin(1e-6));
    CHECK(e.live_bytes == Approx(s["live_bytes"].get<double>()).margin(1e-6));
  }
}

TEST_CASE("pipeline and game profiles: exact counters equal the ground truth", "[e2e][pid]") {
  for (std::string profile : {"pipeline", "game"}) {
    INFO(profile);
    TracedRun run = trace_workload_by_pid({"--profile", profile, "--scale", "400", "--threads", "2"}, {});
    check_exact(run.report, run.truth);
    CHECK(run.leftovers.empty());
  }
}

TEST_CASE("bytes sampling: estimates and intervals against the ground truth", "[e2e][sampling]") {
  // One sample per 4 KiB on average: ~17,000 records for ~70 MB, and the
  // 1-4 KiB leaked blocks are sampled with probability 0.2-0.6.
  TracedRun run = trace_workload_by_pid({"--profile", "web", "--scale", "6000", "--threads", "2"},
                                        {"--sampling", "bytes", "--byte-interval", "4096"});
  const json& r = run.report;
  CHECK(schema_errors(r, kSchema) == "");
  CHECK(r["sampling"]["mode"] == "bytes");
  CHECK(r["sampling"]["byte_interval"] == 4096);
  check_exact(r, run.truth);
  CHECK(check_big_sites(r, run.truth, 0.05, 0.10, Interval::checked) >= 2);
  SiteEstimate leak = leak_estimate(r, run.truth["leak"]["function"]);
  const double leak_bytes = run.truth["leak"]["live_bytes"];
  INFO("leak truth " << leak_bytes << " estimated " << leak.live_bytes);
  CHECK(std::abs(leak.live_bytes - leak_bytes) <= 0.10 * leak_bytes);
  CHECK(r["sampling"]["quality"]["bytes_within_5pct"].get<double>() > 0.5);
}

TEST_CASE("adaptive: --max-events moves the rates and logs every decision", "[e2e][optimizer]") {
  // Default rates send far more than 300 records/s: the first decision
  // must cut them.
  TracedRun run = trace_workload_by_pid({"--profile", "game", "--scale", "4000", "--threads", "2"},
                                        {"--max-events", "300", "--control-interval", "0.2"});
  const json& r = run.report;
  CHECK(schema_errors(r, kSchema) == "");
  check_exact(r, run.truth);  // exact counters never depend on the rates
  const json& changes = r["sampling"]["changes"];
  INFO(changes.dump(1));
  REQUIRE(changes.size() >= 2);
  CHECK(changes[0]["reason"] == "initial settings");
  for (size_t i = 1; i < changes.size(); ++i) {
    CHECK(changes[i]["reason"].get<std::string>().find("--max-events") != std::string::npos);
    CHECK(changes[i]["time_s"].get<double>() >= changes[i - 1]["time_s"].get<double>());
  }
  CHECK(r["sampling"]["adaptive"]["max_events_per_s"] == 300);
  CHECK(run.agent_err.find("rates small") != std::string::npos);  // shown live on stderr
  // Whatever the rates became, the weighted estimates stay within their
  // intervals of the truth.
  check_big_sites(r, run.truth, 0.05, 1.0, Interval::checked);
}
