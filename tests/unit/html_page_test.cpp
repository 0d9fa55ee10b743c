// The HTML report opened in a real browser, headless Chromium (Debian's
// chromium): the page draws every section without a script error, fetches
// nothing, and what it drew agrees with the JSON report it carries: the
// flame graph's heaviest stack is the report's top site, its widths are the
// processes' bytes, the histogram has the exact size classes. The page
// writes what it drew into #page-check; --dump-dom hands that back. A
// screenshot is kept in tests/artifacts/. Its own ctest entry: skipped (77)
// where chromium is not installed.
#define CATCH_CONFIG_RUNNER
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "report/html_writer.h"
#include "report/json_report.h"
#include "report_model.h"
#include "support/process.h"

using namespace memscope;
using namespace memscope::test;
using nlohmann::json;

namespace {

std::string chromium_path() {
  if (const char* c = getenv("CHROMIUM"); c && *c) return c;
  const char* path = getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');)
    for (const char* name : {"chromium", "chromium-browser"})
      if (!dir.empty() && access((dir + "/" + name).c_str(), X_OK) == 0) return dir + "/" + name;
  return "";
}

// Chromium with a profile of its own, nothing from the GPU.
std::vector<std::string> chromium(const std::string& dir, std::vector<std::string> args,
                                  const std::string& size = "1280,1000") {
  std::vector<std::string> argv{chromium_path(),
                                "--headless=new",
                                "--no-sandbox",
                                "--disable-gpu",
                                "--no-first-run",
                                "--disable-extensions",
                                "--user-data-dir=" + dir + "/profile",
                                "--window-size=" + size,
                                "--virtual-time-budget=5000"};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

std::string unescape_html(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    bool done = false;
    for (auto [entity, c] : {std::pair{"&lt;", '<'}, {"&gt;", '>'}, {"&amp;", '&'}, {"&quot;", '"'}, {"&#39;", '\''}})
      if (s.compare(i, strlen(entity), entity) == 0) {
        out += c;
        i += strlen(entity);
        done = true;
        break;
      }
    if (!done) out += s[i++];
  }
  return out;
}

// What the page wrote into the <pre> `id` (#page-check: after drawing);
// null when its script never got there.
json page_check(const std::string& dir, const std::string& page, const std::string& fragment = "",
                const std::string& id = "page-check") {
  const std::string path = dir + "/page.html";
  std::ofstream(path, std::ios::binary) << page;
  Result res = run(chromium(dir, {"--dump-dom", "file://" + path + fragment}));
  INFO(res.err);
  REQUIRE(res.exit_code == 0);
  const std::string open = "<pre id=\"" + id + "\" hidden=\"\">";
  const size_t at = res.out.find(open);
  REQUIRE(at != std::string::npos);
  const size_t end = res.out.find("</pre>", at);
  const std::string text = unescape_html(res.out.substr(at + open.size(), end - at - open.size()));
  return json::parse(text, nullptr, false).is_discarded() ? json() : json::parse(text);
}

void add_site(SiteStats& into, const SiteStats& s) {
  into.count += s.count;
  into.bytes += s.bytes;
  into.live_count += s.live_count;
  into.live_bytes += s.live_bytes;
}

void add_calls(Report& r, unsigned api, unsigned size_class, uint64_t calls, uint64_t bytes) {
  r.exact.by_api_class[api][size_class].calls += calls;
  r.exact.by_api_class[api][size_class].bytes += bytes;
}

// Variances for 95% intervals of +-3% (the largest site) or +-12% of each
// estimate, and an age for the oldest live block.
void add_intervals(SiteReport& s) {
  const double h = s.estimated.bytes > 500000 ? 0.03 : 0.12;
  auto var = [&](double v) { return std::pow(h * v / 1.96, 2); };
  s.estimated.var_count = var(s.estimated.count);
  s.estimated.var_bytes = var(s.estimated.bytes);
  s.estimated.var_live_count = var(s.estimated.live_count);
  s.estimated.var_live_bytes = var(s.estimated.live_bytes);
  s.oldest_live_age_s = s.estimated.live_count > 0 ? 9.5 : 0;
}

// The exporters' model with what the page draws beside the sites: exact
// counts by size, a memory timeline, sampling decisions, the run's cost,
// and sites --top left out (the processes' totals hold more than their
// listed sites).
Report html_model(ConfigHistory& h) {
  Report r = profile_model(h);
  r.duration_s = 12;
  TierConfig c;
  c.rate = {0.01, 0.05, 0.2};
  h.next(c, 3.0, "events 180000/s over the budget 100000/s: rates lowered");
  c.rate = {0.02, 0.1, 0.4};
  h.next(c, 8.0, "events 40000/s under the budget: rates raised");
  add_calls(r, MS_API_MALLOC, 4, 900, 900 * 24);
  add_calls(r, MS_API_MALLOC, 6, 150, 150 * 100);
  add_calls(r, MS_API_NEW, 12, 100, 409600);
  add_calls(r, MS_API_CALLOC, 16, 7, 700000);
  add_calls(r, MS_API_FREE, 4, 800, 0);
  r.exact.stats[MS_STAT_SAMPLED] = 180;
  r.records.records = 260;
  for (auto* list : {&r.sites, &r.leaks})
    for (auto& s : *list) add_intervals(s);
  for (auto& t : r.targets)
    for (auto* list : {&t.sites, &t.leaks})
      for (auto& s : *list) add_intervals(s);
  for (auto& t : r.targets) {
    t.estimated = SiteStats{};
    for (const auto& s : t.sites) add_site(t.estimated, s.estimated);
    for (const auto& l : t.leaks)
      if (std::none_of(t.sites.begin(), t.sites.end(), [&](const SiteReport& s) { return s.site_id == l.site_id; }))
        add_site(t.estimated, l.estimated);
    t.entry_hits = t.return_hits = 5000;
    for (int i = 0; i <= 12; ++i) {
      MemorySample m;
      m.t_s = i;
      m.rss_bytes = (8 << 20) + i * (t.process.pid == 99 ? 1 << 16 : 1 << 19);
      m.rss_anon_bytes = m.rss_bytes * 3 / 4;
      m.heap_live_bytes = t.estimated.live_bytes * i / 12;
      // Faster for the first half than the second.
      m.allocation_calls = static_cast<uint64_t>(t.estimated.count * (i < 6 ? i * 1.4 : 8.4 + (i - 6) * 0.6) / 12);
      m.allocation_bytes = static_cast<uint64_t>(t.estimated.bytes * (i < 6 ? i * 1.4 : 8.4 + (i - 6) * 0.6) / 12);
      t.memory.timeline.push_back(m);
    }
  }
  r.targets[0].estimated.bytes += 6000;  // two sites --top left out
  // Only the largest site is known within 5%.
  r.quality_bytes_within_5pct = 700000 / (r.targets[0].estimated.bytes + r.targets[1].estimated.bytes);
  r.targets[0].total_sites = 6;
  r.agent.cpu_user_s = 0.08;
  r.agent.cpu_system_s = 0.04;
  r.agent.target_cpu_s = 9.5;
  r.agent.max_rss_bytes = 24 << 20;
  r.probe_cost.per_hit_ns = 450;
  return r;
}

std::vector<std::string> stack_names(const json& process, const json& site) {
  std::vector<std::string> names{process["comm"].get<std::string>() + " (" + std::to_string(process["pid"].get<int>()) +
                                 ")"};
  for (auto f = site["frames"].rbegin(); f != site["frames"].rend(); ++f) names.push_back((*f)["function"]);
  return names;
}

const json& process_of(const json& report, const json& site) {
  for (const auto& p : report["processes"])
    if (p["pid"] == site["pid"]) return p;
  FAIL("no process " << site["pid"]);
  return report;
}

std::string work_dir(const char* name) {
  const std::string dir = temp_path(name);
  REQUIRE(run({"/bin/mkdir", "-p", dir}).exit_code == 0);
  return dir;
}

}  // namespace

