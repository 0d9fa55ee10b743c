#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "common/error.h"
#include "targets/script_interpreter.h"

using namespace memscope;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/memscope-script-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { (void)!system(("rm -rf " + path).c_str()); }
  std::string write(const std::string& name, const std::string& text) const {
    const std::string p = path + "/" + name;
    std::ofstream(p) << text;
    chmod(p.c_str(), 0755);
    return p;
  }
};

}  // namespace

TEST_CASE("a program that is no script is what runs") {
  CHECK(executed_program("/bin/sh") == "/bin/sh");
  TempDir d;
  const std::string data = d.write("data", "no #! here\n");
  CHECK(executed_program(data) == data);
}

TEST_CASE("a script runs its #! interpreter, followed through scripts as the kernel does") {
  TempDir d;
  CHECK(executed_program(d.write("a.sh", "#!/bin/sh\necho\n")) == "/bin/sh");
  CHECK(executed_program(d.write("b.sh", "#!  /bin/sh -e\n")) == "/bin/sh");       // blanks, then an argument
  CHECK(executed_program(d.write("c.sh", "#!\t/usr/bin/env python3\n")) == "/usr/bin/env");
  CHECK(executed_program(d.write("d.sh", "#!/bin/sh")) == "/bin/sh");              // no newline
  const std::string inner = d.write("inner", "#!/bin/sh\n");
  CHECK(executed_program(d.write("outer", "#!" + inner + "\n")) == "/bin/sh");
}

TEST_CASE("a script whose interpreter cannot run is refused with the reason") {
  TempDir d;
  CHECK_THROWS_WITH(executed_program(d.write("none", "#!\n")), Catch::Contains("names no interpreter"));
  CHECK_THROWS_WITH(executed_program(d.write("gone", "#!/nonexistent/interp\n")),
                    Catch::Contains("cannot read /nonexistent/interp"));
  // A name that fills what the kernel reads is cut: the kernel refuses it.
  CHECK_THROWS_WITH(executed_program(d.write("long", "#!/" + std::string(300, 'x'))),
                    Catch::Contains("names no interpreter"));
  std::string level = d.write("s0", "#!/bin/sh\n");
  for (int i = 1; i <= 5; ++i) level = d.write("s" + std::to_string(i), "#!" + level + "\n");
  CHECK_THROWS_WITH(executed_program(level), Catch::Contains("more than 5 scripts"));  // s5: ELOOP
  CHECK(executed_program(d.path + "/s4") == "/bin/sh");  // five scripts: the kernel runs them
}
