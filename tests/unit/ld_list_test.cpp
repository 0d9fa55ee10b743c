// `ld.so --list` output read into the objects it names (targets/ld_list.h).
#include <catch2/catch.hpp>

#include "targets/ld_list.h"

using namespace memscope;
using Paths = std::vector<std::string>;

TEST_CASE("ld.so --list: the paths of the objects it loads, in order, the executable left out") {
  const std::string text =
      "\tlinux-vdso.so.1 (0x00007ffc1b5f2000)\n"
      "\tlibstdc++.so.6 => /lib/x86_64-linux-gnu/libstdc++.so.6 (0x00007f2a4e800000)\n"
      "\tlibmissing.so.1 => not found\n"
      "\t/lib64/ld-linux-x86-64.so.2 (0x00007f2a4eb9e000)\n"
      "\t/usr/bin/app (0x0000555555554000)\n";
  CHECK(parse_ld_list(text, "/usr/bin/app") ==
        Paths{"/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib64/ld-linux-x86-64.so.2"});
  CHECK(parse_ld_list("\tstatically linked\n", "/usr/bin/app").empty());
}

TEST_CASE("ld.so --list: blank and whitespace-only lines are skipped") {
  // Each of these threw std::out_of_range (substr at npos) past every
  // Error handler of the agent.
  for (const std::string blank : {"", " ", "\t", " \t  "}) {
    INFO("blank line '" << blank << "'");
    CHECK(parse_ld_list(blank + "\n\t/lib/libc.so.6 (0x1)\n" + blank, "/bin/x") == Paths{"/lib/libc.so.6"});
  }
  CHECK(parse_ld_list("\n\n", "/bin/x").empty());
}