TEST_CASE("html page: draws every section without a script error and its flame graph's top is the top site") {
  ConfigHistory h;
  Report r = html_model(h);
  // A name that reads as markup, at a site of its own, last by bytes.
  const std::string hostile = "</script><script>document.title='x'</script><!-- <b>";
  r.targets[1].sites.push_back(
      model_site(99, 7, {Frame{0x1000, hostile, "worker", "", 0, false, "", 0}}, 3, 300, 0, 0));
  r.sites.push_back(r.targets[1].sites.back());
  r.targets[1].estimated.bytes += 300;
  r.targets[1].total_sites += 1;
  const json report = to_json(r);
  const std::string dir = work_dir("html-page");
  const json check = page_check(dir, html_page(report));
  INFO(check.dump(1));
  REQUIRE(check.is_object());
  CHECK(check["errors"] == json::array());
  CHECK(check["resources"] == json::array());  // nothing fetched

  const json& top = report["sites"][0];
  const json& flame = check["flame"];
  CHECK(flame["top_stack"] == stack_names(process_of(report, top), top));
  CHECK(flame["top_value"].get<double>() == Approx(top["estimated"]["bytes"].get<double>()));
  CHECK(flame["top_drawn"] == true);
  double total = 0;
  for (const auto& p : report["processes"]) total += p["estimated"]["bytes"].get<double>();
  CHECK(flame["total"].get<double>() == Approx(total));
  // The widest frame under the root: the top site's process, as wide as its
  // share of the bytes.
  const json& widest = flame["widest_under_focus"];
  const json& top_process = process_of(report, top);
  CHECK(widest["name"] == stack_names(top_process, top)[0]);
  CHECK(widest["value"].get<double>() == Approx(top_process["estimated"]["bytes"].get<double>()));
  const double width = flame["canvas_width"].get<double>();
  CHECK(width > 500);
  CHECK(std::abs(widest["width"].get<double>() - width * widest["value"].get<double>() / total) < 1);

  const json& classes = report["exact"]["size_classes"];
  CHECK(check["sizes"]["bars"] == classes.back()["class"].get<int>() - classes.front()["class"].get<int>() + 1);
  CHECK(check["sizes"]["calls"] == report["exact"]["allocation_calls"]);
  size_t samples = 0;
  for (const auto& p : report["processes"]) samples += p["memory"]["timeline"].size();
  CHECK(check["timeline"]["points"] == 3 * samples);                                // RSS, anonymous RSS, live heap
  CHECK(check["timeline"]["rate_points"] == samples - report["processes"].size());  // between samples
  CHECK(check["timeline"]["peak_rate"].get<double>() ==
        Approx(1.4 / 12 * process_of(report, top)["estimated"]["bytes"].get<double>()).epsilon(0.01));
  std::vector<std::string> functions;
  for (const auto& s : report["sites"])
    functions.push_back(s["frames"].empty() ? "[no stack: " + s["stack_truncated_reason"].get<std::string>() + "]"
                                            : s["frames"][0]["function"].get<std::string>());
  CHECK(check["sites"]["functions"] == functions);
  CHECK(std::find(functions.begin(), functions.end(), hostile) != functions.end());
  CHECK(check["leaks"]["rows"] == report["leaks"].size());
  // One bar per site whose blocks' lifetimes the report gives.
  size_t with_lifetimes = 0;
  if (report.contains("lifetimes"))
    for (const auto& s : report["sites"])
      with_lifetimes += s.contains("lifetimes") && s["lifetimes"].is_array() && !s["lifetimes"].empty();
  CHECK(check["lifetimes"]["rows"] == with_lifetimes);
  CHECK(with_lifetimes > 0);
  CHECK(check["sampling"]["changes"] == report["sampling"]["changes"].size());
  CHECK(check["cost"]["agent_cpu_s"].get<double>() == Approx(0.12));
}

