// The summary printed on stderr at the end (report/text_summary.h).
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>

#include "report/text_summary.h"
#include "report_model.h"

using namespace memscope;
using namespace memscope::test;

namespace {
std::string printed_summary(const Report& r) {
  char* text = nullptr;
  size_t size = 0;
  FILE* out = open_memstream(&text, &size);
  REQUIRE(out);
  print_final(out, r, 5);
  fclose(out);
  const std::string printed(text, size);
  free(text);
  return printed;
}
}  // namespace

TEST_CASE("text summary: with release windows it says the frees are counted inside them only") {
  ConfigHistory h;
  Report r = profile_model(h);
  CHECK(printed_summary(r).find("release windows") == std::string::npos);
  r.duty.enabled = r.duty.releases_windowed = true;
  r.duty.release_windows = 12;
  CHECK(printed_summary(r).find("release windows: free and delete counted inside them only (12 windows") !=
        std::string::npos);
}

TEST_CASE("text summary: under windows it says how many, and when one window makes the intervals too narrow") {
  ConfigHistory h;
  Report r = profile_model(h);
  CHECK(printed_summary(r).find("allocation windows") == std::string::npos);
  r.duty.enabled = true;
  r.duty.windows = 9;
  r.duty.window_s = 0.2;
  r.duty.period_s = 6;
  r.duty.windows_by_process = {{100, 9}};
  std::string printed = printed_summary(r);
  CHECK(printed.find("allocation windows: 9 (the last 0.2 s every 6 s") != std::string::npos);
  CHECK(printed.find("one window only") == std::string::npos);
  r.duty.windows_by_process[101] = 1;
  CHECK(printed_summary(r).find("a process traced in one window only") != std::string::npos);
}

TEST_CASE("text summary: names the traced programs chose are printed escaped") {
  ConfigHistory h;
  Report r = profile_model(h);
  r.targets[0].process.comm = "\x1b]0;owned\x07";
  r.targets[0].allocator.path = "/tmp/\x1b[2Jlibc.so";
  for (auto* list : {&r.sites, &r.leaks})
    for (SiteReport& s : *list)
      for (Frame& f : s.frames) f.function = "fn\x1b[31m\xff";
  REQUIRE(!r.sites.empty());
  const std::string printed = printed_summary(r);
  CHECK(printed.find('\x1b') == std::string::npos);
  CHECK(printed.find('\x07') == std::string::npos);
  CHECK(printed.find('\xff') == std::string::npos);
  CHECK(printed.find("(\\x1b]0;owned\\x07) allocator /tmp/\\x1b[2Jlibc.so") != std::string::npos);
  CHECK(printed.find("fn\\x1b[31m\\xff") != std::string::npos);
}
