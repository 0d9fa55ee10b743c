#include <catch2/catch.hpp>

#include "report/folded_writer.h"
#include "report_model.h"

using namespace memscope;
using namespace memscope::test;

TEST_CASE("folded stacks: one line per stack, outermost first, weighted by estimated bytes allocated") {
  ConfigHistory h;
  const Report r = profile_model(h);
  CHECK(to_folded(r, FoldedValue::alloc) ==
        "server (1234);main;cache_insert(Key const&) 2000\n"
        "server (1234);main;handle_request(Request&);make_buffer(unsigned long) 3201\n"
        "server (1234);main;handle_request(Request&);parse_header(Request&) 409600\n"
        "server (1234);main;libplugin.so+0x1234 700000\n"
        "worker (99);[no stack: not_stored] 500\n"
        "worker (99);main 64000\n");
}

TEST_CASE("folded stacks weighted by live bytes leave out the stacks with nothing live") {
  ConfigHistory h;
  const Report r = profile_model(h);
  CHECK(to_folded(r, FoldedValue::live) ==
        "server (1234);main;cache_insert(Key const&) 2000\n"
        "server (1234);main;handle_request(Request&);parse_header(Request&) 40960\n"
        "server (1234);main;libplugin.so+0x1234 300000\n"
        "worker (99);main 64\n");
}

TEST_CASE("folded stacks: sites whose names are the same fold into one line; separators in names are taken out") {
  ConfigHistory h;
  Report r = profile_model(h);
  TargetReport& t = r.targets[1];
  // The same function at another line: one stack to a flame graph.
  SiteReport again = model_site(99, 7, t.sites[0].frames, 10, 0.6, 0, 0);
  again.frames[0].line = 6;
  t.sites.push_back(again);
  t.sites.push_back(model_site(99, 8, {{0x1000, "odd;name\nhere", "worker", "", 0, false, "", 0x1000}}, 1, 10, 0, 0));
  const std::string folded = to_folded(r, FoldedValue::alloc);
  CHECK(folded.find("worker (99);main 64001\n") != std::string::npos);
  CHECK(folded.find("worker (99);odd name here 10\n") != std::string::npos);
}

TEST_CASE("folded stacks of a report with no sites are empty") {
  Report r;
  CHECK(to_folded(r, FoldedValue::alloc).empty());
}
