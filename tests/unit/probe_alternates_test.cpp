// Further probe sites of a release entry point (PlacementInput::skip): a
// second or third process traced with session links gets its own uprobe
// there (ProcessTracker::own_site).
#include <catch2/catch.hpp>
#include <cstdint>
#include <vector>

#include "targets/probe_placement.h"

using namespace memscope;

TEST_CASE("placement: further sites, each past the one before, for another process's own probes", "[placement]") {
  auto further = [](std::vector<uint8_t> code, unsigned skip) {
    PlacementInput in;
    in.code = code;
    in.address = 0x1000;
    in.arg_count = 1;
    in.skip_if_arg0_null = true;
    in.skip = skip;
    return choose_probe_site(in);
  };
  // test rdi,rdi; je L; push rbp; push rbx: +5, then +6 past one push.
  const std::vector<uint8_t> code = {0x48, 0x85, 0xff, 0x74, 0x20, 0x55, 0x53};
  Placement p = further(code, 0);
  CHECK(p.found);
  CHECK(p.offset == 5);
  p = further(code, 1);
  CHECK(p.found);
  CHECK(p.offset == 6);
  CHECK(p.stack_delta == 8);
  CHECK(p.instruction == "push rbx");
  // None after that: a walk past the end finds no third site (never offset 0).
  p = further(code, 2);
  CHECK(!p.found);
  // Offset 0 emulated counts as the first site.
  p = further({0x55, 0x53}, 1);  // push rbp; push rbx
  CHECK(p.found);
  CHECK(p.offset == 1);
  CHECK(p.stack_delta == 8);
}
