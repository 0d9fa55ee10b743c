// The HTML page as text: it carries the JSON report whole and safely, and
// nothing in it fetches anything. What it draws is tested in a browser
// (html_page_test.cpp).
#include <catch2/catch.hpp>
#include <algorithm>
#include <cctype>

#include "report/html_assets.h"
#include "report/html_writer.h"
#include "report/json_report.h"
#include "report_model.h"

using namespace memscope;
using namespace memscope::test;
using nlohmann::json;

namespace {

constexpr std::string_view kOpen = R"(<script type="application/json" id="report-data">)";

// The report-data block's text, as the browser hands it to JSON.parse: up
// to the first "</script" whatever its case, where the element ends.
std::string data_block(const std::string& page) {
  const size_t at = page.find(kOpen);
  REQUIRE(at != std::string::npos);
  std::string lower = page;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  const size_t start = at + kOpen.size(), end = lower.find("</script", start);
  REQUIRE(end != std::string::npos);
  return page.substr(start, end - start);
}

size_t count(const std::string& text, std::string_view what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

std::string lowercase(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

}  // namespace

TEST_CASE("html: the page carries the JSON report whole") {
  ConfigHistory h;
  const Report r = profile_model(h);
  const std::string page = to_html(r);
  CHECK(json::parse(data_block(page)) == to_json(r));
  CHECK(page.rfind("<!DOCTYPE html>", 0) == 0);
  CHECK(count(page, "@@REPORT_JSON@@") == 0);
  CHECK(count(page, "@@SCRIPT@@") == 0);
  CHECK(page.find(std::string(html_script())) != std::string::npos);
}

TEST_CASE("html: names that read as markup cannot end the data block or run as script") {
  ConfigHistory h;
  Report r = profile_model(h);
  const std::string hostile = "</script><script>document.title='x'</script><!-- @@SCRIPT@@ </SCRIPT >";
  r.sites[0].frames[0].function = hostile;
  r.targets[1].process.comm = "<b>w</b>";
  const std::string page = to_html(r);
  const std::string data = data_block(page);
  CHECK(lowercase(data).find("</script") == std::string::npos);
  CHECK(data.find("<!--") == std::string::npos);
  CHECK(data.find('<') == std::string::npos);
  const json back = json::parse(data);
  CHECK(back == to_json(r));
  CHECK(back["sites"][0]["frames"][0]["function"] == hostile);
  // The slot text inside a name is a name: the script appears once.
  CHECK(count(page, std::string(html_script())) == 1);
  CHECK(script_safe_json(json("a<b")) == R"("a\u003cb")");
}

TEST_CASE("html: the page fetches nothing and its script cannot end its element early") {
  // Everything but the report's data: the template and the scripts.
  const std::string page = lowercase(html_page_template()), script = lowercase(html_script());
  for (const std::string& text : {page, script}) {
    for (const char* fetching : {"src=", "href=", "url(", "@import", "fetch(", "xmlhttprequest", "import(", "<link",
                                 "<iframe", "<img", "websocket", "eventsource", "sendbeacon"}) {
      INFO(fetching);
      CHECK(text.find(fetching) == std::string::npos);
    }
  }
  CHECK(script.find("</script") == std::string::npos);
  CHECK(script.find("<!--") == std::string::npos);
  CHECK(count(page, "@@report_json@@") == 1);
  CHECK(count(page, "@@script@@") == 1);
}
