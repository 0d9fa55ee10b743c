#include <catch2/catch.hpp>

#include <vector>

#include "cli/options.h"

using namespace memscope;

namespace {
std::optional<Options> parse(std::vector<std::string> args, int& code) {
  args.insert(args.begin(), "memscope-bpf");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  code = -1;
  return parse_options(static_cast<int>(argv.size()), argv.data(), code);
}
}  // namespace

TEST_CASE("pids, duration, interval, output and top are read") {
  int code;
  auto o = parse({"-p", "12", "--pid", "34", "-d", "2.5", "-i", "1", "-o", "-", "--top", "5"}, code);
  REQUIRE(o);
  CHECK(o->pids == std::vector<pid_t>{12, 34});
  CHECK(o->duration_s == 2.5);
  CHECK(o->interval_s == 1);
  CHECK(o->outputs == std::vector<OutputFile>{{"-", OutputFormat::json}});
  CHECK(o->top == 5);
}

TEST_CASE("a command after -- is kept whole, options included") {
  int code;
  auto o = parse({"--sample-all", "--", "prog", "--flag", "-x"}, code);
  REQUIRE(o);
  CHECK(o->command == std::vector<std::string>{"prog", "--flag", "-x"});
  CHECK(o->tiers.rate[0] == 1.0);
}

TEST_CASE("tier thresholds and rates are settable") {
  int code;
  auto o = parse({"-p", "1", "--small-below", "512", "--large-above", "4096", "--small-rate", "0.01", "--medium-rate",
                  "0.2", "--guarantee", "500"},
                 code);
  REQUIRE(o);
  CHECK(o->tiers.medium_min == 512);
  CHECK(o->tiers.large_min == 4097);
  CHECK(o->tiers.rate[0] == 0.01);
  CHECK(o->tiers.rate[1] == 0.2);
  CHECK(o->tiers.guarantee == 500);
}

TEST_CASE("malformed options are usage errors with exit code 2") {
  int code;
  CHECK_FALSE(parse({"--pid", "abc"}, code));
  CHECK(code == 2);
  CHECK_FALSE(parse({"--bogus"}, code));
  CHECK(code == 2);
  CHECK_FALSE(parse({}, code));
  CHECK(code == 2);
  CHECK_FALSE(parse({"-p", "1", "--small-rate", "2"}, code));
  CHECK(code == 2);
  CHECK_FALSE(parse({"-p", "1", "--ringbuf-size", "5000"}, code));
  CHECK(code == 2);
  CHECK_FALSE(parse({"-p", "1", "--small-below", "9000"}, code));
  CHECK(code == 2);
}

TEST_CASE("--comm and --follow-children and --all choose processes and --all stands alone") {
  int code;
  auto o = parse({"--comm", "nginx", "--comm", "redis-server", "--placement", "entry"}, code);
  REQUIRE(o);
  CHECK(o->follow.comms == std::vector<std::string>{"nginx", "redis-server"});
  CHECK(o->follow.placement == PlacementMode::Entry);
  CHECK(o->following());
  o = parse({"-p", "7", "--follow-children"}, code);
  REQUIRE(o);
  CHECK(o->follow.children);
  o = parse({"--all"}, code);
  REQUIRE(o);
  CHECK(o->follow.all);
  CHECK_FALSE(parse({"--all", "-p", "7"}, code));
  CHECK(code == 2);
  CHECK_FALSE(parse({"--all", "--comm", "x"}, code));
  CHECK(code == 2);
  CHECK_FALSE(parse({"--comm", "a/b"}, code));
  CHECK(code == 2);
  CHECK_FALSE(parse({"--follow-children"}, code));  // nothing to follow from
  CHECK(code == 2);
}

TEST_CASE("following children takes classic probes, which children inherit, and refuses session ones") {
  int code;
  auto o = parse({"-p", "7", "--follow-children"}, code);
  REQUIRE(o);
  CHECK(o->probe_mode == ProbeMode::Classic);
  o = parse({"-p", "7", "--follow-children", "--probe-mode", "classic"}, code);
  REQUIRE(o);
  CHECK(o->probe_mode == ProbeMode::Classic);
  CHECK_FALSE(parse({"-p", "7", "--follow-children", "--probe-mode", "session"}, code));
  CHECK(code == 2);
  // --all probes every process already: the mode is left as asked.
  o = parse({"--all", "--follow-children", "--probe-mode", "session"}, code);
  REQUIRE(o);
  CHECK(o->probe_mode == ProbeMode::Session);
  o = parse({"-p", "7"}, code);
  REQUIRE(o);
  CHECK(o->probe_mode == ProbeMode::Auto);
}

