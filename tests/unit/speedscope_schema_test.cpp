// The speedscope writer's output against the JSON schema speedscope
// publishes in its npm package (dist/release/file-format-schema.json),
// validated with valijson. Run by tests/tools/with_speedscope_schema.sh,
// which fetches the package with npm and sets SPEEDSCOPE_SCHEMA; skipped
// (77) where npm is not installed.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <cstdlib>

#include "report/speedscope_writer.h"
#include "report_model.h"
#include "support/schema_check.h"

using namespace memscope;
using namespace memscope::test;
using nlohmann::json;

namespace {
std::string schema_path() {
  const char* p = getenv("SPEEDSCOPE_SCHEMA");
  return p ? p : "";
}
}  // namespace

TEST_CASE("speedscope: the file matches the schema speedscope publishes") {
  ConfigHistory h;
  const json doc = to_speedscope(profile_model(h));
  CHECK(schema_errors(doc, schema_path()) == "");
  CHECK(schema_errors(to_speedscope(Report{}), schema_path()) == "");
}

TEST_CASE("speedscope: the schema catches a file that breaks it") {
  ConfigHistory h;
  const json doc = to_speedscope(profile_model(h));
  json bad = doc;
  bad["profiles"][0]["unit"] = "kilobytes";
  CHECK(schema_errors(bad, schema_path()) != "");
  bad = doc;
  bad["profiles"][1].erase("weights");
  CHECK(schema_errors(bad, schema_path()) != "");
  bad = doc;
  bad["shared"]["frames"][0].erase("name");
  CHECK(schema_errors(bad, schema_path()) != "");
}

int main(int argc, char** argv) {
  if (schema_path().empty()) {
    fprintf(stderr, "SPEEDSCOPE_SCHEMA is not set: run through tests/tools/with_speedscope_schema.sh\n");
    return 1;
  }
  return Catch::Session().run(argc, argv);
}
