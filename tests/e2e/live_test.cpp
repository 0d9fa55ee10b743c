// --live: on a terminal (a pseudo-terminal from util-linux's `script`, as an
// ssh session or tmux pane gives one) the top-like view in the alternate
// screen, left before the final report; with stderr a file, the plain
// interval lines instead and no escape sequence.
#include <unistd.h>

#include <catch2/catch.hpp>

#include "e2e/e2e_support.h"

using namespace memscope::test;
using namespace std::chrono_literals;

TEST_CASE("live: a terminal gets the top-like view and a file gets interval lines", "[e2e][live]") {
  const std::string report = temp_path("report.json");
  const std::string agent =
      kAgent + " --live -o " + report + " -- " + kWorkload + " --profile web --seconds 3 --threads 1 > /dev/null";
  const std::string typescript = temp_path("typescript");
  const Result tty = run({"/usr/bin/script", "-qfec", "stty rows 40 cols 132; " + agent, typescript});
  INFO(tty.err);
  REQUIRE(tty.exit_code == 0);
  const std::string screen = slurp(typescript);
  const auto enter = screen.find("\x1b[?1049h"), leave = screen.find("\x1b[?1049l");
  REQUIRE(enter != std::string::npos);
  REQUIRE(leave != std::string::npos);
  CHECK(enter < screen.find("Top sites by allocation rate"));
  CHECK(screen.find("Top sites by live bytes") < leave);
  CHECK(screen.find("step (memscope-workload) <- ") != std::string::npos);
  // The final summary comes after the view, in the normal screen.
  CHECK(leave < screen.find("report written to"));

  const Result piped = run({"/bin/sh", "-c", agent});
  INFO(piped.err);
  REQUIRE(piped.exit_code == 0);
  CHECK(piped.err.find("] allocs ") != std::string::npos);
  CHECK(piped.err.find("\x1b[") == std::string::npos);
  unlink(report.c_str());
  unlink(typescript.c_str());
}
