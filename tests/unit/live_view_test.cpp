// The --live screen: what it shows, and that it fits the terminal it is
// drawn on whatever the sites' names.
#include <catch2/catch.hpp>
#include <regex>
#include <sstream>

#include "report/live_view.h"

using namespace memscope;

namespace {

LiveFrame frame() {
  LiveFrame f;
  f.elapsed_s = 12;
  f.interval_s = 1;
  f.processes = 1;
  f.calls_per_s = 402700;
  f.bytes_per_s = 512 << 20;
  f.calls = 4000000;
  f.records = 11640;
  f.dropped = 30;
  f.dropped_last = 7;
  f.rates = {0.005, 0.05, 0.1};
  f.agent_cpu_pct = 0.6;
  f.probe_added_pct = 2.5;
  for (int i = 0; i < 40; ++i)
    f.by_rate.push_back({"site_" + std::to_string(i) + " (server) <- " + std::string(200, 'x'), 42,
                         double(1000 - i) * 1024, 10.0 * (40 - i), 0});
  f.by_live.push_back({"site_leak (server)", 42, 0, 0, 3 << 20});
  return f;
}

// The screen's lines as a terminal shows them: escape sequences removed.
std::vector<std::string> visible_lines(const std::string& screen) {
  const std::string plain = std::regex_replace(screen, std::regex("\x1b\\[[0-9;?]*[A-Za-z]"), "");
  std::vector<std::string> lines;
  std::istringstream in(plain);
  for (std::string l; std::getline(in, l);) {
    if (!l.empty() && l.back() == '\r') l.pop_back();
    lines.push_back(l);
  }
  return lines;
}

}  // namespace

TEST_CASE("live view: totals, rates, drops, cost and both site tables") {
  const std::string screen = render_live(frame(), 40, 120);
  CHECK(screen.rfind("\x1b[H", 0) == 0);  // drawn from the top left, over the last one
  CHECK(screen.find("402.7k/s") != std::string::npos);
  CHECK(screen.find("dropped 30 (7 in the last interval") != std::string::npos);
  CHECK(screen.find("probes add 2.5%") != std::string::npos);
  CHECK(screen.find("Top sites by allocation rate") != std::string::npos);
  CHECK(screen.find("site_0 (server)") != std::string::npos);
  CHECK(screen.find("Top sites by live bytes") != std::string::npos);
  CHECK(screen.find("site_leak (server)") != std::string::npos);
  CHECK(screen.find("3.0 MiB") != std::string::npos);
}

TEST_CASE("live view: never wider or taller than the terminal") {
  for (auto [rows, cols] : {std::pair{24, 80}, std::pair{10, 40}, std::pair{60, 200}}) {
    INFO(rows << "x" << cols);
    const auto lines = visible_lines(render_live(frame(), rows, cols));
    CHECK(static_cast<int>(lines.size()) < rows);
    for (const auto& l : lines) CHECK(static_cast<int>(l.size()) <= cols);
  }
}

TEST_CASE("live view: an unmeasured probe cost is said, not shown as zero") {
  LiveFrame f = frame();
  f.probe_added_pct = -1;
  CHECK(render_live(f, 24, 80).find("probe cost not measured") != std::string::npos);
}

TEST_CASE("live view: a site or program name cannot drive the terminal") {
  // A traced program names itself (prctl(PR_SET_NAME)) or its symbols with
  // escape sequences: clear the screen, retitle the window, a C1 CSI.
  LiveFrame f = frame();
  f.by_rate[0].name =
      "evil\x1b[2J\x1b]0;owned\x07 (srv\xc2\x9b"
      "1m)";
  f.by_live[0].name = "leak\r\n\x1b[31m (server)";
  const std::string screen = render_live(f, 40, 200);
  // Only the screen's own sequences remain: home, clear to end of line, of screen.
  const std::string own = std::regex_replace(screen, std::regex("\x1b\\[[HKJ]"), "");
  CHECK(own.find('\x1b') == std::string::npos);
  CHECK(own.find('\x07') == std::string::npos);
  CHECK(own.find("\xc2\x9b") == std::string::npos);
  CHECK(screen.find("evil\\x1b[2J\\x1b]0;owned\\x07 (srv\\xc2\\x9b1m)") != std::string::npos);
  CHECK(screen.find("leak\\x0d\\x0a\\x1b[31m (server)") != std::string::npos);
}
