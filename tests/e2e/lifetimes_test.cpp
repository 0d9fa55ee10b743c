// Lifetimes against blocks held for known times (lifetimes.c): every traced
// block lands in the bucket the program's own clock readings bound it to,
// temporaries are ranked, blocks never freed are still live; and under a
// duty cycle, blocks sampled in a window have their frees seen outside it.
// (The program's lines give, per group, how many blocks certainly fall in
// each bucket and how many may, from its own clock readings around each
// call: a check of correctness, not of timing.)
#include <catch2/catch.hpp>

#include <array>
#include <map>
#include <sstream>

#include "e2e/e2e_support.h"
#include "support/schema_check.h"

using namespace memscope::test;
using nlohmann::json;

namespace {

constexpr size_t kEnded = 6;  // the freed buckets: lt_1ms .. ge_10s

struct Expected {
  int blocks = 0;
  std::array<int, kEnded> known{}, maybe{};
  bool live = false;  // never freed
};

// The program's "lifetimes NAME BLOCKS known K.. maybe M.." lines.
std::map<std::string, Expected> expected_lifetimes(const std::string& err) {
  std::map<std::string, Expected> out;
  std::istringstream in(err);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string tag, name, kind;
    Expected e;
    if (!(words >> tag >> name >> e.blocks >> kind) || tag != "lifetimes") continue;
    if (kind == "live") {
      e.live = true;
    } else {
      for (auto& k : e.known) words >> k;
      words >> kind;
      for (auto& m : e.maybe) words >> m;
    }
    out[name] = e;
  }
  return out;
}

const json* site_of(const json& list, const std::string& function) {
  for (const auto& s : list)
    if (!s["frames"].empty() && s["frames"][0]["function"] == function) return &s;
  return nullptr;
}

// Sampled blocks per bucket of the report's site, in the report's order
// (the ended buckets, still_live, end_unseen).
std::array<uint64_t, kEnded + 2> sampled_by_bucket(const json& site) {
  std::array<uint64_t, kEnded + 2> out{};
  REQUIRE(site["lifetimes"].size() == out.size());
  for (size_t b = 0; b < out.size(); ++b) out[b] = site["lifetimes"][b]["sampled"].get<uint64_t>();
  return out;
}

}  // namespace

TEST_CASE("lifetimes: blocks held for known times land in their buckets and temporaries are ranked",
          "[e2e][lifetimes]") {
  const ProgramRun run = trace_test_program(LIFETIMES_BIN, {"--sample-all"});
  const json& r = run.report;
  CHECK(schema_errors(r, kSchema) == "");
  CHECK(r["lifetimes"]["complete"] == true);
  CHECK(r["lifetimes"]["in_windows"] == false);
  const auto expected = expected_lifetimes(run.program_err);
  REQUIRE(expected.size() == 6);
  for (const auto& [name, e] : expected) {
    INFO(name);
    const json* site = site_of(r["sites"], name);
    REQUIRE(site != nullptr);
    INFO(site->dump());
    CHECK((*site)["sampled"]["allocations"] == e.blocks);  // every call recorded
    const auto got = sampled_by_bucket(*site);
    CHECK(got[kEnded + 1] == 0);  // no free went unseen
    if (e.live) {
      CHECK(got[kEnded] == static_cast<uint64_t>(e.blocks));
      continue;
    }
    CHECK(got[kEnded] == 0);
    for (size_t b = 0; b < kEnded; ++b) {
      INFO("bucket " << r["lifetimes"]["buckets"][b]["bucket"]);
      CHECK(got[b] >= static_cast<uint64_t>(e.known[b]));
      CHECK(got[b] <= static_cast<uint64_t>(e.known[b] + e.maybe[b]));
      // Sampled with certainty: the estimate is the count, with no spread.
      CHECK((*site)["lifetimes"][b]["count"].get<double>() == static_cast<double>(got[b]));
    }
  }

  // The site whose blocks are freed at once is among the temporaries, its
  // share that of its blocks under 1 ms.
  const json* temp = site_of(r["temporaries"], "lifetime_temporary");
  REQUIRE(temp != nullptr);
  const double under_1ms = (*temp)["lifetimes"][0]["sampled"].get<double>();
  CHECK(under_1ms >= expected.at("lifetime_temporary").known[0]);
  CHECK((*temp)["temporary"]["share_count"]["value"].get<double>() == Approx(under_1ms / 300));
  CHECK(site_of(r["temporaries"], "lifetime_long") == nullptr);
}

TEST_CASE("lifetimes: under a duty cycle blocks sampled in a window have their frees seen between windows",
          "[e2e][lifetimes][duty]") {
  // Windows of 3 s every 12 s from the agent's start: lifetime_long's
  // blocks, allocated first once attached (attaching takes well under 3 s),
  // are sampled in the first window and freed 6 s later, between windows.
  const ProgramRun run =
      trace_test_program(std::vector<std::string>{LIFETIMES_BIN, "6000"}, {"--sample-all", "--duty-cycle", "3/12"});
  const json& r = run.report;
  CHECK(schema_errors(r, kSchema) == "");
  REQUIRE(r["duty_cycle"].is_object());
  CHECK(r["duty_cycle"]["windows"].get<int>() >= 1);
  CHECK(r["lifetimes"]["in_windows"] == true);
  CHECK(r["lifetimes"]["complete"] == true);
  const auto expected = expected_lifetimes(run.program_err);
  REQUIRE(expected.size() == 6);
  for (const auto& [name, e] : expected) {
    INFO(name);
    const json* site = site_of(r["sites"], name);
    if (!site) continue;  // none of its allocations fell in a window
    INFO(site->dump());
    const auto got = sampled_by_bucket(*site);
    const uint64_t sampled = (*site)["sampled"]["allocations"].get<uint64_t>();
    CHECK(sampled <= static_cast<uint64_t>(e.blocks));
    CHECK(got[kEnded + 1] == 0);
    if (e.live) {
      CHECK(got[kEnded] == sampled);
      continue;
    }
    // Every sampled block's free was seen, in a window or not, and gave
    // it a lifetime within the program's bounds.
    CHECK(got[kEnded] == 0);
    uint64_t in_buckets = 0;
    for (size_t b = 0; b < kEnded; ++b) {
      INFO("bucket " << r["lifetimes"]["buckets"][b]["bucket"]);
      CHECK(got[b] <= static_cast<uint64_t>(e.known[b] + e.maybe[b]));
      in_buckets += got[b];
    }
    CHECK(in_buckets == sampled);
  }
  const json* held = site_of(r["sites"], "lifetime_long");
  REQUIRE(held != nullptr);
  CHECK((*held)["sampled"]["allocations"] == 10);
  CHECK(sampled_by_bucket(*held)[4] == 10);  // 1s_10s
}
