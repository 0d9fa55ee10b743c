// Bad input: one clear line on stderr, a non-zero exit, nothing attached.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <thread>
#include <catch2/catch.hpp>

#include "e2e/e2e_support.h"

using namespace memscope::test;
using namespace std::chrono_literals;

namespace {
size_t lines(const std::string& s) { return std::count(s.begin(), s.end(), '\n'); }

void expect_one_line_error(const Result& r, int code, const std::string& text) {
  INFO("stderr: " << r.err);
  CHECK(r.exit_code == code);
  CHECK(lines(r.err) == 1);
  CHECK(r.err.rfind("memscope-bpf: error: ", 0) == 0);
  CHECK(r.err.find(text) != std::string::npos);
  CHECK(r.out.empty());
  CHECK(memscope_programs().empty());
}

pid_t unused_pid() {
  for (pid_t p = 4194000; p > 1000; --p)
    if (kill(p, 0) != 0 && errno == ESRCH) return p;
  return 4194303;
}
}  // namespace

TEST_CASE("bad input: a PID that does not exist", "[e2e][bad]") {
  expect_one_line_error(run({kAgent, "-p", std::to_string(unused_pid())}), 1, "no process with PID");
}

TEST_CASE("bad input: a kernel thread", "[e2e][bad]") {
  expect_one_line_error(run({kAgent, "-p", "2"}), 1, "kernel thread");
}

TEST_CASE("bad input: a process with no allocator to probe", "[e2e][bad]") {
  Child target({NO_ALLOCATOR_BIN});
  std::this_thread::sleep_for(100ms);
  expect_one_line_error(run({kAgent, "-p", std::to_string(target.pid())}), 1, "no allocator to probe");
  expect_one_line_error(run({kAgent, "--", NO_ALLOCATOR_BIN}), 1, "no allocator to probe");
}

TEST_CASE("bad input: malformed options", "[e2e][bad]") {
  expect_one_line_error(run({kAgent, "--pid", "abc"}), 2, "--pid");
  expect_one_line_error(run({kAgent, "--no-such-option"}), 2, "no-such-option");
  expect_one_line_error(run({kAgent}), 2, "nothing to trace");
  expect_one_line_error(run({kAgent, "-p", "1", "--small-rate", "7"}), 2, "small-rate");
  expect_one_line_error(run({kAgent, "--", "/no/such/command"}), 1, "command not found");
}

TEST_CASE("bad input: tracing itself is refused", "[e2e][bad]") {
  // The agent's own PID is only known inside it; a shell runs it with its own PID.
  Result r = run({"/bin/sh", "-c", "exec " + kAgent + " -p $$"});
  expect_one_line_error(r, 1, "memscope-bpf itself");
}
