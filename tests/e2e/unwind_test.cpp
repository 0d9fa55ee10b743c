// Stacks unwound with CFI: the program's known call tree (unwind_tree.cpp),
// built with and without frame pointers, under glibc and under preloaded
// jemalloc, checked frame by frame against the chain it prints.
#include <sys/mount.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>
#include <sstream>

#include "e2e/e2e_support.h"

using namespace memscope::test;
using nlohmann::json;

namespace {

const char* const kJemalloc = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2";

// "leaf_malloc(int)" -> "leaf_malloc".
std::string base_name(const json& frame) {
  if (!frame["function"].is_string()) return {};
  std::string f = frame["function"].get<std::string>();
  return f.substr(0, f.find('('));
}

// Each leaf's chain, leaf first, as the program printed it.
std::map<std::string, std::vector<std::string>> chains(const std::string& program_err) {
  std::map<std::string, std::vector<std::string>> out;
  std::istringstream in(program_err);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string w;
    if (!(words >> w) || w != "chain") continue;
    std::vector<std::string> chain;
    while (words >> w) chain.push_back(w);
    if (!chain.empty()) out[chain[0]] = chain;
  }
  return out;
}

// Checks every site of the run: the program's own frames must be exactly
// its chain, whole up to main (8 frames), after library frames only; malloc
// and new are called by the leaf itself. Returns the share of sampled
// allocations whose stack is exactly right.
void check_run(const ProgramRun& run) {
  const auto truth = chains(run.program_err);
  REQUIRE(truth.size() == 5);
  std::set<std::string> ours;
  for (const auto& [leaf, chain] : truth) ours.insert(chain.begin(), chain.end());
  uint64_t right = 0, all = 0;
  std::set<std::string> leaves_seen;
  for (const auto& s : run.report["sites"]) {
    const uint64_t n = s["sampled"]["allocations"].get<uint64_t>();
    all += n;
    const json& frames = s["frames"];
    size_t first = 0;
    while (first < frames.size() && !ours.count(base_name(frames[first]))) ++first;
    INFO("site " << s.dump());
    REQUIRE(!frames.empty());
    if (first == frames.size()) continue;  // none of the program's frames: wrong
    const std::string leaf = base_name(frames[first]);
    auto it = truth.find(leaf);
    if (it == truth.end()) continue;  // a stack that starts past its leaf: wrong
    const auto& chain = it->second;
    // The immediate caller is read at the stack pointer: always right.
    if (leaf == "leaf_malloc" || leaf == "leaf_new") CHECK(first == 0);
    bool exact = frames.size() >= first + chain.size();
    for (size_t i = 0; exact && i < chain.size(); ++i) exact = base_name(frames[first + i]) == chain[i];
    if (exact) {
      right += n;
      leaves_seen.insert(leaf);
    }
  }
  INFO("right " << right << " of " << all);
  CHECK(leaves_seen.size() == 5);
  CHECK(all > 0);
  CHECK(right * 100 >= all * 95);
}

// FILE copied to the lower layer of an overlayfs mount, as a container's
// root is: the kernel maps the lower layer's file, whose device (and with
// xino, inode) is not the one /proc/PID/maps shows for the merged path.
struct OverlayCopy {
  std::string dir, merged;
  bool mounted = false;
  explicit OverlayCopy(const std::string& file) : dir(temp_path("overlay")), merged(dir + "/merged") {
    namespace fs = std::filesystem;
    for (const char* d : {"lower", "upper", "work", "merged"}) fs::create_directories(dir + "/" + d);
    fs::copy_file(file, dir + "/lower/" + fs::path(file).filename().string());
    const std::string layers = "lowerdir=" + dir + "/lower,upperdir=" + dir + "/upper,workdir=" + dir + "/work";
    mounted = mount("overlay", merged.c_str(), "overlay", 0, layers.c_str()) == 0;
  }
  ~OverlayCopy() {
    if (mounted) umount2(merged.c_str(), MNT_DETACH);
    std::filesystem::remove_all(dir);
  }
  std::string path(const std::string& file) const {
    return merged + "/" + std::filesystem::path(file).filename().string();
  }
};

}  // namespace

TEST_CASE("unwinding: a known call tree eight frames deep is exact built with and without frame pointers",
          "[e2e][stacks]") {
  for (const char* program : {UNWIND_TREE_BIN, UNWIND_TREE_FP_BIN}) {
    INFO(program);
    check_run(trace_test_program(program, {"--sample-all"}));
  }
}

TEST_CASE("unwinding: the known call tree is exact under preloaded jemalloc", "[e2e][stacks]") {
  if (access(kJemalloc, R_OK) != 0) {
    WARN("skipped: " << kJemalloc << " is not installed");
    return;
  }
  for (const char* program : {UNWIND_TREE_BIN, UNWIND_TREE_FP_BIN}) {
    INFO(program);
    check_run(trace_test_program({"/usr/bin/env", std::string("LD_PRELOAD=") + kJemalloc, program}, {"--sample-all"}));
  }
}

TEST_CASE("unwinding: a program on overlayfs as in a container root is exact", "[e2e][stacks][container]") {
  OverlayCopy overlay(UNWIND_TREE_BIN);
  INFO("mount -t overlay: " << strerror(errno));
  REQUIRE(overlay.mounted);
  check_run(trace_test_program(overlay.path(UNWIND_TREE_BIN), {"--sample-all"}));
}
