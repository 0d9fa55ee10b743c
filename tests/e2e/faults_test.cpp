// Faults: the agent killed with SIGKILL, in every probe mode. The target
// runs on unaffected and computes what it computes untraced; no program or
// link is left (they go with the agent's descriptors), and the tracefs
// uprobe events --follow-children defines, which outlive a killed agent, are
// removed by the next agent to start, which says so.
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <thread>

#include "e2e/e2e_support.h"

using namespace memscope::test;
using namespace std::chrono_literals;

namespace {

int exit_code(int status) { return status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1; }

// Programs are freed once the last descriptor is closed, after an RCU grace period.
bool none_loaded(const std::vector<uint32_t>& ids) {
  for (int i = 0; i < 50; ++i) {
    if (still_loaded(ids).empty()) return true;
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

}  // namespace

TEST_CASE("faults: an agent killed with SIGKILL in every probe mode harms nothing and leaves nothing",
          "[e2e][faults]") {
  const std::vector<std::string> args{"--profile", "mixed", "--scale", "2000", "--threads", "2"};
  std::vector<std::string> plain{kWorkload};
  plain.insert(plain.end(), args.begin(), args.end());
  const Result untraced = run(plain);
  REQUIRE(untraced.exit_code == 0);

  const std::vector<std::vector<std::string>> modes{
      {"--probe-mode", "session"}, {"--probe-mode", "classic"}, {"--follow-children"}};
  for (const auto& mode : modes) {
    INFO("mode " << mode[0]);
    std::vector<std::string> wl_argv{kWorkload, "--wait-start"};
    wl_argv.insert(wl_argv.end(), args.begin(), args.end());
    Child wl(wl_argv);
    REQUIRE(wl.wait_for("ready", 30s));
    const std::string report = temp_path("report.json");
    std::vector<std::string> agent_argv{kAgent, "-p", std::to_string(wl.pid()), "-o", report, "-v"};
    agent_argv.insert(agent_argv.end(), mode.begin(), mode.end());
    Child agent(agent_argv);
    REQUIRE(agent.wait_for("tracing PID", 30s));
    wl.signal(SIGUSR1);
    std::this_thread::sleep_for(300ms);  // mid-trace
    const auto ids = program_ids(agent.err());
    const auto events = uprobe_events_of(agent.pid());
    const pid_t dead = agent.pid();
    agent.signal(SIGKILL);
    agent.wait(30s);

    const int st = wl.wait(300s);
    CHECK(exit_code(st) == 0);
    CHECK(wl.out() == untraced.out);
    CHECK(!ids.empty());
    CHECK(none_loaded(ids));
    CHECK(access(report.c_str(), F_OK) != 0);  // no report that looks complete
    if (mode[0] != "--follow-children") continue;
    // The inherited probes' events outlive the agent ...
    CHECK(!events.empty());
    CHECK(uprobe_events_of(dead).size() == events.size());
    // ... until the next agent starts.
    const std::string next_report = temp_path("next.json");
    const Result next = run({kAgent, "-o", next_report, "--", kWorkload, "--scale", "10"});
    INFO(next.err);
    CHECK(next.exit_code == 0);
    CHECK(next.err.find("removed " + std::to_string(events.size()) + " uprobe events left by killed agent(s) (PID " +
                        std::to_string(dead)) != std::string::npos);
    CHECK(uprobe_events_of(dead).empty());
    unlink(next_report.c_str());
  }
}
