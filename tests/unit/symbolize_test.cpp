#include <catch2/catch.hpp>

#include <dlfcn.h>
#include <unistd.h>

#include <filesystem>

#include "aggregate/kernel_sites.h"
#include "common/clock.h"
#include "symbolize/demangle.h"
#include "symbolize/symbolizer.h"
#include "targets/proc_maps.h"

using namespace memscope;

namespace known {
__attribute__((noinline)) uint64_t return_address_here() {
  return reinterpret_cast<uint64_t>(__builtin_return_address(0));
}
__attribute__((noinline)) uint64_t caller_of_known() {
  uint64_t r = return_address_here();
  asm volatile("" ::: "memory");
  return r;
}
}  // namespace known

TEST_CASE("C++ names are demangled, C names kept") {
  CHECK(demangle("_ZN3foo3barEv") == "foo::bar()");
  CHECK(demangle("malloc") == "malloc");
}

TEST_CASE("a return address in this binary resolves to its function, file and line") {
  Symbolizer s;
  REQUIRE(s.snapshot(getpid()));
  uint64_t ra = known::caller_of_known();
  const auto frames = s.symbolize(getpid(), ra);
  REQUIRE(frames.size() == 1);
  const Frame& f = frames[0];
  CHECK(!f.inlined);
  CHECK(f.function.find("caller_of_known") != std::string::npos);
  CHECK(f.file.find("symbolize_test.cpp") != std::string::npos);
  CHECK(f.line > 0);
}

TEST_CASE("unmapped addresses are reported as unknown") {
  Symbolizer s;
  REQUIRE(s.snapshot(getpid()));
  const auto frames = s.symbolize(getpid(), 8);
  REQUIRE(frames.size() == 1);
  CHECK(frames[0].function == "[unknown]");
  CHECK(frames[0].module == "[anon]");
  CHECK(!frames[0].offset);
  CHECK(frames[0].build_id.empty());
}

TEST_CASE("site frames put the caller first and drop the probed function") {
  const uint64_t trace[] = {0x1000 /* malloc itself */, 0x2000, 0x3000, 0};
  CHECK(site_frames(0x1500, trace, 4) == std::vector<uint64_t>{0x1500, 0x2000, 0x3000});
  // A kernel that already adds the caller is not repeated.
  const uint64_t with_caller[] = {0x1000, 0x1500, 0x2000, 0};
  CHECK(site_frames(0x1500, with_caller, 4) == std::vector<uint64_t>{0x1500, 0x2000});
  CHECK(site_frames(0x1500, trace, 0) == std::vector<uint64_t>{0x1500});
}

TEST_CASE("a mapped library deleted from disk still resolves, through /proc/PID/map_files") {
  // map_files needs CAP_SYS_ADMIN: without it the fallback has nothing to open.
  if (geteuid() != 0) return;
  char dir[] = "/tmp/memscope-sym-XXXXXX";
  REQUIRE(mkdtemp(dir));
  const std::string copy = std::string(dir) + "/libz-copy.so";
  std::filesystem::copy_file("/usr/lib/x86_64-linux-gnu/libz.so.1", copy);
  void* lib = dlopen(copy.c_str(), RTLD_NOW | RTLD_LOCAL);
  REQUIRE(lib);
  void* fn = dlsym(lib, "deflateEnd");
  REQUIRE(fn);
  // Gone from every path by the time the symbolizer looks: only the
  // mapping itself still reaches the file.
  unlink(copy.c_str());
  rmdir(dir);
  Symbolizer s;
  REQUIRE(s.snapshot(getpid()));
  // A return address points after a call: one byte in is inside the function.
  const auto frames = s.symbolize(getpid(), reinterpret_cast<uint64_t>(fn) + 1);
  REQUIRE(frames.size() == 1);
  const Frame& f = frames[0];
  CHECK(f.module == "libz-copy.so");
  CHECK(f.function == "deflateEnd");
  dlclose(lib);
}

// [mmap-layout]: the case needs the kernel to map b where a was, which the
// address space of an ASan build (tools/sanitize.sh, which leaves it out)
// does not give: its allocator maps in between.
TEST_CASE("a library unloaded and another loaded at its address: each call read against the library of its time",
          "[mmap-layout]") {
  // libmemscope_remap_a and _b have one layout (e2e/remap_lib.c): the
  // kernel maps b where a was, the same addresses then in remap_b_alloc.
  void* a = dlopen(REMAP_A_LIB, RTLD_NOW | RTLD_LOCAL);
  REQUIRE(a);
  const auto in_a = reinterpret_cast<uint64_t>(dlsym(a, "remap_a_alloc")) + 4;  // as a return address
  REQUIRE(in_a > 4);
  Symbolizer s;
  REQUIRE(s.snapshot(getpid()));
  const uint64_t a_time = monotonic_ns();
  REQUIRE(dlclose(a) == 0);
  // Unmapped as code (the symbolizer's libelf may still map the file to read it).
  for (const Mapping& m : read_maps(getpid())) REQUIRE((!m.executable || m.path != REMAP_A_LIB));
  const uint64_t loaded = monotonic_ns();
  void* b = dlopen(REMAP_B_LIB, RTLD_NOW | RTLD_LOCAL);
  REQUIRE(b);
  REQUIRE(reinterpret_cast<uint64_t>(dlsym(b, "remap_b_alloc")) + 4 == in_a);
  s.maps_changed(getpid(), loaded, MapsHistory::Change::load);
  REQUIRE(s.snapshot(getpid()));
  const uint64_t b_time = monotonic_ns();
  // Both orders: a cache by address alone would answer the second with the first.
  for (int round = 0; round < 2; ++round) {
    const auto then = s.symbolize(getpid(), in_a, a_time), now = s.symbolize(getpid(), in_a, b_time);
    REQUIRE(!then.empty());
    REQUIRE(!now.empty());
    CHECK(then[0].function == "remap_a_alloc");
    CHECK(then[0].module == std::filesystem::path(REMAP_A_LIB).filename());
    CHECK(now[0].function == "remap_b_alloc");
    CHECK(now[0].module == std::filesystem::path(REMAP_B_LIB).filename());
  }
  CHECK(s.symbolize(getpid(), in_a)[0].function == "remap_b_alloc");  // now
  dlclose(b);
}
