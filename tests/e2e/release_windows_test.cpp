// Release windows (--max-overhead --window-releases): free and the deletes
// are attached only in windows of their own, at a random phase per period.
// Frees are counted only inside them; the leak site is still told from the
// sites whose blocks die between windows; without the option every free
// is counted.
//
// The coverage is read on the sampled user-mode clock less the user time
// the calibration measured per hit, which still errs inside short windows
// (measured -3% to +33% here, user CPU +14% to +142%:
// docs/measurements.md#coverage-clocks): the estimates are checked against
// the truth scaled by the clock's own error, measured from the exact counts
// inside windows over the truth, so that what this checks is the release
// windows' estimator, not the clock. The clock's error is printed.
#include <catch2/catch.hpp>
#include <cmath>
#include <string>

#include "e2e/e2e_support.h"
#include "support/schema_check.h"

using namespace memscope::test;
using nlohmann::json;

TEST_CASE("release windows: under --window-releases frees are counted in release windows and the leak is told apart",
          "[e2e][duty][release]") {
  // A budget of 20% and windows of 50 ms: a period of ~0.4 s on this host
  // (traps cost ~95% of the workload's CPU at full tracing, and the planner
  // then follows what each period cost: attach and detach keep the probes
  // in longer than the windows), so ~10 s of run holds ~20 windows of each
  // kind. Rates high enough for thousands of sampled leak blocks.
  TracedRun traced = trace_workload_by_pid(
      {"--profile", "web", "--scale", "6000000", "--threads", "2"},
      {"--max-overhead", "20", "--window-releases", "--duty-window", "0.05", "--control-interval", "0.25", "--small-rate", "0.05",
       "--medium-rate", "0.5"});
  const json& r = traced.report;
  const json& truth = traced.truth;
  INFO(traced.agent_err.substr(0, 3000));
  CHECK(schema_errors(r, kSchema) == "");
  CHECK(traced.leftovers.empty());
  CHECK(traced.programs_left.empty());

  REQUIRE(r["duty_cycle"].is_object());
  CHECK(r["duty_cycle"]["releases_windowed"] == true);
  CHECK(r["duty_cycle"]["release_windows"].get<int>() >= 5);
  const json& p = r["processes"][0];
  const json& rel = p["duty_cycle"]["releases"];
  REQUIRE(rel.is_object());
  INFO("duty_cycle " << p["duty_cycle"].dump());
  CHECK(p["duty_cycle"]["clock"] == rel["clock"]);  // both kinds on one clock
  // The sampled clock ran: it is the one read.
  CHECK(p["duty_cycle"]["clock"].get<std::string>().rfind("user_ticks", 0) == 0);
  CHECK(p["duty_cycle"]["user_ticks_in_windows"].get<double>() > 0);
  const double c_a = p["duty_cycle"]["coverage"], c_r = rel["coverage"];
  REQUIRE(c_a > 0);
  REQUIRE(c_r > 0);

  // Frees counted only inside release windows: fewer than made.
  const double frees = r["exact"]["by_api"]["free"]["calls"], true_frees = truth["by_api"]["free"]["calls"];
  CHECK(frees > 0);
  CHECK(frees < 0.5 * true_frees);
  CHECK(rel["frees_in_windows"].get<double>() == frees);
  // The coverages on work, from the exact counts inside windows over the
  // truth: the same share of time is given to both kinds of window.
  const double true_c_a = p["exact"]["allocation_calls"].get<double>() / truth["totals"]["alloc_calls"].get<double>();
  const double true_c_r = frees / true_frees;
  INFO("coverage: allocations " << c_a << " (truth " << true_c_a << "), releases " << c_r << " (truth " << true_c_r
                                << ")");
  CHECK(true_c_r == Approx(true_c_a).epsilon(0.5));
  WARN("allocation coverage read " << c_a << " on " << p["duty_cycle"]["clock"] << ", counted " << true_c_a << " ("
                                   << std::lround(100 * (c_a / true_c_a - 1)) << "%); release coverage read " << c_r
                                   << ", counted " << true_c_r << " (" << std::lround(100 * (c_r / true_c_r - 1))
                                   << "%)");
  // The estimates against the truth depend on the clock's error, which
  // differs between the two kinds of window: printed, not checked.
  INFO("estimated frees " << rel["frees_estimated"] << " (truth " << true_frees << "), allocations "
                          << p["duty_cycle"]["allocations_estimated"]["calls"] << " (truth "
                          << truth["totals"]["alloc_calls"] << ")");

  // The leak: reported, its live bytes within 25% of the truth with the
  // clock's error taken out; no other site reported: their blocks all died,
  // most between release windows.
  const std::string leak_fn = truth["leak"]["function"];
  SiteEstimate leak = leak_estimate(r, leak_fn);
  REQUIRE(leak.sites >= 1);
  const double leak_truth = truth["leak"]["live_bytes"].get<double>() * true_c_a / c_a;
  INFO("leak live bytes " << leak.live_bytes << ", truth (clock's error in) " << leak_truth);
  CHECK(std::abs(leak.live_bytes - leak_truth) <= 0.25 * leak_truth);
  int others = 0;
  std::string told;
  for (const auto& l : r["leaks"])
    if (l["frames"].empty() || l["frames"][0]["function"] != leak_fn) {
      ++others;
      told += (l["frames"].empty() ? std::string("?") : l["frames"][0]["function"].get<std::string>()) + " " +
              l["sampled_live"].dump() + "; ";
    }
  INFO("other sites told as leaks: " << told);
  CHECK(others == 0);
}

TEST_CASE("release windows: without --window-releases every free is seen and counted under --max-overhead",
          "[e2e][duty][release]") {
  // Every free traps: ~10 s of them (web makes ~18 frees per unit of scale).
  TracedRun traced = trace_workload_by_pid(
      {"--profile", "web", "--scale", scale_for_trap_time(10, 18, 600000), "--threads", "2"},
      {"--max-overhead", "3", "--duty-window", "0.05", "--control-interval", "0.25"});
  const json& r = traced.report;
  const json& truth = traced.truth;
  INFO(traced.agent_err.substr(0, 3000));
  CHECK(schema_errors(r, kSchema) == "");
  CHECK(r["exact"]["by_api"]["free"]["calls"] == truth["by_api"]["free"]["calls"]);
  if (r["duty_cycle"].is_object()) {
    CHECK(r["duty_cycle"]["releases_windowed"] == false);
    CHECK(r["duty_cycle"]["release_windows"] == 0);
    CHECK(r["processes"][0]["duty_cycle"]["releases"].is_null());
  }
  const std::string leak_fn = truth["leak"]["function"];
  CHECK(leak_estimate(r, leak_fn).sites >= 1);
  CHECK(other_leaks_live_bytes(r, leak_fn) == 0);
  CHECK(traced.programs_left.empty());
}
