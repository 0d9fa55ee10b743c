// The metrics endpoint: its address rules, the families it serves (names,
// types, unique label sets) and a real scrape of a published snapshot.
#include <prometheus/text_serializer.h>

#include <catch2/catch.hpp>
#include <set>

#include "common/error.h"
#include "report/metrics_endpoint.h"
#include "report/metrics_families.h"
#include "support/http_get.h"

using namespace memscope;

namespace {

MetricsSnapshot two_processes() {
  MetricsSnapshot s;
  s.processes.push_back({101, "server", 5000, 640000, 4900, 10000, 2048.5});
  s.processes.push_back({0, "", 7, 70, 7, 14, 0});  // the rest
  // Two sites in one function: told apart by their number.
  s.sites.push_back({101, 3, "handle (server)", 400000, 1024});
  s.sites.push_back({101, 9, "handle (server)", 100000, 0});
  s.records = 123;
  s.dropped = 4;
  s.rates = {0.005, 0.05, 0.1};
  s.agent_cpu_s = 0.25;
  s.probe_ns_per_hit = 1500;
  return s;
}

}  // namespace

TEST_CASE("metrics: the listen address is loopback unless a host is given") {
  CHECK(metrics_listen_address("9400") == "127.0.0.1:9400");
  CHECK(metrics_listen_address(":9400") == "127.0.0.1:9400");
  CHECK(metrics_listen_address("0.0.0.0:9400") == "0.0.0.0:9400");
  CHECK(metrics_listen_address("[::1]:9400") == "[::1]:9400");
  CHECK_THROWS_AS(metrics_listen_address("host"), Error);
  CHECK_THROWS_AS(metrics_listen_address("host:99999"), Error);
  CHECK_THROWS_AS(metrics_listen_address("a b:1"), Error);
}

TEST_CASE("metrics: families follow Prometheus naming and every series is unique") {
  const auto families = metric_families(two_processes());
  for (const auto& f : families) {
    INFO(f.name);
    CHECK(f.name.rfind("memscope_", 0) == 0);
    if (f.type == prometheus::MetricType::Counter) CHECK(f.name.size() > 6);
    if (f.type == prometheus::MetricType::Counter) CHECK(f.name.substr(f.name.size() - 6) == "_total");
    std::set<std::vector<prometheus::ClientMetric::Label>> seen;
    for (const auto& m : f.metric) CHECK(seen.insert(m.label).second);
  }
  const std::string text = prometheus::TextSerializer().Serialize(families);
  CHECK(text.find("memscope_allocations_total{comm=\"server\",pid=\"101\"} 5000") != std::string::npos);
  CHECK(text.find("memscope_allocations_total{comm=\"other\",pid=\"other\"} 7") != std::string::npos);
  CHECK(text.find("memscope_live_bytes{comm=\"server\",pid=\"101\"} 2048.5") != std::string::npos);
  CHECK(text.find("site_id=\"9\"") != std::string::npos);
  CHECK(text.find("memscope_records_dropped_total 4") != std::string::npos);
  CHECK(text.find("memscope_sampling_probability{tier=\"medium\"} 0.05") != std::string::npos);
  // 10000 traps at 1500 ns each.
  CHECK(text.find("memscope_probe_added_seconds_total{comm=\"server\",pid=\"101\"} 0.015") != std::string::npos);
}

TEST_CASE("metrics: without a measured probe cost no added-time series is made up") {
  MetricsSnapshot s = two_processes();
  s.probe_ns_per_hit = 0;
  for (const auto& f : metric_families(s)) CHECK(f.name != "memscope_probe_added_seconds_total");
}

TEST_CASE("metrics: the endpoint serves what was published last") {
  MetricsEndpoint endpoint("127.0.0.1:0");
  REQUIRE(endpoint.port() > 0);
  endpoint.publish(two_processes());
  std::string body = memscope::test::http_get(endpoint.port(), "/metrics");
  CHECK(body.find("memscope_allocations_total{comm=\"server\",pid=\"101\"} 5000") != std::string::npos);
  MetricsSnapshot later = two_processes();
  later.processes[0].allocations = 6000;
  endpoint.publish(later);
  body = memscope::test::http_get(endpoint.port(), "/metrics");
  CHECK(body.find("memscope_allocations_total{comm=\"server\",pid=\"101\"} 6000") != std::string::npos);
}

TEST_CASE("metrics: an address in use is an error") {
  MetricsEndpoint first("127.0.0.1:0");
  CHECK_THROWS_AS(MetricsEndpoint("127.0.0.1:" + std::to_string(first.port())), Error);
}

TEST_CASE("metrics: OpenMetrics to a client that asks for it, the 0.0.4 text to others") {
  MetricsEndpoint endpoint("127.0.0.1:0");
  endpoint.publish(two_processes());
  // What Prometheus sends when it scrapes.
  const auto om = test::http_fetch(endpoint.port(), "/metrics",
                                   "application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
                                   "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1");
  CHECK(om.status == 200);
  CHECK(om.content_type == "application/openmetrics-text; version=1.0.0; charset=utf-8");
  CHECK(om.body.find("# TYPE memscope_allocations counter\n") != std::string::npos);
  CHECK(om.body.size() > 6);
  CHECK(om.body.substr(om.body.size() - 6) == "# EOF\n");
  const auto plain = test::http_fetch(endpoint.port(), "/metrics");
  CHECK(plain.status == 200);
  CHECK(plain.content_type == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(plain.body.find("# TYPE memscope_allocations_total counter\n") != std::string::npos);
  CHECK(plain.body.find("# EOF") == std::string::npos);
  CHECK(test::http_fetch(endpoint.port(), "/other").status == 404);
}
