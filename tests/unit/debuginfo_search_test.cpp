// Where libdwfl may look for separate debug files (symbolize/debuginfo_search.h):
// only where no one but root can change them, since it maps what it finds.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "symbolize/debuginfo_search.h"
#include "symfix.h"

using namespace memscope;
using namespace memscope::test;
namespace fs = std::filesystem;

namespace {

constexpr uid_t kNobody = 65534;

void touch(const std::string& path) { std::ofstream(path) << "x"; }

}  // namespace

TEST_CASE("root_held: root's own directories and files, not others' or writable ones") {
  CHECK(root_held("/"));
  CHECK(root_held("/usr/lib"));
  CHECK_FALSE(root_held("usr/lib"));
  CHECK_FALSE(root_held("/nonexistent/memscope"));
  CHECK_FALSE(root_held("/proc/self/fd"));  // a symbolic link on the way
  if (geteuid() != 0) return;               // the files below are made by root
  TempDir dir;                              // root's, 0700, in sticky /tmp
  CHECK(root_held(dir.path));
  touch(dir.path + "/f");
  chmod((dir.path + "/f").c_str(), 0644);
  CHECK(root_held(dir.path + "/f"));
  chmod((dir.path + "/f").c_str(), 0664);
  CHECK_FALSE(root_held(dir.path + "/f"));
  chmod((dir.path + "/f").c_str(), 0644);
  REQUIRE(chown((dir.path + "/f").c_str(), kNobody, kNobody) == 0);
  CHECK_FALSE(root_held(dir.path + "/f"));
  chmod(dir.path.c_str(), 0777);  // anyone could rename what is in it
  CHECK_FALSE(root_held(dir.path));
  chmod(dir.path.c_str(), 01777);
  CHECK(root_held(dir.path));
}

TEST_CASE("debuginfo search path: the object's own directories only where root holds them") {
  if (geteuid() != 0) return;
  TempDir dir, debug;  // the object's directory; one like /usr/lib/debug
  const std::string object = dir.path + "/libfix.so";
  const std::string path = ":.debug:" + debug.path;  // libdwfl's default, with `debug` for /usr/lib/debug
  touch(object);
  SECTION("root's directory and debug files: the whole path") {
    fs::create_directory(dir.path + "/.debug");
    touch(dir.path + "/.debug/fix.debug");
    CHECK(trusted_debuginfo_path(path, object, "fix.debug") == path);
    CHECK(trusted_debuginfo_path("-" + path, object, nullptr) == "-" + path);
    const std::string usr = root_held("/usr/lib/debug") ? ":/usr/lib/debug" : "";
    CHECK(trusted_debuginfo_path("", object, "fix.debug") == ":.debug" + usr);  // the default
  }
  SECTION("a subdirectory that does not exist holds nothing to search") {
    CHECK(trusted_debuginfo_path(path, object, "fix.debug") == ":" + debug.path);
  }
  SECTION("a debug file another user owns: that directory is not searched") {
    touch(dir.path + "/fix.debug");
    REQUIRE(chown((dir.path + "/fix.debug").c_str(), kNobody, kNobody) == 0);
    CHECK(trusted_debuginfo_path(path, object, "fix.debug") == debug.path);
    // By the name libdwfl makes up when there is no debuglink.
    REQUIRE(fs::remove(dir.path + "/fix.debug"));
    touch(object + ".debug");
    REQUIRE(chown((object + ".debug").c_str(), kNobody, kNobody) == 0);
    CHECK(trusted_debuginfo_path(path, object, nullptr) == debug.path);
  }
  SECTION("directories others may write") {
    chmod(dir.path.c_str(), 0777);
    chmod(debug.path.c_str(), 0777);
    CHECK(trusted_debuginfo_path(path, object, "fix.debug") == "/dev/null");  // searches nothing
  }
  SECTION("an object seen through /proc (another mount namespace)") {
    CHECK(trusted_debuginfo_path(path, "/proc/1/root" + object, "fix.debug") == debug.path);
  }
}
