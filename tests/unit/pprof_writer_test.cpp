#include <catch2/catch.hpp>

#include "report/pprof_writer.h"
#include "support/gunzip.h"
#include "report_model.h"

using namespace memscope;
using namespace memscope::test;
namespace pb = perftools::profiles;

namespace {

struct View {
  const pb::Profile& p;
  const std::string& str(int64_t i) const { return p.string_table(static_cast<int>(i)); }
  const pb::Location& location(uint64_t id) const {
    for (const auto& l : p.location())
      if (l.id() == id) return l;
    FAIL("no location " << id);
    return p.location(0);
  }
  const pb::Function& function(uint64_t id) const {
    for (const auto& f : p.function())
      if (f.id() == id) return f;
    FAIL("no function " << id);
    return p.function(0);
  }
  const pb::Mapping& mapping(uint64_t id) const {
    for (const auto& m : p.mapping())
      if (m.id() == id) return m;
    FAIL("no mapping " << id);
    return p.mapping(0);
  }
  // The sample's function names, innermost first (inlined ones included).
  std::vector<std::string> names(const pb::Sample& s) const {
    std::vector<std::string> out;
    for (uint64_t id : s.location_id())
      for (const auto& line : location(id).line()) out.push_back(str(function(line.function_id()).name()));
    return out;
  }
  int64_t label(const pb::Sample& s, const std::string& key) const {
    for (const auto& l : s.label())
      if (str(l.key()) == key) return l.num();
    FAIL("no label " << key);
    return 0;
  }
};

}  // namespace

TEST_CASE("pprof: Go's heap-profile sample types, values the report's estimates rounded") {
  ConfigHistory h;
  const pb::Profile p = to_pprof(profile_model(h));
  View v{p};
  REQUIRE(p.string_table(0).empty());
  REQUIRE(p.sample_type_size() == 4);
  const char* types[][2] = {
      {"alloc_objects", "count"}, {"alloc_space", "bytes"}, {"inuse_objects", "count"}, {"inuse_space", "bytes"}};
  for (int i = 0; i < 4; ++i) {
    CHECK(v.str(p.sample_type(i).type()) == types[i][0]);
    CHECK(v.str(p.sample_type(i).unit()) == types[i][1]);
  }
  CHECK(v.str(p.period_type().type()) == "space");
  CHECK(v.str(p.period_type().unit()) == "bytes");
  CHECK(p.duration_nanos() == 2500000000);
  // Four sites of the server (the leak --top left out of its sites among them) and two of the worker.
  REQUIRE(p.sample_size() == 6);
  int64_t totals[4] = {};
  for (const auto& s : p.sample())
    for (int i = 0; i < 4; ++i) totals[i] += s.value(i);
  CHECK(totals[0] == 7 + 100 + 50 + 20 + 1000 + 5);
  CHECK(totals[1] == 700000 + 409600 + 3201 + 2000 + 64000 + 500);
  CHECK(totals[2] == 3 + 10 + 20 + 1);
  CHECK(totals[3] == 300000 + 40960 + 2000 + 64);
  const pb::Sample& make_buffer = p.sample(2);
  CHECK(make_buffer.value(0) == 50);
  CHECK(make_buffer.value(1) == 3201);
  CHECK(v.label(make_buffer, "bytes") == 64);  // 3200.6 / 50.4, as Go's mean block size
  CHECK(v.label(make_buffer, "pid") == 1234);
  CHECK(v.label(p.sample(4), "pid") == 99);
}

TEST_CASE("pprof: inlined functions are Lines of one Location, innermost first; functions carry file and line") {
  ConfigHistory h;
  const pb::Profile p = to_pprof(profile_model(h));
  View v{p};
  const pb::Sample& s = p.sample(1);  // parse_header inlined into handle_request, called by main
  REQUIRE(s.location_id_size() == 2);
  const pb::Location& inl = v.location(s.location_id(0));
  CHECK(inl.address() == 0x401000);
  REQUIRE(inl.line_size() == 2);
  CHECK(v.str(v.function(inl.line(0).function_id()).name()) == "parse_header(Request&)");
  CHECK(v.str(v.function(inl.line(0).function_id()).filename()) == "request.h");
  CHECK(inl.line(0).line() == 17);
  CHECK(v.str(v.function(inl.line(1).function_id()).name()) == "handle_request(Request&)");
  CHECK(inl.line(1).line() == 42);
  CHECK(v.names(s) == std::vector<std::string>{"parse_header(Request&)", "handle_request(Request&)", "main"});
  // main called at one address from two sites: one location.
  CHECK(s.location_id(1) == p.sample(2).location_id(2));
  CHECK(v.names(p.sample(5)) == std::vector<std::string>{"[no stack: not_stored]"});
}

