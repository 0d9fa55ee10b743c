// --metrics-addr while tracing: the 0.0.4 page passes `promtool check
// metrics`, and a real Prometheus server started here scrapes it (as
// OpenMetrics) and answers a query for the traced process's allocation
// counter (Debian's prometheus package).
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include "e2e/e2e_support.h"
#include "support/http_get.h"

using namespace memscope::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

const char* const kPromtool = "/usr/bin/promtool";
const char* const kPrometheus = "/usr/bin/prometheus";

// The value of `series` (name and labels exactly as served) on the page; -1 when absent.
double series_value(const std::string& page, const std::string& series) {
  const auto at = page.find("\n" + series + " ");
  return at == std::string::npos ? -1 : std::stod(page.substr(at + series.size() + 2));
}

// The first value of a Prometheus instant query, or -1 until it has one.
double query(int port, const std::string& promql) {
  const std::string body = http_get(port, "/api/v1/query?query=" + promql);
  if (body.empty()) return -1;
  const json r = json::parse(body, nullptr, false);
  if (r.is_discarded() || r.value("status", "") != "success" || r["data"]["result"].empty()) return -1;
  return std::stod(r["data"]["result"][0]["value"][1].get<std::string>());
}

}  // namespace

TEST_CASE("metrics: promtool accepts the page and a Prometheus server scrapes and queries it", "[e2e][metrics]") {
  if (access(kPromtool, X_OK) != 0 || access(kPrometheus, X_OK) != 0) {
    WARN("skipped: Debian's prometheus package (promtool, prometheus) is not installed");
    return;
  }
  Child wl({kWorkload, "--wait-start", "--wait-exit", "--scale", "400000", "--threads", "1"});
  REQUIRE(wl.wait_for("ready", 30s));
  const int port = free_port();
  const std::string report = temp_path("report.json");
  Child agent({kAgent, "-p", std::to_string(wl.pid()), "-o", report, "--metrics-addr", std::to_string(port)});
  REQUIRE(agent.wait_for("tracing PID", 30s));
  CHECK(agent.err().find("metrics at http://127.0.0.1:" + std::to_string(port) + "/metrics") != std::string::npos);
  wl.signal(SIGUSR1);
  std::this_thread::sleep_for(2s);

  const std::string series =
      "memscope_allocations_total{comm=\"memscope-worklo\",pid=\"" + std::to_string(wl.pid()) + "\"}";
  const std::string page = http_get(port, "/metrics");
  INFO(page);
  CHECK(series_value(page, series) > 0);
  const std::string page_file = temp_path("metrics.txt");
  std::ofstream(page_file) << page;
  const Result check = run({"/bin/sh", "-c", std::string(kPromtool) + " check metrics < " + page_file});
  INFO(check.out << check.err);
  CHECK(check.exit_code == 0);

  // A real server, scraping every second, asked back for the series.
  const std::string dir = temp_path("prometheus");
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/prometheus.yml") << "global:\n  scrape_interval: 1s\nscrape_configs:\n"
                                         << "  - job_name: memscope\n    static_configs:\n"
                                         << "      - targets: ['127.0.0.1:" << port << "']\n";
  const int prom_port = free_port();
  Child prom({kPrometheus, "--config.file=" + dir + "/prometheus.yml", "--storage.tsdb.path=" + dir + "/data",
              "--web.listen-address=127.0.0.1:" + std::to_string(prom_port)});
  double scraped = -1;
  const std::string promql = "memscope_allocations_total%7Bpid%3D%22" + std::to_string(wl.pid()) + "%22%7D";
  for (int i = 0; i < 60 && scraped <= 0; ++i) {
    std::this_thread::sleep_for(500ms);
    scraped = query(prom_port, promql);
  }
  // It scraped OpenMetrics (it asks for it first): only that format carries
  // units, which the server keeps as the family's metadata.
  const json meta = json::parse(http_get(prom_port, "/api/v1/metadata?metric=memscope_allocated_bytes"), nullptr, false);
  prom.signal(SIGTERM);
  prom.wait(30s);
  INFO(prom.err());
  CHECK(scraped > 0);
  INFO(meta.dump());
  REQUIRE(!meta.is_discarded());
  REQUIRE(meta["data"].contains("memscope_allocated_bytes"));
  CHECK(meta["data"]["memscope_allocated_bytes"][0]["type"] == "counter");
  CHECK(meta["data"]["memscope_allocated_bytes"][0]["unit"] == "bytes");

  REQUIRE(wl.wait_for("done", 300s));
  agent.signal(SIGINT);
  REQUIRE(agent.wait(60s) != -1);
  const json r = load_json(report);
  // What the server stored was read while tracing: at most the final count.
  CHECK(scraped <= r["exact"]["allocation_calls"].get<double>());
  wl.signal(SIGUSR1);
  wl.wait(30s);
  unlink(report.c_str());
  unlink(page_file.c_str());
  std::filesystem::remove_all(dir);
  // Nothing listens once the agent is gone.
  CHECK(http_get(port, "/metrics").empty());
}