TEST_CASE("syscall counting is off unless --syscall-counts") {
  int code;
  auto o = parse({"-p", "1"}, code);
  REQUIRE(o);
  CHECK(!o->syscall_counts);
  o = parse({"-p", "1", "--syscall-counts"}, code);
  REQUIRE(o);
  CHECK(o->syscall_counts);
}

TEST_CASE("--duty-cycle is WINDOW/PERIOD and --duty-window belongs to --max-overhead") {
  int code;
  auto o = parse({"-p", "1", "--duty-cycle", "1/30"}, code);
  REQUIRE(o);
  CHECK(o->duty_window_s == 1);
  CHECK(o->duty_period_s == 30);
  for (const char* bad : {"1", "1/0.5", "0.01/1", "inf/inf", "1/30x", "1:30", "nan/2"}) {
    INFO(bad);
    CHECK_FALSE(parse({"-p", "1", "--duty-cycle", bad}, code));
    CHECK(code == 2);
  }
  CHECK_FALSE(parse({"-p", "1", "--duty-cycle", "1/30", "--max-overhead", "3"}, code));
  CHECK(code == 2);
  CHECK_FALSE(parse({"-p", "1", "--duty-window", "0.5"}, code));
  CHECK(code == 2);
  o = parse({"-p", "1", "--max-overhead", "3", "--duty-window", "0.5"}, code);
  REQUIRE(o);
  CHECK(o->max_overhead_window_s == 0.5);
  CHECK(!o->window_releases);
}

TEST_CASE("--window-releases windows the release probes of --max-overhead, and needs it") {
  int code;
  CHECK_FALSE(parse({"-p", "1", "--window-releases"}, code));
  CHECK(code == 2);
  CHECK_FALSE(parse({"-p", "1", "--duty-cycle", "1/30", "--window-releases"}, code));
  auto o = parse({"-p", "1", "--max-overhead", "3", "--window-releases"}, code);
  REQUIRE(o);
  CHECK(o->window_releases);
}

TEST_CASE("outputs: -o is repeatable, each in the format its name ends with, --format overriding") {
  int code;
  auto o = parse({"-p", "1"}, code);
  REQUIRE(o);
  CHECK(o->outputs == std::vector<OutputFile>{{"memscope-report.json", OutputFormat::json}});
  CHECK(o->folded_value == FoldedValue::alloc);
  o = parse({"-p", "1", "-o", "r.json", "-o", "h.pb.gz", "--output", "s.folded", "-o", "v.speedscope.json",
             "--folded-value", "live"},
            code);
  REQUIRE(o);
  CHECK(o->outputs == std::vector<OutputFile>{{"r.json", OutputFormat::json},
                                              {"h.pb.gz", OutputFormat::pprof},
                                              {"s.folded", OutputFormat::folded},
                                              {"v.speedscope.json", OutputFormat::speedscope}});
  CHECK(o->folded_value == FoldedValue::live);
  // One file per -o: a word after it is not a second output.
  o = parse({"-o", "a.json", "prog", "arg"}, code);
  REQUIRE(o);
  CHECK(o->outputs == std::vector<OutputFile>{{"a.json", OutputFormat::json}});
  CHECK(o->command == std::vector<std::string>{"prog", "arg"});
  o = parse({"-p", "1", "-o", "-", "--format", "folded"}, code);
  REQUIRE(o);
  CHECK(o->outputs == std::vector<OutputFile>{{"-", OutputFormat::folded}});
  o = parse({"-p", "1", "-o", "heap.html", "-o", "page", "--format", "html"}, code);
  REQUIRE(o);
  CHECK(o->outputs == std::vector<OutputFile>{{"heap.html", OutputFormat::html}, {"page", OutputFormat::html}});
}

TEST_CASE("outputs: an unknown format is a malformed option") {
  int code;
  for (std::vector<std::string> bad : {std::vector<std::string>{"-o", "report.txt"},
                                       {"-o", "report.htm"},
                                       {"-o", "r.json", "--format", "xml"},
                                       {"-o", "-", "-o", "-"},
                                       {"--folded-value", "peak"}}) {
    bad.insert(bad.begin(), {"-p", "1"});
    CHECK_FALSE(parse(bad, code));
    CHECK(code == 2);
  }
}
