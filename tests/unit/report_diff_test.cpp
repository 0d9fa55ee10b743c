#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "common/error.h"
#include "report/json_report.h"
#include "report/report_diff.h"
#include "support/process.h"
#include "support/schema_check.h"

using namespace memscope;
using memscope::test::slurp;
using memscope::test::temp_path;

namespace {

// A site of `pid` whose stack is `functions` (innermost first) in `module`
// at addresses from `base`, with estimates of the given spread (standard
// errors).
SiteReport site(uint32_t pid, std::vector<std::string> functions, const std::string& module, uint64_t base,
                double bytes, double bytes_se, double live, double live_se) {
  SiteReport s;
  s.pid = pid;
  for (const auto& f : functions) s.frames.push_back({base += 0x40, f, module, "", 0, false, "", base - 0x400000});
  s.estimated.count = s.estimated.sampled = 10;
  s.estimated.bytes = bytes;
  s.estimated.var_bytes = bytes_se * bytes_se;
  s.estimated.live_bytes = live;
  s.estimated.var_live_bytes = live_se * live_se;
  return s;
}

nlohmann::json report(std::vector<SiteReport> sites, size_t total = 0) {
  static const ConfigHistory history = [] {
    ConfigHistory h;
    h.next(TierConfig{}, 0, "initial settings");
    return h;
  }();
  Report r;
  r.sampling = &history;
  r.duration_s = 2;
  r.total_sites = total ? total : sites.size();
  r.sites = std::move(sites);
  return to_json(r);
}

// Old run: pid 100, the binary at /opt/a; new run: pid 200 at /opt/b, other
// addresses. parse grows 1000 -> 3000 bytes (well beyond its spread),
// render moves 5000 -> 5100 within its spread, cache is new, legacy gone.
nlohmann::json old_json() {
  return report({site(100, {"parse(Req&)", "handle", "main"}, "/opt/a/server", 0x401000, 1000, 10, 0, 0),
                 site(100, {"render", "main"}, "/opt/a/server", 0x402000, 5000, 200, 100, 5),
                 site(100, {"legacy", "main"}, "/opt/a/server", 0x403000, 700, 10, 700, 10)});
}
nlohmann::json new_json() {
  return report({site(200, {"parse(Req&)", "handle", "main"}, "/opt/b/server", 0x555000001000, 3000, 10, 0, 0),
                 site(200, {"render", "main"}, "/opt/b/server", 0x555000002000, 5100, 200, 300, 5),
                 site(200, {"cache;lookup", "main"}, "/opt/b/server", 0x555000003000, 1500, 10, 1500, 10)});
}
const ReadReport& old_run() {
  static const ReadReport r = read_report(old_json(), "old.json");
  return r;
}
const ReadReport& new_run() {
  static const ReadReport r = read_report(new_json(), "new.json");
  return r;
}

const SiteChange& change_of(const std::vector<SiteChange>& changes, const std::string& function) {
  for (const auto& c : changes)
    if (c.functions.front() == function) return c;
  FAIL("no change for " << function);
  throw;
}

std::string write_temp(const std::string& name, const std::string& text) {
  const std::string path = temp_path(name);
  std::ofstream(path) << text;
  return path;
}

// The Error read_report throws for `path`, which must be one line.
std::string error_of(const std::string& path) {
  try {
    read_report(path);
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find('\n') == std::string::npos);
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("diff: sites matched by their stacks across runs, ranked by the change, beyond both intervals or not") {
  CHECK(memscope::test::schema_errors(old_json(), MEMSCOPE_SCHEMA) == "");
  CHECK(memscope::test::schema_errors(new_json(), MEMSCOPE_SCHEMA) == "");
  const auto changes = diff_reports(old_run(), new_run(), DiffMetric::allocated);
  REQUIRE(changes.size() == 4);  // parse and render matched; cache new; legacy gone
  CHECK(changes[0].functions.front() == "parse(Req&)");
  CHECK(changes[1].functions.front() == "cache;lookup");
  CHECK(changes[2].functions.front() == "legacy");
  CHECK(changes[3].functions.front() == "render");

  const SiteChange& parse = change_of(changes, "parse(Req&)");
  CHECK(parse.in_old);
  CHECK(parse.in_new);
  CHECK(parse.change(DiffMetric::allocated) == 2000);
  CHECK(parse.beyond(DiffMetric::allocated));
  CHECK(parse.where == "parse(Req&) (server) <- handle");
  const SiteChange& render = change_of(changes, "render");
  CHECK(render.change(DiffMetric::allocated) == 100);
  CHECK(!render.beyond(DiffMetric::allocated));  // 5000 +- 392 and 5100 +- 392 overlap
  CHECK(render.change(DiffMetric::live) == 200);
  CHECK(render.beyond(DiffMetric::live));
  const SiteChange& cache = change_of(changes, "cache;lookup");
  CHECK(!cache.in_old);
  CHECK(cache.beyond(DiffMetric::allocated));  // [0, 0] against [1480, 1520]
  const SiteChange& legacy = change_of(changes, "legacy");
  CHECK(!legacy.in_new);
  CHECK(legacy.change(DiffMetric::live) == -700);

  const auto by_live = diff_reports(old_run(), new_run(), DiffMetric::live);
  CHECK(by_live[0].functions.front() == "cache;lookup");
  CHECK(by_live[1].functions.front() == "legacy");
  CHECK(by_live[2].functions.front() == "render");
  CHECK(any_growth(changes, DiffMetric::allocated));
  CHECK(!any_growth(diff_reports(old_run(), old_run(), DiffMetric::allocated), DiffMetric::allocated));
}

TEST_CASE("diff: the table and the differential folded file") {
  const auto changes = diff_reports(old_run(), new_run(), DiffMetric::allocated);
  char* text = nullptr;
  size_t size = 0;
  FILE* out = open_memstream(&text, &size);
  print_diff(out, old_run(), new_run(), changes, DiffMetric::allocated, 2);
  fclose(out);
  const std::string table(text, size);
  free(text);
  INFO(table);
  CHECK(table.find("old.json (3 sites, 2.0 s) -> new.json (3 sites, 2.0 s), by allocated bytes") != std::string::npos);
  CHECK(table.find("2 sites grew and 1 shrank beyond both 95% intervals") != std::string::npos);
  CHECK(table.find("1. allocated +2.0 KiB* (1000 B -> 2.9 KiB)") != std::string::npos);
  CHECK(table.find("parse(Req&) (server) <- handle\n") != std::string::npos);
  CHECK(table.find("cache;lookup (server) <- main [new]") != std::string::npos);
  CHECK(table.find("... 2 more (--top 0 shows all)") != std::string::npos);

  const std::string path = temp_path("diff.folded");
  write_folded_diff(path, changes, DiffMetric::allocated);
  const std::string folded = slurp(path);
  unlink(path.c_str());
  CHECK(folded ==
        "main;handle;parse(Req&) 1000 3000\n"
        "main;cache lookup 0 1500\n"
        "main;legacy 700 0\n"
        "main;render 5000 5100\n");
}

TEST_CASE("diff: a site missing from a list --top cut is unknown there, not gone") {
  const ReadReport cut =
      read_report(report({site(1, {"render", "main"}, "server", 0x1000, 5000, 200, 0, 0)}, 40), "cut.json");
  CHECK(cut.cut());
  const auto changes = diff_reports(cut, new_run(), DiffMetric::allocated);
  const SiteChange& parse = change_of(changes, "parse(Req&)");
  CHECK(parse.unknown_old);
  CHECK(!parse.beyond(DiffMetric::allocated));
  CHECK(!change_of(changes, "render").unknown_old);
}

TEST_CASE("diff: one stack in two processes is one site, its spreads added") {
  const ReadReport r = read_report(report({site(1, {"work", "main"}, "server", 0x1000, 3000, 30, 0, 0),
                                           site(2, {"work", "main"}, "server", 0x9000, 1000, 40, 0, 0)}),
                                   "two.json");
  REQUIRE(r.sites.size() == 1);
  CHECK(r.sites[0].bytes.value == 4000);
  CHECK(r.sites[0].bytes.high == Approx(4000 + 1.96 * 50));
  CHECK(r.sites[0].bytes.low == Approx(4000 - 1.96 * 50));
}

TEST_CASE("diff: a missing, unreadable, malformed or foreign report is one clear error") {
  CHECK(error_of("/nonexistent/old.json") == "cannot read /nonexistent/old.json: No such file or directory");
  CHECK(error_of("/tmp") == "cannot read /tmp: Is a directory");
  const std::string garbage = write_temp("garbage.json", "{\"schema\": ");
  CHECK(error_of(garbage).rfind(garbage + " is not JSON: parse error", 0) == 0);
  const std::string other = write_temp("other.json", R"({"schema": "pprof/v2", "sites": []})");
  CHECK(error_of(other) ==
        other + " is not a memscope-bpf report: schema is \"pprof/v2\", not \"memscope-bpf/report/v1\"");
  const std::string none = write_temp("none.json", "[1, 2]");
  CHECK(error_of(none) == none + " is not a memscope-bpf report: the document is not an object");
  nlohmann::json j = report({site(1, {"work", "main"}, "server", 0x1000, 3000, 30, 0, 0)});
  j["sites"][0]["estimated"]["ci95"].erase("live_bytes");
  const std::string broken = write_temp("broken.json", j.dump());
  CHECK(error_of(broken) == broken + " is not a memscope-bpf report: sites[0].estimated.ci95.live_bytes is missing");
  for (const auto& p : {garbage, other, none, broken}) unlink(p.c_str());
}

// Not run by default: writes the two reports the command-line test
// (diff_cli_test.cmake) compares, and a foreign JSON file, into
// MEMSCOPE_DIFF_DIR.
TEST_CASE("diff: write two reports for the command-line test", "[.diff_reports]") {
  std::ofstream(MEMSCOPE_DIFF_DIR "/old.json") << old_json().dump(2);
  std::ofstream(MEMSCOPE_DIFF_DIR "/new.json") << new_json().dump(2);
  std::ofstream(MEMSCOPE_DIFF_DIR "/foreign.json") << R"({"schema": "pprof/v2"})";
  CHECK(read_report(MEMSCOPE_DIFF_DIR "/old.json").sites.size() == 3);
  CHECK(read_report(MEMSCOPE_DIFF_DIR "/new.json").sites.size() == 3);
}
