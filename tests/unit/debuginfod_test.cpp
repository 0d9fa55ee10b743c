// The symbolizer against a real debuginfod server (Debian's package) run on
// this host: a stripped module whose debug file only the server has resolves
// to functions, inlined frames and lines. Its own ctest entry: skipped (77)
// where debuginfod is not installed.
#define CATCH_CONFIG_RUNNER
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <thread>

#include "support/http_get.h"
#include "support/process.h"
#include "symbolize/symbolizer.h"
#include "symfix.h"
#include "symfix_checks.h"

using namespace memscope;
using namespace memscope::test;
namespace fs = std::filesystem;

namespace {

std::string find_in_path(const std::string& name) {
  const char* path = getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');)
    if (!dir.empty() && access((dir + "/" + name).c_str(), X_OK) == 0) return dir + "/" + name;
  return "";
}

}  // namespace

TEST_CASE("a stripped module's debug file is fetched from a debuginfod server") {
  TempDir served, db, cache, dir, no_debug;
  fs::copy_file(SYMFIX_LIB, served.path + "/libmemscope_symfix.so");
  const int port = free_port();
  REQUIRE(port > 0);
  // -t 0: one scan of the served directory, no rescans; -g 0: no grooming.
  Child server({find_in_path("debuginfod"), "-F", "-p", std::to_string(port), "-d", db.path + "/index.sqlite", "-t",
                "0", "-g", "0", served.path});
  const std::string id = build_id_of(SYMFIX_LIB);
  bool ready = false;
  for (auto end = std::chrono::steady_clock::now() + std::chrono::seconds(60);
       !ready && std::chrono::steady_clock::now() < end; std::this_thread::sleep_for(std::chrono::milliseconds(100)))
    ready = !http_get(port, "/buildid/" + id + "/debuginfo").empty();  // 200 with the file
  INFO("debuginfod stderr: " << server.err());
  REQUIRE(ready);

  const std::string url = "http://127.0.0.1:" + std::to_string(port);
  setenv("DEBUGINFOD_URLS", url.c_str(), 1);
  setenv("DEBUGINFOD_CACHE_PATH", cache.path.c_str(), 1);
  LoadedFixture fix(SYMFIX_STRIPPED, dir.path + "/libfix.so");
  const uint64_t ra = fix.inlined_return_address();
  {
    // Nothing on this host has the debug file: neither the debuginfo path
    // (an empty directory) nor the module's directory (its debuglink).
    Symbolizer s(":.debug:" + no_debug.path);
    REQUIRE(s.snapshot(getpid()));
    const auto frames = s.symbolize(getpid(), ra);
    check_inlined_frames(frames, ra, "libfix.so");
    CHECK(frames[1].build_id == id);
  }
  // The client kept what the server sent, under the build id.
  CHECK(fs::exists(cache.path + "/" + id + "/debuginfo"));
  unsetenv("DEBUGINFOD_URLS");
  unsetenv("DEBUGINFOD_CACHE_PATH");
  server.signal(SIGTERM);
  CHECK(server.wait(std::chrono::seconds(20)) != -1);
}

int main(int argc, char** argv) {
  if (find_in_path("debuginfod").empty()) {
    fprintf(stderr, "SKIPPED: debuginfod is not installed (Debian package debuginfod; tools/setup.sh installs it)\n");
    return 77;
  }
  return Catch::Session().run(argc, argv);
}
