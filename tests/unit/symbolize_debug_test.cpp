// The symbolizer against its fixture (tests/fixtures/symbolize_fixture.c):
// inlined frames, separate debug files found by build id and by debuglink,
// code no symbol covers, and a file replaced on disk while mapped.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "symbolize/symbolizer.h"
#include "symfix.h"
#include "symfix_checks.h"

using namespace memscope;
using namespace memscope::test;
namespace fs = std::filesystem;

namespace {}  // namespace

TEST_CASE("an address in inlined code gives the inlined function, then the function it is inlined into") {
  TempDir dir;
  LoadedFixture fix(SYMFIX_LIB, dir.path + "/libfix.so");
  const uint64_t ra = fix.inlined_return_address();
  Symbolizer s;
  REQUIRE(s.snapshot(getpid()));
  const auto frames = s.symbolize(getpid(), ra);
  check_inlined_frames(frames, ra, "libfix.so");
  CHECK(frames[1].build_id == build_id_of(SYMFIX_LIB));
  CHECK(frames[1].offset == ra - fix.base());
  // The cached answer is the same.
  CHECK(s.symbolize(getpid(), ra).size() == 2);
}

TEST_CASE("an object without .debug_aranges (clang's default) still gives its lines and inlined frames") {
  TempDir dir;
  LoadedFixture fix(SYMFIX_NOARANGES, dir.path + "/libfix.so");
  const uint64_t ra = fix.inlined_return_address();
  Symbolizer s;
  REQUIRE(s.snapshot(getpid()));
  check_inlined_frames(s.symbolize(getpid(), ra), ra, "libfix.so");
}

TEST_CASE("a stripped module's debug file is found by build id") {
  TempDir debug, dir;
  const std::string id = build_id_of(SYMFIX_STRIPPED);
  REQUIRE(id == build_id_of(SYMFIX_LIB));
  const std::string debug_file = debug.path + "/.build-id/" + id.substr(0, 2) + "/" + id.substr(2) + ".debug";
  fs::create_directories(fs::path(debug_file).parent_path());
  fs::copy_file(SYMFIX_DEBUG, debug_file);
  LoadedFixture fix(SYMFIX_STRIPPED, dir.path + "/libfix.so");
  const uint64_t ra = fix.inlined_return_address();

  SECTION("under the debuginfo path") {
    Symbolizer s(debug.path);
    REQUIRE(s.snapshot(getpid()));
    check_inlined_frames(s.symbolize(getpid(), ra), ra, "libfix.so");
  }
  SECTION("not there, only the dynamic symbol table names the function") {
    TempDir empty;
    Symbolizer s(empty.path);
    REQUIRE(s.snapshot(getpid()));
    const auto frames = s.symbolize(getpid(), ra);
    REQUIRE(frames.size() == 1);
    CHECK(frames[0].function == "fixture_outer");
    CHECK(frames[0].file.empty());
    CHECK(frames[0].line == 0);
  }
}

TEST_CASE("a stripped module's debug file is found by its .gnu_debuglink") {
  TempDir dir;
  const std::string where = GENERATE(std::string(""), std::string("/.debug"));
  fs::create_directories(dir.path + where);
  fs::copy_file(SYMFIX_DEBUG, dir.path + where + "/symfix.debug");
  LoadedFixture fix(SYMFIX_STRIPPED, dir.path + "/libfix.so");
  const uint64_t ra = fix.inlined_return_address();
  TempDir no_build_ids;
  Symbolizer s(":.debug:" + no_build_ids.path);
  REQUIRE(s.snapshot(getpid()));
  INFO("debug file in " << dir.path + where);
  check_inlined_frames(s.symbolize(getpid(), ra), ra, "libfix.so");
}

TEST_CASE("code that no symbol covers is shown as module, offset and build id") {
  TempDir dir, empty;
  LoadedFixture fix(SYMFIX_STRIPPED, dir.path + "/libfix.so");
  const uint64_t ra = fix.hidden_return_address();
  Symbolizer s(empty.path);
  REQUIRE(s.snapshot(getpid()));
  const auto frames = s.symbolize(getpid(), ra);
  REQUIRE(frames.size() == 1);
  char expected[64];
  snprintf(expected, sizeof expected, "libfix.so+0x%llx", static_cast<unsigned long long>(ra - fix.base()));
  CHECK(frames[0].function == expected);
  CHECK(frames[0].offset == ra - fix.base());
  CHECK(frames[0].build_id == build_id_of(SYMFIX_STRIPPED));
  CHECK(frames[0].file.empty());
}

