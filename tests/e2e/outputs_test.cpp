// One run written in every format at once (-o given five times): the pprof
// profile, the folded stacks, the speedscope file and the HTML page hold
// what the JSON report of the same run holds; an output that cannot be
// written or named is refused before anything is attached.
#include <catch2/catch.hpp>
#include <cmath>
#include <map>
#include <sstream>

#include "e2e/e2e_support.h"
#include "support/gunzip.h"
#include "profile.pb.h"

using namespace memscope::test;
using namespace std::chrono_literals;
using nlohmann::json;
namespace pb = perftools::profiles;

namespace {

// The JSON report's sites (every one, with --top 0), each estimate rounded
// as the exporters round it, summed.
struct Sums {
  long long count = 0, bytes = 0, live_count = 0, live_bytes = 0;
  size_t sites = 0;
};
Sums json_sums(const json& report) {
  Sums s;
  for (const auto& p : report["processes"])
    for (const auto& site : p["sites"]) {
      const json& e = site["estimated"];
      s.count += std::llround(e["count"].get<double>());
      s.bytes += std::llround(e["bytes"].get<double>());
      s.live_count += std::llround(e["live_count"].get<double>());
      s.live_bytes += std::llround(e["live_bytes"].get<double>());
      ++s.sites;
    }
  return s;
}

// Live bytes by the function each sample's stack starts with (its
// innermost frame), read from the profile.
std::map<std::string, long long> inuse_by_leaf(const pb::Profile& p) {
  std::map<uint64_t, const pb::Location*> locations;
  for (const auto& l : p.location()) locations[l.id()] = &l;
  std::map<uint64_t, std::string> functions;
  for (const auto& f : p.function()) functions[f.id()] = p.string_table(static_cast<int>(f.name()));
  std::map<std::string, long long> out;
  for (const auto& s : p.sample())
    if (s.location_id_size() > 0) out[functions[locations.at(s.location_id(0))->line(0).function_id()]] += s.value(3);
  return out;
}

}  // namespace

TEST_CASE("outputs: one run writes JSON and pprof and folded stacks and speedscope that agree", "[e2e][outputs]") {
  // A path nobody can write, and a format nobody writes: refused before
  // anything is attached, the workload untouched.
  {
    Child target({kWorkload, "--wait-start"});
    REQUIRE(target.wait_for("ready", 30s));
    const std::string pid = std::to_string(target.pid());
    Result bad = run({kAgent, "-p", pid, "-o", "/nonexistent-memscope-dir/report.json"});
    CHECK(bad.exit_code == 1);
    CHECK(bad.err ==
          "memscope-bpf: error: cannot write /nonexistent-memscope-dir/report.json: No such file or "
          "directory\n");
    CHECK(memscope_programs().empty());
    Result unnamed = run({kAgent, "-p", pid, "-o", temp_path("report.htm")});
    CHECK(unnamed.exit_code == 2);
    CHECK(unnamed.err.find("the format cannot be told from the name") != std::string::npos);
  }

  const std::string pprof = temp_path("heap.pb.gz"), folded = temp_path("live.folded"),
                    speedscope = temp_path("run.speedscope.json"), html = temp_path("report.html");
  TracedRun r = trace_workload_by_pid(
      {"--profile", "web", "--scale", "300", "--threads", "2"},
      {"--sample-all", "-o", pprof, "-o", folded, "--folded-value", "live", "-o", speedscope, "-o", html});
  const json& report = r.report;
  for (const auto& [path, format] :
       {std::pair{pprof, "pprof"}, {folded, "folded"}, {speedscope, "speedscope"}, {html, "html"}})
    CHECK(r.agent_err.find("report written to " + path + " (" + format + ")") != std::string::npos);
  const Sums want = json_sums(report);
  REQUIRE(want.sites > 0);
  REQUIRE(want.live_bytes > 0);

  pb::Profile profile;
  REQUIRE(profile.ParseFromString(gunzip(slurp(pprof))));
  REQUIRE(profile.sample_type_size() == 4);
  Sums got;
  for (const auto& s : profile.sample()) {
    got.count += s.value(0);
    got.bytes += s.value(1);
    got.live_count += s.value(2);
    got.live_bytes += s.value(3);
  }
  CHECK(profile.sample_size() == static_cast<int>(want.sites));
  CHECK(got.count == want.count);
  CHECK(got.bytes == want.bytes);
  CHECK(got.live_count == want.live_count);
  CHECK(got.live_bytes == want.live_bytes);
  // The workload's deliberate leak is where pprof's inuse_space puts it.
  const std::string leak_fn = r.truth["leak"]["function"];
  long long leak_live = 0;
  for (const auto& [function, live] : inuse_by_leaf(profile))
    if (function.find(leak_fn) != std::string::npos) leak_live += live;
  CHECK(leak_live > 0);

  // Folded by live bytes: each line the process first; rounding after the
  // sum of stacks that fold together moves the total by under a byte a site.
  const std::string process = report["processes"][0]["comm"].get<std::string>() + " (" +
                              std::to_string(report["processes"][0]["pid"].get<int>()) + ")";
  std::istringstream lines(slurp(folded));
  long long folded_live = 0;
  size_t folded_lines = 0;
  for (std::string line; std::getline(lines, line); ++folded_lines) {
    CHECK(line.rfind(process + ";", 0) == 0);
    folded_live += std::stoll(line.substr(line.rfind(' ') + 1));
  }
  CHECK(folded_lines > 0);
  CHECK(std::llabs(folded_live - want.live_bytes) <= static_cast<long long>(want.sites));

  const json ss = load_json(speedscope);
  REQUIRE(ss["profiles"].size() == 2);
  CHECK(ss["profiles"][0]["name"] == process + ": bytes allocated");
  CHECK(ss["profiles"][0]["endValue"] == want.bytes);
  CHECK(ss["profiles"][1]["endValue"] == want.live_bytes);
  // The page carries the same report (what it draws: unit_html_chromium).
  const std::string page = slurp(html);
  const std::string open = R"(<script type="application/json" id="report-data">)";
  const size_t data = page.find(open);
  REQUIRE(data != std::string::npos);
  const size_t end = page.find("</script>", data);
  CHECK(json::parse(page.substr(data + open.size(), end - data - open.size())) == report);
  for (const auto& p : {pprof, folded, speedscope, html}) unlink(p.c_str());
}
