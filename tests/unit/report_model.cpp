#include "report_model.h"

#include <algorithm>

namespace memscope::test {

SiteReport model_site(uint32_t pid, uint32_t id, std::vector<Frame> frames, double count, double bytes,
                      double live_count, double live_bytes) {
  SiteReport s;
  s.pid = pid;
  s.site_id = id;
  s.frames = std::move(frames);
  s.estimated.tgid = pid;
  s.estimated.count = count;
  s.estimated.bytes = bytes;
  s.estimated.live_count = live_count;
  s.estimated.live_bytes = live_bytes;
  s.estimated.sampled = static_cast<uint64_t>(count / 10) + 1;
  s.estimated.sampled_live = live_count > 0 ? static_cast<uint64_t>(live_count / 10) + 1 : 0;
  return s;
}

namespace {

Frame frame(uint64_t address, std::string function, std::string module, std::string file, int line, bool inlined,
            std::string build_id, uint64_t bias) {
  return {address, std::move(function), std::move(module), std::move(file), line,
          inlined, std::move(build_id), address - bias};
}

TargetReport server() {
  TargetReport t;
  t.process = {1234, 1234, "server", "/usr/bin/server"};
  t.allocator.path = "/lib/x86_64-linux-gnu/libc.so.6";
  const uint64_t exe = 0x400000, plugin = 0x7f0000000000;
  auto main_at = [&](uint64_t a, int line) {
    return frame(a, "main", "server", "server.cpp", line, false, "ab12", exe);
  };
  t.sites.push_back(model_site(
      1234, 3,
      {frame(0x7f0000001234, "libplugin.so+0x1234", "libplugin.so", "", 0, false, "", plugin), main_at(0x402010, 11)},
      7, 700000, 3, 300000));
  t.sites.push_back(
      model_site(1234, 1,
                 {frame(0x401000, "parse_header(Request&)", "server", "request.h", 17, true, "ab12", exe),
                  frame(0x401000, "handle_request(Request&)", "server", "server.cpp", 42, false, "ab12", exe),
                  main_at(0x402000, 10)},
                 100, 409600, 10, 40960));
  t.sites.push_back(
      model_site(1234, 2,
                 {frame(0x403000, "make_buffer(unsigned long)", "server", "buffer.cpp", 8, false, "ab12", exe),
                  frame(0x401100, "handle_request(Request&)", "server", "server.cpp", 50, false, "ab12", exe),
                  main_at(0x402000, 10)},
                 50.4, 3200.6, 0, 0));
  t.leaks = {t.sites[0], t.sites[1]};
  // Ranked low by allocated bytes, so out of the sites under --top 3.
  t.leaks.push_back(
      model_site(1234, 4,
                 {frame(0x404000, "cache_insert(Key const&)", "server", "cache.cpp", 30, false, "ab12", exe),
                  main_at(0x402020, 12)},
                 20, 2000, 20, 2000));
  t.total_sites = 4;
  t.total_leak_sites = 3;
  return t;
}

TargetReport worker() {
  TargetReport t;
  t.process = {99, 99, "worker", "/usr/bin/worker"};
  t.allocator.path = "/lib/x86_64-linux-gnu/libc.so.6";
  t.sites.push_back(model_site(99, 6,
                               {frame(0x555555555000, "main", "worker", "worker.c", 5, false, "cd34", 0x555555550000)},
                               1000, 64000, 1, 64));
  SiteReport lost = model_site(99, 5, {}, 5, 500, 0, 0);
  lost.truncated_stack = true;
  lost.truncated_reason = "not_stored";
  t.sites.push_back(lost);
  t.leaks = {t.sites[0]};
  t.total_sites = 2;
  t.total_leak_sites = 1;
  return t;
}

}  // namespace

Report profile_model(ConfigHistory& history) {
  history.next(TierConfig{}, 0, "initial settings");
  Report r;
  r.targets = {server(), worker()};
  r.duration_s = 2.5;
  r.sampling = &history;
  r.mechanism = "uprobe-session";
  for (const auto& t : r.targets) {
    r.sites.insert(r.sites.end(), t.sites.begin(), t.sites.end());
    r.leaks.insert(r.leaks.end(), t.leaks.begin(), t.leaks.end());
  }
  std::sort(r.sites.begin(), r.sites.end(),
            [](const SiteReport& a, const SiteReport& b) { return a.estimated.bytes > b.estimated.bytes; });
  std::sort(r.leaks.begin(), r.leaks.end(),
            [](const SiteReport& a, const SiteReport& b) { return a.estimated.live_bytes > b.estimated.live_bytes; });
  r.total_sites = 6;
  r.total_leak_sites = 4;
  return r;
}

}  // namespace memscope::test
