// The OpenMetrics text: its lines for counters and gauges, escaping, the
// content negotiation, and that the OpenMetrics project's reference parser
// (prometheus_client's, Debian's python3-prometheus-client) reads it whole.
#include "report/openmetrics_text.h"

#include <catch2/catch.hpp>
#include <fstream>

#include "common/error.h"
#include "report/metrics_families.h"
#include "support/process.h"

using namespace memscope;

namespace {

bool has_line(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

MetricsSnapshot awkward_snapshot() {
  MetricsSnapshot s;
  s.processes.push_back({42, "we\"ird\\na\nme", 1000, 65536, 990, 2000, 512.25});
  s.processes.push_back({0, "", 3, 30, 3, 6, 0});
  s.sites.push_back({42, 7, "handle (server)", 4096, 0.5});
  s.records = 10;
  s.dropped = 1;
  s.rates = {0.001, 0.01, 1};
  s.agent_cpu_s = 0.125;
  s.probe_ns_per_hit = 1000;
  return s;
}

}  // namespace

TEST_CASE("openmetrics: counters drop _total from the family, gauges keep their name, units are declared") {
  const std::string text = openmetrics_text(metric_families(awkward_snapshot()));
  CHECK(has_line(text, "# TYPE memscope_allocations counter"));
  CHECK(has_line(text, "memscope_allocations_total{comm=\"other\",pid=\"other\"} 3"));
  CHECK(has_line(text, "# TYPE memscope_allocated_bytes counter"));
  CHECK(has_line(text, "# UNIT memscope_allocated_bytes bytes"));
  CHECK(has_line(text, "# TYPE memscope_live_bytes gauge"));
  CHECK(has_line(text, "# UNIT memscope_live_bytes bytes"));
  CHECK(has_line(text, "# UNIT memscope_agent_cpu_seconds seconds"));
  CHECK(has_line(text, "memscope_agent_cpu_seconds_total 0.125"));
  CHECK(has_line(text, "memscope_sampling_probability{tier=\"large\"} 1"));
  CHECK(has_line(text, "memscope_site_live_bytes{pid=\"42\",site=\"handle (server)\",site_id=\"7\"} 0.5"));
  CHECK(text.find("# TYPE memscope_allocations_total") == std::string::npos);
  CHECK(text.size() >= 6);
  CHECK(text.substr(text.size() - 6) == "# EOF\n");
  CHECK(text.find("# EOF") == text.size() - 6);  // once, last
}

TEST_CASE("openmetrics: label values escape quote, backslash and newline") {
  const std::string text = openmetrics_text(metric_families(awkward_snapshot()));
  CHECK(has_line(text, R"(memscope_allocations_total{comm="we\"ird\\na\nme",pid="42"} 1000)"));
}

TEST_CASE("openmetrics: only what Prometheus asks for as OpenMetrics gets it") {
  CHECK(accepts_openmetrics(
      "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
      "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"));
  CHECK(accepts_openmetrics("application/openmetrics-text"));
  CHECK_FALSE(accepts_openmetrics(""));
  CHECK_FALSE(accepts_openmetrics("*/*"));
  CHECK_FALSE(accepts_openmetrics("text/plain;version=0.0.4"));
  CHECK_FALSE(accepts_openmetrics("application/openmetrics-text;q=0,text/plain"));
}

TEST_CASE("openmetrics: a histogram is refused, not written wrong") {
  prometheus::MetricFamily f;
  f.name = "memscope_sizes";
  f.type = prometheus::MetricType::Histogram;
  CHECK_THROWS_AS(openmetrics_text({f}), Error);
}

TEST_CASE("openmetrics: the reference parser reads every family and sample back") {
  const auto families = metric_families(awkward_snapshot());
  const std::string path = test::temp_path("page.om");
  std::ofstream(path) << openmetrics_text(families);
  // Strict: it rejects a missing # EOF, a counter family named *_total, a
  // unit that the name does not end with, bad escapes.
  const char* script =
      "import sys\n"
      "from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse\n"
      "fams = list(parse(open(sys.argv[1]).read()))\n"
      "print(len(fams), sum(len(f.samples) for f in fams))\n"
      "for f in fams:\n"
      "    for s in f.samples:\n"
      "        if s.name == 'memscope_allocations_total' and s.labels['pid'] == '42': print(repr(s.labels['comm']))\n";
  const test::Result r = test::run({"/usr/bin/python3", "-c", script, path});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  size_t samples = 0;
  for (const auto& f : families) samples += f.metric.size();
  CHECK(r.out == std::to_string(families.size()) + " " + std::to_string(samples) + "\n'we\"ird\\\\na\\nme'\n");
}
