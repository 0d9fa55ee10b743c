// Checks on the symbolizer's fixture shared by the unit tests that resolve
// it (from its own DWARF, a debug file found locally, or a debuginfod server).
#pragma once
#include <catch2/catch.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "symbolize/frame.h"
#include "symfix.h"

namespace memscope::test {

// fixture_inlined's call, inlined into fixture_outer: two frames at one
// address, each at its own line of the fixture.
inline void check_inlined_frames(const std::vector<Frame>& frames, uint64_t ra, const std::string& module) {
  REQUIRE(frames.size() == 2);
  CHECK(frames[0].function == "fixture_inlined");
  CHECK(frames[0].inlined);
  CHECK(frames[0].line == marked_line("inlined-call"));
  CHECK(frames[1].function == "fixture_outer");
  CHECK(!frames[1].inlined);
  CHECK(frames[1].line == marked_line("outer-call"));
  for (const Frame& f : frames) {
    CHECK(std::filesystem::path(f.file).filename() == "symbolize_fixture.c");
    CHECK(f.address == ra);
    CHECK(f.module == module);
  }
}

}  // namespace memscope::test
