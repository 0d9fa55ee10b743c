// Faults: a traced library unmapped and another mapped at the same address
// (remap_libs.c). libmemscope_remap_a and _b are built from one source with
// names of one length: the same size and layout, so the same return
// addresses lie in remap_a_* while the first is mapped and in remap_b_*
// after, and both are called from the same instruction: their calls have
// the same stacks, address for address. Every call recorded: each
// library's calls are counted exactly under its own functions and module,
// never under the other's, in the probe mode and placement under test; the
// program computes what it does untraced.
#include <catch2/catch.hpp>
#include <sstream>

#include "e2e/e2e_support.h"
#include "support/schema_check.h"

using namespace memscope::test;
using nlohmann::json;

namespace {

std::string line_starting(const std::string& text, const std::string& prefix) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(prefix, 0) == 0) return line;
  return {};
}

std::string file_name(const std::string& path) { return path.substr(path.rfind('/') + 1); }

// The sites with a frame in either library, a line each, and how stacks
// were cut: what a failure needs to be understood.
std::string remap_sites(const json& r) {
  std::ostringstream out;
  out << "stacks_truncated " << r["sampling"]["stacks_truncated"] << " stack_walks_cut "
      << r["sampling"].value("stack_walks_cut", 0) << "\n";
  for (const auto& s : r["sites"]) {
    std::string frames;
    bool ours = false;
    for (size_t i = 0; i < s["frames"].size() && i < 4; ++i) {
      const auto& f = s["frames"][i];
      frames += " " + f["function"].get<std::string>() + "@" + f.value("module", "") + ":" + f.value("address", "");
      ours |= f.value("module", "").find("remap") != std::string::npos;
    }
    if (ours) out << s["estimated"]["count"] << " " << s.value("stack_truncated_reason", "whole") << frames << "\n";
  }
  return out.str();
}

// Traced by PID with `agent_args` (and the mode under test).
void check_remap(const std::vector<std::string>& agent_args) {
  const Result untraced = run({REMAP_BIN, "--now", REMAP_A_LIB, REMAP_B_LIB});
  INFO(untraced.err);
  REQUIRE(untraced.exit_code == 0);
  std::vector<std::string> args{"--sample-all"};
  args.insert(args.end(), agent_args.begin(), agent_args.end());
  const ProgramRun traced = trace_test_program({REMAP_BIN, REMAP_A_LIB, REMAP_B_LIB}, args);
  INFO(traced.program_err);
  // The program checked that B was mapped where A had been, after A was gone.
  const std::string mapped = line_starting(traced.program_err, "mapped ");
  REQUIRE(!mapped.empty());
  CHECK(line_starting(traced.program_err, "remap_libs:").empty());
  // Unharmed: it computed what it computes untraced.
  CHECK(!line_starting(untraced.err, "checksum ").empty());
  CHECK(line_starting(traced.program_err, "checksum ") == line_starting(untraced.err, "checksum "));

  const json& r = traced.report;
  INFO(remap_sites(r));
  CHECK(schema_errors(r, kSchema) == "");
  struct Library {
    std::string prefix, module;
    unsigned rounds;
  };
  for (const Library& lib :
       {Library{"remap_a", file_name(REMAP_A_LIB), 200}, Library{"remap_b", file_name(REMAP_B_LIB), 300}}) {
    INFO(lib.prefix);
    // remap_lib.c: block i of `rounds` is 64 + 3 i bytes.
    const double bytes = 64.0 * lib.rounds + 3.0 * lib.rounds * (lib.rounds - 1) / 2;
    const SiteEstimate e = site_estimate(r, lib.prefix + "_alloc");
    CHECK(e.count == Approx(lib.rounds).margin(1e-6));
    CHECK(e.bytes == Approx(bytes).margin(1e-6));
    // Each site in the library: both of its frames in it, by its own names
    // (a call made before the agent had loaded the library's unwind table
    // keeps only its innermost frame, and says why).
    for (const auto& s : r["sites"]) {
      if (s["frames"].empty() || s["frames"][0]["function"] != lib.prefix + "_alloc") continue;
      INFO(s.dump());
      CHECK(s["frames"][0]["module"] == lib.module);
      if (s["frames"].size() == 1 && s.value("stack_truncated_reason", "") == "no_table") continue;
      REQUIRE(s["frames"].size() >= 2);
      CHECK(s["frames"][1]["function"] == lib.prefix + "_fill");
      CHECK(s["frames"][1]["module"] == lib.module);
    }
  }
  // No frame is named after one library's function in the other's module.
  for (const auto& s : r["sites"])
    for (const auto& f : s["frames"]) {
      const std::string fn = f["function"].is_string() ? f["function"].get<std::string>() : "";
      const std::string module = f.value("module", "");
      INFO(fn << " in " << module);
      if (fn.rfind("remap_a_", 0) == 0) CHECK(module == file_name(REMAP_A_LIB));
      if (fn.rfind("remap_b_", 0) == 0) CHECK(module == file_name(REMAP_B_LIB));
    }
  // Every call has its record: nothing was lost, nothing counted twice.
  double recorded = 0;
  for (const auto& s : r["sites"]) recorded += s["estimated"]["count"].get<double>();
  CHECK(recorded == Approx(r["exact"]["allocation_calls"].get<double>()).margin(1e-6));
  CHECK(r["sampling"]["dropped_events"] == 0);
  CHECK(memscope_programs().empty());
}

}  // namespace

TEST_CASE("faults: a library unmapped and another mapped at its address are each named for their own calls",
          "[e2e][faults]") {
  check_remap({});
}

TEST_CASE("faults: a library unmapped and another mapped at its address under inherited probes", "[e2e][faults]") {
  check_remap({"--follow-children"});
}
