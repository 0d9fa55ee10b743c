// Stacks walked by the probes' own frame-pointer walker: every frame of a
// chain of known depth, in order, on the main thread and on a thread glibc
// started; a chain deeper than the stack table holds is cut at its depth.
#include <signal.h>

#include <catch2/catch.hpp>

#include "e2e/e2e_support.h"
#include "memscope/record.h"

using namespace memscope::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

const json* site_of(const json& report, const std::string& leaf) {
  for (const auto& s : report["sites"])
    if (!s["frames"].empty() && s["frames"][0]["function"] == leaf) return &s;
  return nullptr;
}

// The functions of a site's frames, innermost first.
std::vector<std::string> functions(const json& site) {
  std::vector<std::string> f;
  for (const auto& fr : site["frames"])
    f.push_back(fr["function"].is_string() ? fr["function"].get<std::string>() : "");
  return f;
}

// `leaf`, then `descents` frames of descend, then `outer` (if any).
void check_chain(const json& report, const std::string& leaf, size_t descents, const std::string& outer) {
  INFO("site " << leaf);
  const json* s = site_of(report, leaf);
  REQUIRE(s != nullptr);
  CHECK((*s)["estimated"]["count"] == 10);
  CHECK((*s)["stack_truncated"] == false);
  CHECK((*s)["stack_depth_limited"] == false);
  const auto f = functions(*s);
  REQUIRE(f.size() >= 1 + descents);
  for (size_t i = 1; i <= descents; ++i) {
    INFO("frame " << i);
    CHECK(f[i] == "descend");
  }
  if (!outer.empty()) {
    REQUIRE(f.size() > 1 + descents);
    CHECK(f[1 + descents] == outer);
  }
}

}  // namespace

TEST_CASE("stacks: every frame of deep chains on the main thread and on a started thread and cut at the table depth",
          "[e2e][stacks]") {
  const json r = trace_test_program(DEEP_STACKS_BIN, {"--sample-all"}).report;

  // descend(n) is n + 1 frames deep.
  check_chain(r, "leaf_main", 21, "main");
  check_chain(r, "leaf_thread", 31, "thread_main");
  // 100 descents: the stack table's MS_MAX_STACK_DEPTH entries are the
  // probed instruction and 63 return addresses, the first of them the
  // caller (the CFI walk unwinds the allocator's own frame at its entry),
  // so 63 frames fit.
  const json* deep = site_of(r, "leaf_deep");
  REQUIRE(deep != nullptr);
  CHECK((*deep)["estimated"]["count"] == 10);
  const auto f = functions(*deep);
  CHECK(f.size() == MS_MAX_STACK_DEPTH - 1);
  CHECK((*deep)["stack_depth_limited"] == true);
  for (size_t i = 1; i < f.size(); ++i) {
    INFO("frame " << i);
    CHECK(f[i] == "descend");
  }
  // A frame on a mapped page that could not be read cuts that one walk, and
  // is not taken for the end of the thread's chains: the same frames walked
  // again once readable come back whole.
  const json* cut = site_of(r, "leaf_cut");
  REQUIRE(cut != nullptr);
  const auto fc = functions(*cut);
  REQUIRE(fc.size() >= 2);
  CHECK(fc.size() == 2);  // leaf_cut, then gap: its frame record is on the unreadable page
  CHECK(fc[1] == "gap");
  CHECK(r["sampling"]["stack_walks_cut"] == 1);
  const json* after = site_of(r, "leaf_after");
  REQUIRE(after != nullptr);
  const auto fa = functions(*after);
  REQUIRE(fa.size() >= 5);
  CHECK(fa[1] == "gap");
  CHECK(fa[2] == "outer_gap");
  CHECK(fa[3] == "padded");
  CHECK(fa[4] == "thread_main");
  // The walk ended at the thread's unreadable saved rbp without losing a
  // stack, and every site's stack was stored.
  CHECK(r["sampling"]["stack_errors"] == 0);
}