TEST_CASE("pprof: each module of each process one mapping with its build id, from its load bias") {
  ConfigHistory h;
  const pb::Profile p = to_pprof(profile_model(h));
  View v{p};
  REQUIRE(p.mapping_size() == 3);                     // server and libplugin.so in 1234, worker in 99
  CHECK(v.str(p.mapping(0).filename()) == "server");  // the main binary, to pprof
  const pb::Mapping& exe = v.mapping(v.location(p.sample(1).location_id(0)).mapping_id());
  CHECK(v.str(exe.filename()) == "server");
  CHECK(v.str(exe.build_id()) == "ab12");
  CHECK(exe.memory_start() == 0x400000);
  CHECK(exe.memory_limit() == 0x404001);  // past the highest return address seen in it
  CHECK(exe.has_functions());
  CHECK(exe.has_filenames());
  CHECK(exe.has_line_numbers());
  CHECK(exe.has_inline_frames());
  const pb::Mapping& plugin = v.mapping(v.location(p.sample(0).location_id(0)).mapping_id());
  CHECK(v.str(plugin.filename()) == "libplugin.so");
  CHECK(v.str(plugin.build_id()).empty());
  CHECK_FALSE(plugin.has_filenames());
  CHECK_FALSE(plugin.has_inline_frames());
  for (const auto& l : p.location()) {
    if (!l.mapping_id()) continue;
    const pb::Mapping& m = v.mapping(l.mapping_id());
    CHECK(l.address() >= m.memory_start());
    CHECK(l.address() < m.memory_limit());
  }
}

TEST_CASE("pprof: the .pb.gz is the profile gzipped") {
  ConfigHistory h;
  const Report r = profile_model(h);
  const std::string bytes = pprof_bytes(r);
  REQUIRE(bytes.size() > 2);
  CHECK(static_cast<unsigned char>(bytes[0]) == 0x1f);
  CHECK(static_cast<unsigned char>(bytes[1]) == 0x8b);
  pb::Profile back;
  REQUIRE(back.ParseFromString(gunzip(bytes)));
  CHECK(back.SerializeAsString() == to_pprof(r).SerializeAsString());
}

TEST_CASE("pprof: names that are not UTF-8 are written with U+FFFD, as in the JSON report, and the profile parses") {
  // A traced program chooses its symbols, paths and file names; protobuf
  // will not parse a profile.proto string that is not UTF-8.
  ConfigHistory h;
  Report r = profile_model(h);
  r.targets[0].process.exe = "/srv/serv\xed\xa0\x80";  // still the main binary, first
  for (TargetReport& t : r.targets)
    for (auto* list : {&t.sites, &t.leaks, &t.temporaries})
      for (SiteReport& s : *list)
        for (Frame& f : s.frames) {
          if (f.function == "parse_header(Request&)") f.function = "parse\xff_header";
          if (f.file == "request.h") f.file = "req\xc3(.h";
          if (f.module == "server") f.module = "serv\xed\xa0\x80";
        }
  pb::Profile back;
  REQUIRE(back.ParseFromString(gunzip(pprof_bytes(r))));
  View v{back};
  const pb::Location& inl = v.location(back.sample(1).location_id(0));
  CHECK(v.str(v.function(inl.line(0).function_id()).name()) == "parse\xef\xbf\xbd_header");
  CHECK(v.str(v.function(inl.line(0).function_id()).filename()) == "req\xef\xbf\xbd(.h");
  CHECK(v.str(v.mapping(inl.mapping_id()).filename()) == "serv\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
  CHECK(v.str(back.mapping(0).filename()) == "serv\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
}