TEST_CASE("html page: live bytes and a search and a zoom from the URL's fragment") {
  ConfigHistory h;
  const Report r = html_model(h);
  const json report = to_json(r);
  const std::string dir = work_dir("html-live");
  const json check = page_check(dir, html_page(report), "#mode=live&search=handle_req&focus=server%20(1234);main");
  INFO(check.dump(1));
  REQUIRE(check.is_object());
  CHECK(check["errors"] == json::array());
  const json& flame = check["flame"];
  CHECK(flame["mode"] == "live");
  // Every live byte, the leak --top left out of the sites included.
  double live = 0;
  for (const auto& p : report["processes"]) live += p["estimated"]["live_bytes"].get<double>();
  CHECK(flame["total"].get<double>() == Approx(live));
  // handle_request(Request&) holds the live bytes of the sites below it.
  double matched = 0;
  for (const auto& s : report["sites"])
    for (const auto& f : s["frames"])
      if (f["function"] == "handle_request(Request&)") {
        matched += s["estimated"]["live_bytes"].get<double>();
        break;
      }
  CHECK(matched > 0);
  CHECK(flame["matched"].get<double>() == Approx(matched));
  CHECK(flame["focus"] == json::array({"server (1234)", "main"}));
  CHECK(flame["focus_width"].get<double>() == Approx(flame["canvas_width"].get<double>()));
}

