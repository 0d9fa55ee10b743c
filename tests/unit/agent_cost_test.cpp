#include <catch2/catch.hpp>
#include <unistd.h>

#include <cmath>

#include "aggregate/agent_cost.h"
#include "targets/process.h"
#include "report/json_report.h"
#include "support/schema_check.h"

using namespace memscope;
using memscope::test::schema_errors;

TEST_CASE("the agent cost meter measures its own CPU and the targets' over the interval") {
  const AgentCostMeter meter({getpid()});
  volatile double x = 0;
  for (int i = 0; i < 20'000'000; ++i) x = x + std::sqrt(static_cast<double>(i));  // some CPU to see
  const AgentCost c = meter.finish(7, 4096, 3);
  CHECK(c.cpu_user_s + c.cpu_system_s > 0);
  CHECK(c.max_rss_bytes > 0);
  CHECK(c.drain_batches == 7);
  CHECK(c.table_bytes == 4096);
  CHECK(c.live_blocks == 3);
  CHECK(c.target_cpu_complete);
  CHECK(c.target_cpu_s >= 0);
}

namespace {
void spin() {
  volatile double x = 0;
  for (int i = 0; i < 10'000'000; ++i) x = x + std::sqrt(static_cast<double>(i));
}
}  // namespace

TEST_CASE("the agent's setup and report work are told apart from the whole") {
  const AgentCpuMark start = agent_cpu_now();
  spin();  // setup: before the meter, as loading the probes is
  const AgentCostMeter meter({getpid()}, start);
  spin();  // tracing
  const AgentCpuMark finish_start = agent_cpu_now();
  spin();  // the report
  const AgentCost c = meter.finish(0, 0, 0, finish_start);
  const double total = c.cpu_user_s + c.cpu_system_s;
  CHECK(c.setup_cpu_s > 0);
  CHECK(c.finish_cpu_s > 0);
  CHECK(c.setup_cpu_s + c.finish_cpu_s < total);
}

TEST_CASE("a target that ended counts with the CPU it ended with") {
  AgentCostMeter meter({getpid()});
  const double now = process_cpu_seconds(getpid());
  meter.target_ended(getpid(), now + 2.0);  // as a reaped command's wait4 says
  const AgentCost c = meter.finish(0, 0, 0);
  CHECK(c.target_cpu_complete);
  CHECK(c.target_cpu_s >= Approx(2.0));
  CHECK(c.target_cpu_s < 2.5);
}

TEST_CASE("a target gone before the end makes its CPU figure incomplete") {
  const pid_t gone = 0x3ffffff0;  // above pid_max: no such process
  const AgentCost c = AgentCostMeter({gone}).finish(0, 0, 0);
  CHECK_FALSE(c.target_cpu_complete);
  CHECK(c.target_cpu_s == 0);
}

TEST_CASE("the report carries the agent's cost, and the schema requires it") {
  ConfigHistory h;
  h.next(TierConfig{}, 0, "initial settings");
  Report r;
  TargetReport t;
  t.process = {1234, 1234, "server", "/usr/bin/server"};
  r.targets.push_back(t);
  r.sampling = &h;
  r.agent = {0.25, 0.5, 0.125, 0.0625, 64ull << 20, 900, 1 << 20, 12, 40.0, true};
  nlohmann::json j = to_json(r);
  CHECK(j["agent"]["cpu_user_s"] == 0.25);
  CHECK(j["agent"]["cpu_system_s"] == 0.5);
  CHECK(j["agent"]["setup_cpu_s"] == 0.125);
  CHECK(j["agent"]["finish_cpu_s"] == 0.0625);
  CHECK(j["agent"]["max_rss_bytes"] == (64ull << 20));
  CHECK(j["agent"]["drain_batches"] == 900);
  CHECK(j["agent"]["target_cpu_s"] == 40.0);
  CHECK(schema_errors(j, MEMSCOPE_SCHEMA) == "");
  j.erase("agent");
  CHECK(schema_errors(j, MEMSCOPE_SCHEMA) != "");
}
