#include <catch2/catch.hpp>
#include <set>
#include <tuple>

#include "report/speedscope_writer.h"
#include "report_model.h"

using namespace memscope;
using namespace memscope::test;
using nlohmann::json;

namespace {
// The sample's frame names, outermost first.
std::vector<std::string> names(const json& doc, const json& stack) {
  std::vector<std::string> out;
  for (const auto& i : stack) out.push_back(doc["shared"]["frames"][i.get<size_t>()]["name"]);
  return out;
}
}  // namespace

TEST_CASE("speedscope: bytes allocated and bytes live, a sampled profile each per process") {
  ConfigHistory h;
  const json doc = to_speedscope(profile_model(h));
  CHECK(doc["$schema"] == "https://www.speedscope.app/file-format-schema.json");
  const json& profiles = doc["profiles"];
  REQUIRE(profiles.size() == 4);
  CHECK(profiles[0]["name"] == "server (1234): bytes allocated");
  CHECK(profiles[1]["name"] == "server (1234): bytes live at the end");
  CHECK(profiles[2]["name"] == "worker (99): bytes allocated");
  for (const auto& p : profiles) {
    CHECK(p["type"] == "sampled");
    CHECK(p["unit"] == "bytes");
    CHECK(p["samples"].size() == p["weights"].size());
    long long sum = 0;
    for (const auto& w : p["weights"]) sum += w.get<long long>();
    CHECK(p["startValue"] == 0);
    CHECK(p["endValue"] == sum);
  }
  // Each site's rounded bytes; the leak --top left out of the sites too.
  CHECK(profiles[0]["endValue"] == 700000 + 409600 + 3201 + 2000);
  CHECK(profiles[1]["endValue"] == 300000 + 40960 + 2000);
  CHECK(profiles[2]["endValue"] == 64000 + 500);
  CHECK(profiles[3]["endValue"] == 64);
}

TEST_CASE("speedscope: stacks are outermost first, inlined functions frames of their own with file and line") {
  ConfigHistory h;
  const json doc = to_speedscope(profile_model(h));
  const json& allocated = doc["profiles"][0];
  CHECK(names(doc, allocated["samples"][1]) ==
        std::vector<std::string>{"main", "handle_request(Request&)", "parse_header(Request&)"});
  CHECK(allocated["weights"][1] == 409600);
  const json& leaf = doc["shared"]["frames"][allocated["samples"][1][2].get<size_t>()];
  CHECK(leaf["file"] == "request.h");
  CHECK(leaf["line"] == 17);
  // Code no symbol names has neither.
  const json& plugin = doc["shared"]["frames"][allocated["samples"][0][1].get<size_t>()];
  CHECK(plugin["name"] == "libplugin.so+0x1234");
  CHECK(!plugin.contains("file"));
  CHECK(!plugin.contains("line"));
  CHECK(names(doc, doc["profiles"][2]["samples"][1]) == std::vector<std::string>{"[no stack: not_stored]"});
}

TEST_CASE("speedscope: a function at one line is one shared frame whatever the site or process") {
  ConfigHistory h;
  const json doc = to_speedscope(profile_model(h));
  std::set<std::tuple<std::string, std::string, int>> seen;
  for (const auto& f : doc["shared"]["frames"])
    CHECK(seen.insert({f["name"], f.value("file", ""), f.value("line", 0)}).second);
  // main at server.cpp:10 (two sites), 11, 12, and worker.c:5.
  int mains = 0;
  for (const auto& f : doc["shared"]["frames"]) mains += f["name"] == "main";
  CHECK(mains == 4);
}