TEST_CASE("html page: hovering a frame shows its bytes, a click zooms to it, Escape zooms out") {
  ConfigHistory h;
  const json report = to_json(html_model(h));
  // A user's mouse and keyboard, played by a script run after the page's:
  // the frame 10 px in on the third row is the top process's main.
  const std::string user = R"(<script>
    const c = document.getElementById("flame"), r = c.getBoundingClientRect(), tip = document.getElementById("fg-tip");
    const at = { clientX: r.left + 10, clientY: r.top + 2 * 18 + 9, bubbles: true };
    const focus = () => new URLSearchParams(location.hash.slice(1)).get("focus");
    c.dispatchEvent(new MouseEvent("mousemove", at));
    const out = { tip: tip.hidden ? null : tip.textContent };
    c.dispatchEvent(new MouseEvent("click", at));
    out.zoomed = focus();
    document.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape" }));
    out.after_escape = focus();
    const pre = document.createElement("pre");
    pre.id = "user"; pre.hidden = true; pre.textContent = JSON.stringify(out);
    document.body.append(pre);
  </script>)";
  std::string page = html_page(report);
  page.insert(page.rfind("</body>"), user);
  const json out = page_check(work_dir("html-user"), page, "", "user");
  INFO(out.dump(1));
  REQUIRE(out.is_object());
  const json& top = report["sites"][0];
  const std::vector<std::string> stack = stack_names(process_of(report, top), top);
  REQUIRE(stack.size() >= 3);
  CHECK(out["tip"].get<std::string>().find(stack[1]) == 0);  // the frame's name first
  double main_bytes = 0;
  for (const auto& s : process_of(report, top)["sites"])
    if (!s["frames"].empty() && s["frames"].back()["function"] == stack[1])
      main_bytes += s["estimated"]["bytes"].get<double>();
  REQUIRE(main_bytes >= 1048576);
  REQUIRE(main_bytes < 10 * 1048576);
  char shown[64];  // as the page writes MiB under 10: two decimals, trailing zeros dropped
  snprintf(shown, sizeof shown, "%.2f", main_bytes / 1048576);
  std::string text = shown;
  while (text.back() == '0') text.pop_back();
  if (text.back() == '.') text.pop_back();
  CHECK(out["tip"].get<std::string>().find(text + " MiB: ") != std::string::npos);
  CHECK(out["zoomed"] == stack[0] + ";" + stack[1]);
  CHECK(out["after_escape"].is_null());
}

