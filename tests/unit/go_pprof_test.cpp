// The pprof writer's output opened by the real `go tool pprof` (Debian's
// golang-go): for each of the four sample types, -top's total, its
// functions' flat and cum values and their ranking equal what the JSON
// report of the same run says. Its own ctest entry: skipped (77) where Go
// is not installed.
#define CATCH_CONFIG_RUNNER
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "report/json_report.h"
#include "report/pprof_writer.h"
#include "report_model.h"
#include "support/process.h"

using namespace memscope;
using namespace memscope::test;
using nlohmann::json;

namespace {

std::string find_in_path(const std::string& name) {
  const char* path = getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');)
    if (!dir.empty() && access((dir + "/" + name).c_str(), X_OK) == 0) return dir + "/" + name;
  return "";
}

// One -top table as pprof prints it.
struct Top {
  long long total = -1;
  std::vector<std::string> order;  // by flat, largest first, as printed
  std::map<std::string, long long> flat, cum;
};

long long number(std::string s) {
  if (!s.empty() && s.back() == 'B') s.pop_back();  // -unit=B
  return std::stoll(s);
}

Top parse_top(const std::string& out) {
  Top top;
  std::istringstream in(out);
  bool rows = false;
  for (std::string line; std::getline(in, line);) {
    if (auto at = line.find("% of "); line.rfind("Showing nodes", 0) == 0 && at != std::string::npos)
      top.total = number(line.substr(at + 5, line.find(" total") - at - 5));
    if (line.find("flat  flat%") != std::string::npos) {
      rows = true;
      continue;
    }
    if (!rows) continue;
    std::istringstream row(line);
    std::string flat, flat_pct, sum_pct, cum, cum_pct, name;
    row >> flat >> flat_pct >> sum_pct >> cum >> cum_pct;
    std::getline(row >> std::ws, name);
    if (auto inl = name.rfind(" (inline)"); inl != std::string::npos && inl + 9 == name.size()) name.resize(inl);
    top.order.push_back(name);
    top.flat[name] = number(flat);
    top.cum[name] = number(cum);
  }
  return top;
}

// What the JSON report says of one sample type: each site's rounded
// estimate, flat on its innermost frame, cum on every function in its stack.
Top expected_from_json(const json& report, const std::string& field) {
  Top top;
  top.total = 0;
  for (const auto& p : report["processes"])
    for (const auto& s : p["sites"]) {
      const long long v = std::llround(s["estimated"][field].get<double>());
      top.total += v;
      const json& frames = s["frames"];
      std::set<std::string> in_stack;
      for (const auto& f : frames) in_stack.insert(f["function"]);
      // A stack not recorded is one frame saying so.
      const std::string innermost = frames.empty() ? "[no stack: " + s["stack_truncated_reason"].get<std::string>() + "]"
                                                   : frames[0]["function"].get<std::string>();
      in_stack.insert(innermost);
      top.flat[innermost] += v;
      for (const auto& f : in_stack) top.cum[f] += v;
    }
  return top;
}

}  // namespace

TEST_CASE("go tool pprof -top reads the profile with the JSON report's totals and top functions") {
  ConfigHistory h;
  Report r = profile_model(h);
  // As with --top 0: every leak is among the sites, so the JSON's sites hold
  // every sample the profile has.
  for (auto& t : r.targets)
    for (const auto& leak : t.leaks)
      if (std::none_of(t.sites.begin(), t.sites.end(), [&](const SiteReport& s) { return s.site_id == leak.site_id; }))
        t.sites.push_back(leak);
  const json report = to_json(r);
  const std::string dir = temp_path("pprof");
  REQUIRE(run({"/bin/mkdir", "-p", dir}).exit_code == 0);
  const std::string path = dir + "/heap.pb.gz";
  std::ofstream(path, std::ios::binary) << pprof_bytes(r);

  const std::pair<const char*, const char*> types[] = {{"alloc_objects", "count"},
                                                       {"alloc_space", "bytes"},
                                                       {"inuse_objects", "live_count"},
                                                       {"inuse_space", "live_bytes"}};
  for (const auto& [type, field] : types) {
    INFO("sample type " << type);
    // HOME: pprof keeps nothing of a local file, but must not touch the user's.
    Result res = run({"/usr/bin/env", "HOME=" + dir, find_in_path("go"), "tool", "pprof", "-top",
                      std::string("-sample_index=") + type, "-unit=B", "-nodefraction=0", path});
    INFO(res.err);
    REQUIRE(res.exit_code == 0);
    CHECK(res.out.find(std::string("Type: ") + type) != std::string::npos);
    const Top got = parse_top(res.out);
    const Top want = expected_from_json(report, field);
    CHECK(got.total == want.total);
    REQUIRE(!got.order.empty());
    for (const auto& [function, flat] : want.flat)
      if (flat > 0) {
        INFO(function);
        REQUIRE(got.flat.count(function));
        CHECK(got.flat.at(function) == flat);
      }
    for (const auto& [function, cum] : want.cum)
      if (cum > 0) {
        INFO(function);
        REQUIRE(got.cum.count(function));
        CHECK(got.cum.at(function) == cum);
      }
    // The ranking pprof prints: the JSON's functions by flat value.
    std::vector<std::pair<long long, std::string>> ranked;
    for (const auto& [function, flat] : want.flat)
      if (flat > 0) ranked.emplace_back(-flat, function);
    std::sort(ranked.begin(), ranked.end());
    for (size_t i = 0; i < ranked.size() && i < 3; ++i) CHECK(got.order.at(i) == ranked[i].second);
  }
  run({"/bin/rm", "-rf", dir});
}

int main(int argc, char** argv) {
  if (find_in_path("go").empty()) {
    fprintf(stderr, "SKIPPED: go is not installed (Debian package golang-go; tools/setup.sh installs it)\n");
    return 77;
  }
  return Catch::Session().run(argc, argv);
}