TEST_CASE("an address past the end of the symbol before it is not named after that symbol") {
  TempDir dir;
  LoadedFixture fix(SYMFIX_LIB, dir.path + "/libfix.so");
  const uint64_t short_fn = fix.short_symbol();
  REQUIRE(short_fn != 0);
  Symbolizer s;
  REQUIRE(s.snapshot(getpid()));
  // One byte past the call: the symbol's own byte is fixture_short.
  CHECK(s.symbolize(getpid(), short_fn + 1).at(0).function == "fixture_short");
  for (uint64_t past : {2, 17, 63}) {
    const auto frames = s.symbolize(getpid(), short_fn + past);
    REQUIRE(frames.size() == 1);
    char expected[64];
    snprintf(expected, sizeof expected, "libfix.so+0x%llx",
             static_cast<unsigned long long>(short_fn + past - fix.base()));
    CHECK(frames[0].function == expected);
    CHECK(frames[0].file.empty());
  }
}

TEST_CASE("an address after a symbol of no size is not named after it") {
  // libdwfl gives the nearest sizeless symbol before an address that no
  // sized one covers; nothing says the code there is that symbol's.
  TempDir dir;
  LoadedFixture fix(SYMFIX_LIB, dir.path + "/libfix.so");
  const uint64_t sizeless = fix.sizeless_symbol();
  REQUIRE(sizeless != 0);
  Symbolizer s;
  REQUIRE(s.snapshot(getpid()));
  const auto frames = s.symbolize(getpid(), sizeless + 10);
  REQUIRE(frames.size() == 1);
  CHECK(frames[0].function.find("fixture_sizeless") == std::string::npos);
  CHECK(frames[0].function.rfind("libfix.so+0x", 0) == 0);
}

TEST_CASE("a module replaced on disk while mapped resolves to what was mapped") {
  // The replaced path names another file: the mapping is reached through
  // /proc/PID/map_files, which needs CAP_SYS_ADMIN.
  if (geteuid() != 0) return;
  TempDir dir;
  const std::string path = dir.path + "/libfix.so";
  LoadedFixture fix(SYMFIX_LIB, path);
  const uint64_t ra = fix.inlined_return_address();
  Symbolizer before;
  REQUIRE(before.snapshot(getpid()));
  // A new file renamed over the path, as a package upgrade does.
  fs::copy_file("/usr/lib/x86_64-linux-gnu/libz.so.1", dir.path + "/new.so");
  fs::rename(dir.path + "/new.so", path);
  Symbolizer after;
  REQUIRE(after.snapshot(getpid()));
  for (Symbolizer* s : {&before, &after}) {
    const auto frames = s->symbolize(getpid(), ra);
    check_inlined_frames(frames, ra, "libfix.so");
    CHECK(frames[1].build_id == build_id_of(SYMFIX_LIB));
  }
}

TEST_CASE("a debug file beside the module that another user owns is not read") {
  // libdwfl maps the debug file it finds; its owner could truncate it under
  // the agent (SIGBUS).
  if (geteuid() != 0) return;
  TempDir dir, no_build_ids;
  fs::copy_file(SYMFIX_DEBUG, dir.path + "/symfix.debug");
  REQUIRE(chown((dir.path + "/symfix.debug").c_str(), 65534, 65534) == 0);
  LoadedFixture fix(SYMFIX_STRIPPED, dir.path + "/libfix.so");
  const uint64_t ra = fix.inlined_return_address();
  Symbolizer s(":.debug:" + no_build_ids.path);
  REQUIRE(s.snapshot(getpid()));
  const auto frames = s.symbolize(getpid(), ra);
  REQUIRE(frames.size() == 1);
  CHECK(frames[0].function == "fixture_outer");  // .dynsym's name, no lines
  CHECK(frames[0].file.empty());
}
