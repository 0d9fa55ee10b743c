// The symbolizer against a real debuginfod server (Debian's package) run on
// this host: a stripped module whose debug file only the server has resolves
// to functions, inlined frames and lines. Its own ctest entry: skipped (77)
// where debuginfod is not installed.
#define CATCH_CONFIG_RUNNER
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <thread>

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

sockaddr_in loopback(int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

// A port nothing listens on now: the kernel's pick for a socket bound to 0.
int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a = loopback(0);
  socklen_t len = sizeof a;
  const bool ok = fd >= 0 && bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
                  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0;
  if (fd >= 0) close(fd);
  return ok ? ntohs(a.sin_port) : -1;
}

// Whether GET `target` on 127.0.0.1:`port` answers 200.
bool http_ok(int port, const std::string& target) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a = loopback(port);
  if (fd < 0) return false;
  std::string status;
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    const std::string req = "GET " + target + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    char buf[64] = {};
    if (write(fd, req.data(), req.size()) == static_cast<ssize_t>(req.size()) && read(fd, buf, sizeof buf - 1) > 0)
      status = buf;
  }
  close(fd);
  return status.rfind("HTTP/1.", 0) == 0 && status.find(" 200 ") != std::string::npos;
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
    ready = http_ok(port, "/buildid/" + id + "/debuginfo");
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