TEST_CASE("html page: per-site lifetimes are drawn when the report has them") {
  ConfigHistory h;
  json report = to_json(html_model(h));
  // The shape of the report's "lifetimes" (docs/report.schema.json).
  const char* buckets[] = {"lt_1ms", "1ms_10ms", "10ms_100ms", "100ms_1s",
                           "1s_10s", "ge_10s",   "still_live", "end_unseen"};
  const double bounds[] = {0, 0.001, 0.01, 0.1, 1, 10};
  report["lifetimes"] = {{"buckets", json::array()},
                         {"temporary", "freed less than 1 ms after"},
                         {"complete", true},
                         {"caveats", json::array()}};
  for (int b = 0; b < 8; ++b)
    report["lifetimes"]["buckets"].push_back({{"bucket", buckets[b]},
                                              {"min_s", b < 6 ? json(bounds[b]) : json(nullptr)},
                                              {"max_s", b < 5 ? json(bounds[b + 1]) : json(nullptr)}});
  for (auto& s : report["sites"]) {
    s["lifetimes"] = json::array();
    for (int b = 0; b < 8; ++b) {
      const double n = s["estimated"]["count"].get<double>() / 8;
      s["lifetimes"].push_back({{"bucket", buckets[b]},
                                {"sampled", 1},
                                {"count", n},
                                {"bytes", n},
                                {"ci95", {{"count", {0, n}}, {"bytes", {0, n}}}}});
    }
    s["temporary"] = {{"share_count", {{"value", 0.125}, {"ci95", {0.1, 0.15}}}}};
  }
  const json check = page_check(work_dir("html-lifetimes"), html_page(report));
  INFO(check.dump(1));
  REQUIRE(check.is_object());
  CHECK(check["errors"] == json::array());
  CHECK(check["lifetimes"]["rows"] == report["sites"].size());
}

TEST_CASE("html page: a report with nothing traced draws without a script error") {
  const json check = page_check(work_dir("html-empty"), to_html(Report{}));
  INFO(check.dump(1));
  REQUIRE(check.is_object());
  CHECK(check["errors"] == json::array());
  CHECK(check["flame"]["total"] == 0);
  CHECK(check["sites"]["rows"] == 0);
  CHECK(check["sizes"]["bars"] == 0);
}

TEST_CASE("html page: a broken page fails these checks") {
  ConfigHistory h;
  const json report = to_json(html_model(h));
  const std::string dir = work_dir("html-broken");
  const std::string page = html_page(report);
  // A script that does not parse never writes its check.
  std::string broken = page;
  broken.replace(broken.find("function buildFlameTree("), 8, "functio");
  CHECK(page_check(dir, broken).is_null());
  // A section that throws is named in the errors, the others still drawn.
  json bad = report;
  bad["sites"][0]["estimated"] = nullptr;
  const json check = page_check(dir, html_page(bad));
  REQUIRE(check.is_object());
  REQUIRE(check["errors"].size() >= 1);
  CHECK(check["errors"][0].get<std::string>().rfind("sites:", 0) == 0);
  CHECK(check["leaks"]["rows"] == report["leaks"].size());
}

TEST_CASE("html page: a screenshot of the page as drawn") {
  ConfigHistory h;
  const std::string dir = work_dir("html-shot");
  const std::string path = dir + "/report.html";
  std::ofstream(path, std::ios::binary) << to_html(html_model(h));
  const std::string artifacts = MEMSCOPE_ARTIFACTS;
  REQUIRE(run({"/bin/mkdir", "-p", artifacts}).exit_code == 0);
  const std::string png = artifacts + "/report.png";
  run({"/bin/rm", "-f", png});
  Result res = run(chromium(dir, {"--hide-scrollbars", "--screenshot=" + png, "file://" + path}, "1280,1500"));
  INFO(res.err);
  REQUIRE(res.exit_code == 0);
  const std::string bytes = slurp(png);
  CHECK(bytes.size() > 20000);  // a drawn page, not a blank one
  CHECK(bytes.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0);
  REQUIRE(run({"/bin/cp", path, artifacts + "/report.html"}).exit_code == 0);
}

int main(int argc, char** argv) {
  if (chromium_path().empty()) {
    fprintf(stderr, "SKIPPED: chromium is not installed (Debian package chromium; tools/setup.sh installs it)\n");
    return 77;
  }
  return Catch::Session().run(argc, argv);
}
