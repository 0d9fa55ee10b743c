#include <catch2/catch.hpp>

#include "report/json_report.h"
#include "support/schema_check.h"
#include "targets/api_names.h"

using namespace memscope;
using memscope::test::schema_errors;

namespace {
Report sample_report(const ConfigHistory& h) {
  Report r;
  TargetReport t;
  t.process = {1234, 7, "server", "/usr/bin/server"};
  t.allocator.path = "/lib/x86_64-linux-gnu/libc.so.6";
  for (unsigned a = 0; a < MS_API_COUNT; ++a) t.allocator.counted_as[a] = a;
  t.allocator.counted_as[MS_API_MEMALIGN] = MS_API_ALIGNED_ALLOC;
  r.targets.push_back(t);
  r.duration_s = 1.5;
  r.exact.by_api_class[MS_API_MALLOC][4] = {10, 200};
  r.exact.by_api_class[MS_API_MALLOC][13] = {2, 16384};
  r.exact.by_api_class[MS_API_FREE][0] = {11, 0};
  r.exact.stats[MS_STAT_SAMPLED] = 3;
  r.sampling = &h;
  SiteReport s;
  s.pid = 1234;
  // An inlined helper, the function it is inlined into, their caller, and
  // code no symbol names.
  s.frames.push_back({0x401000, "parse_header(Request&)", "server", "request.h", 17, true, "ab12", 0x1000});
  s.frames.push_back({0x401000, "handle_request(Request&)", "server", "server.cpp", 42, false, "ab12", 0x1000});
  s.frames.push_back({0x402000, "main", "server", "", 0, false, "ab12", 0x2000});
  s.frames.push_back({0x7f0000001234, "libplugin.so+0x1234", "libplugin.so", "", 0, false, "", 0x1234});
  s.estimated.count = 12;
  s.estimated.bytes = 16584;
  s.estimated.live_count = 1;
  s.estimated.live_bytes = 20;
  s.estimated.sampled = 3;
  s.estimated.sampled_live = 1;
  r.sites.push_back(s);
  s.oldest_live_age_s = 0.7;
  r.leaks.push_back(s);
  r.total_sites = r.total_leak_sites = 1;
  r.probes.push_back({1234, MS_API_MALLOC, "malloc", t.allocator.path, 0x98930, 0, "function entry", "session"});
  r.mechanism = "uprobe-session";
  return r;
}
}  // namespace

TEST_CASE("the report carries the keys outside checks rely on and matches its schema") {
  ConfigHistory h;
  h.next(TierConfig{}, 0, "initial settings");
  nlohmann::json j = to_json(sample_report(h));
  CHECK(j["schema"] == "memscope-bpf/report/v1");
  CHECK(j["targets"][0]["pid"] == 1234);
  CHECK(j["targets"][0]["ns_pid"] == 7);
  CHECK(j["exact"]["by_api"]["malloc"]["calls"] == 12);
  CHECK(j["exact"]["by_api"]["malloc"]["bytes"] == 16584);
  CHECK(j["exact"]["by_api"]["free"]["calls"] == 11);
  CHECK(j["exact"]["by_api"]["memalign"]["counted_as"] == "aligned_alloc");
  CHECK(j["exact"]["size_classes"].size() == 2);
  CHECK(j["exact"]["size_classes"][1]["min"] == 8192);
  CHECK(j["sampling"]["sampled_events"] == 3);
  const auto& frames = j["sites"][0]["frames"];
  CHECK(frames[0]["inlined"] == true);
  CHECK(frames[0]["file"] == "request.h");
  CHECK(frames[1]["inlined"] == false);
  CHECK(frames[1]["line"] == 42);
  CHECK(frames[1]["offset"] == "0x1000");
  CHECK(frames[1]["build_id"] == "ab12");
  CHECK(frames[2]["file"].is_null());
  CHECK(frames[3]["build_id"].is_null());
  CHECK(frames[3]["offset"] == "0x1234");
  CHECK(j["leaks"][0]["oldest_age_s"] == 0.7);
  CHECK(schema_errors(j, MEMSCOPE_SCHEMA) == "");
}

TEST_CASE("the schema rejects a report missing a required key") {
  ConfigHistory h;
  h.next(TierConfig{}, 0, "initial settings");
  nlohmann::json j = to_json(sample_report(h));
  j["exact"]["by_api"].erase("free");
  CHECK(schema_errors(j, MEMSCOPE_SCHEMA) != "");
  j = to_json(sample_report(h));
  j["schema"] = "something/else";
  CHECK(schema_errors(j, MEMSCOPE_SCHEMA) != "");
}

TEST_CASE("a target's memory section: exact syscall counters and a timeline within the schema") {
  ConfigHistory h;
  h.next(TierConfig{}, 0, "initial settings");
  Report r = sample_report(h);
  MemoryTrack& m = r.targets[0].memory;
  CHECK(to_json(r)["targets"][0]["memory"]["timeline"].empty());
  CHECK(!to_json(r)["targets"][0]["memory"].contains("exact"));  // not followed: no counters to show
  m.followed = true;
  m.vm.mmap_calls = 8;
  m.vm.mmap_bytes = 8 << 20;
  m.vm.brk_grow_bytes = 4096;
  m.timeline.push_back({0.5, 3 << 20, 1 << 20, 2500.5, 8 << 20, 135168, 40, 4096});
  nlohmann::json j = to_json(r)["targets"][0]["memory"];
  CHECK(j["exact"]["mmap_anon"]["calls"] == 8);
  CHECK(j["exact"]["mmap_anon"]["bytes"] == 8 << 20);
  CHECK(j["exact"]["brk"]["grow_bytes"] == 4096);
  CHECK(j["timeline"][0]["t"] == 0.5);
  CHECK(j["timeline"][0]["rss_anon_bytes"] == 1 << 20);
  CHECK(j["timeline"][0]["heap_live_bytes_estimated"] == 2500.5);
  CHECK(j["timeline"][0]["brk_bytes"] == 135168);
  CHECK(j["timeline"][0]["allocation_calls"] == 40);
  CHECK(j["timeline"][0]["allocation_bytes"] == 4096);
  CHECK(to_json(r)["processes"][0]["memory"] == j);  // processes[] carry the same section
  CHECK(schema_errors(to_json(r), MEMSCOPE_SCHEMA) == "");
}
