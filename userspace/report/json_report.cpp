#include "report/json_report.h"

#include <algorithm>
#include <cmath>

#include "report/lifetime_report.h"
#include "targets/api_names.h"

namespace memscope {
namespace {

using nlohmann::json;

json frames_json(const std::vector<Frame>& frames) {
  json out = json::array();
  for (const auto& f : frames) {
    char addr[32];
    snprintf(addr, sizeof addr, "0x%llx", static_cast<unsigned long long>(f.address));
    char offset[32];
    snprintf(offset, sizeof offset, "0x%llx", static_cast<unsigned long long>(f.offset.value_or(0)));
    out.push_back({{"function", f.function},
                   {"module", f.module},
                   {"file", f.file.empty() ? json(nullptr) : json(f.file)},
                   {"line", f.line > 0 ? json(f.line) : json(nullptr)},
                   {"address", addr},
                   {"inlined", f.inlined},
                   {"offset", f.offset ? json(offset) : json(nullptr)},
                   {"build_id", f.build_id.empty() ? json(nullptr) : json(f.build_id)}});
  }
  return out;
}

// `targets`: the processes whose probes the counts come from.
json exact_json(const ExactCounts& exact, const std::vector<const TargetReport*>& targets) {
  json by_api = json::object();
  // Entry points that share an address with an earlier one are counted
  // under that one; say so instead of reporting a silent zero.
  std::map<unsigned, unsigned> counted_as;
  for (const TargetReport* t : targets)
    for (auto [api, as] : t->allocator.counted_as) counted_as.emplace(api, as);
  for (unsigned api = 0; api < MS_API_COUNT; ++api) {
    ms_count c = exact.api_total(api);
    json e = {{"calls", c.calls}, {"bytes", c.bytes}};
    auto it = counted_as.find(api);
    if (it != counted_as.end() && it->second != api) e["counted_as"] = api_name(it->second);
    json aliases = json::array();
    for (auto [a, as] : counted_as)
      if (as == api && a != api) aliases.push_back(api_name(a));
    if (!aliases.empty()) e["aliases"] = aliases;
    if (it == counted_as.end() && !targets.empty()) e["probed"] = false;
    by_api[std::string(api_name(api))] = e;
  }
  json classes = json::array();
  uint64_t alloc_calls = 0, alloc_bytes = 0;
  for (unsigned k = 0; k < MS_SIZE_CLASSES; ++k) {
    uint64_t calls = 0, bytes = 0;
    for (unsigned api = 0; api < MS_API_COUNT; ++api) {
      if (ms_api_frees(api)) continue;
      calls += exact.by_api_class[api][k].calls;
      bytes += exact.by_api_class[api][k].bytes;
    }
    alloc_calls += calls;
    alloc_bytes += bytes;
    if (!calls) continue;
    uint64_t lo = k == 0 ? 0 : (1ull << k);
    uint64_t hi = k == 63 ? UINT64_MAX : (1ull << (k + 1)) - 1;
    classes.push_back({{"class", k}, {"min", lo}, {"max", hi}, {"calls", calls}, {"bytes", bytes}});
  }
  return {{"by_api", by_api},
          {"size_classes", classes},
          {"allocation_calls", alloc_calls},
          {"allocation_bytes", alloc_bytes},
          {"free_calls", exact.free_calls()}};
}

json sampling_json(const Report& r) {
  const auto& st = r.exact.stats;
  json j;
  j["mode"] = r.sampling && r.sampling->current().by_bytes ? "bytes" : "tiers";
  j["adaptive"] = {
      {"max_events_per_s", r.budget.max_events_per_s > 0 ? json(r.budget.max_events_per_s) : json(nullptr)},
      {"max_overhead_pct", r.budget.max_overhead_pct > 0 ? json(r.budget.max_overhead_pct) : json(nullptr)},
      {"max_sampled_pct", r.budget.max_sampled_pct > 0 ? json(r.budget.max_sampled_pct) : json(nullptr)},
      {"probe_cost_ns", r.probe_cost.per_call_ns > 0 ? json(r.probe_cost.per_call_ns) : json(nullptr)},
      {"record_cost_ns", r.probe_cost.per_record_ns > 0 ? json(r.probe_cost.per_record_ns) : json(nullptr)},
      {"hit_cost_ns", r.probe_cost.per_hit_ns > 0 ? json(r.probe_cost.per_hit_ns) : json(nullptr)}};
  if (r.sampling) {
    const TierConfig& c = r.sampling->current();
    if (c.by_bytes) j["byte_interval"] = c.byte_interval;
    j["thresholds"] = {{"medium_min", c.medium_min}, {"large_min", c.large_min}, {"always_min", c.always_min}};
    j["rates"] = {{"small", c.rate[0]}, {"medium", c.rate[1]}, {"large", c.rate[2]}};
    j["guarantee"] = c.guarantee;
    json changes = json::array();
    for (const auto& ch : r.sampling->changes())
      changes.push_back(
          {{"time_s", ch.time_s},
           {"slot", ch.slot},
           {"rates", {{"small", ch.config.rate[0]}, {"medium", ch.config.rate[1]}, {"large", ch.config.rate[2]}}},
           {"mode", ch.config.by_bytes ? "bytes" : "tiers"},
           {"reason", ch.reason}});
    j["changes"] = changes;
  }
  j["sampled_events"] = st[MS_STAT_SAMPLED];
  j["dropped_events"] = st[MS_STAT_DROPPED];
  const uint64_t lost_frees = std::min(st[MS_STAT_DROPPED_FREES], st[MS_STAT_DROPPED]);
  j["dropped_by_kind"] = {{"allocations", st[MS_STAT_DROPPED] - lost_frees}, {"frees", lost_frees}};
  j["estimates_affected_by_drops"] = {{"allocations_low", st[MS_STAT_DROPPED] > lost_frees},
                                      {"live_high", lost_frees > 0}};
  j["records_received"] = r.records.records;
  j["allocation_records"] = r.records.allocations;
  j["free_records"] = r.records.frees;
  j["records_by_tier"] = {{"small", r.records.by_tier[0]},
                          {"medium", r.records.by_tier[1]},
                          {"large", r.records.by_tier[2]},
                          {"forced", r.records.by_tier[3]}};
  j["unmatched_frees"] = r.records.unmatched_frees;
  j["live_table_full"] = st[MS_STAT_LIVE_FULL];
  j["stack_errors"] = st[MS_STAT_STACK_ERRORS];
  j["site_table_full"] = st[MS_STAT_SITE_FULL];
  j["nested_calls"] = st[MS_STAT_NESTED];
  j["stale_pending"] = st[MS_STAT_STALE_PENDING];
  j["stack_walks_cut"] = st[MS_STAT_WALK_CUT];
  json cut = json::object();
  for (const auto& s : r.sites)
    if (s.truncated_stack) cut[s.truncated_reason] = cut.value(s.truncated_reason, 0) + 1;
  j["stacks_truncated"] = cut;
  j["process_table_full"] = r.process_stats[MS_PROC_STAT_FULL];
  j["process_events_lost"] = r.process_stats[MS_PROC_STAT_EVENTS_LOST];
  j["processes_not_counted"] = r.processes_not_counted;
  j["quality"] = {{"bytes_within_5pct", r.quality_bytes_within_5pct},
                  {"definition", "share of estimated bytes in sites whose 95% interval is within 5% of the estimate"}};
  return j;
}

json estimated_json(const SiteStats& s) {
  return {{"count", s.count},
          {"bytes", s.bytes},
          {"live_count", s.live_count},
          {"live_bytes", s.live_bytes},
          {"ci95",
           {{"count", interval(s.count, s.var_count, static_cast<double>(s.sampled))},
            {"bytes", interval(s.bytes, s.var_bytes, 0)},
            {"live_count", interval(s.live_count, s.var_live_count, static_cast<double>(s.sampled_live))},
            {"live_bytes", interval(s.live_bytes, s.var_live_bytes, 0)}}}};
}

json memory_json(const MemoryTrack& m) {
  const ms_vm_counts& v = m.vm;
  json timeline = json::array();
  for (const auto& s : m.timeline) {
    timeline.push_back({{"t", s.t_s},
                        {"rss_bytes", s.rss_bytes},
                        {"rss_anon_bytes", s.rss_anon_bytes},
                        {"heap_live_bytes_estimated", s.heap_live_bytes},
                        {"allocation_calls", s.allocation_calls},
                        {"allocation_bytes", s.allocation_bytes}});
    if (m.followed) {  // measured only where the syscalls were followed
      timeline.back()["mapped_anon_bytes"] = s.mapped_anon_bytes;
      timeline.back()["brk_bytes"] = s.brk_bytes;
    }
  }
  json out = {{"timeline", timeline}};
  if (!m.followed) return out;
  out["exact"] = {
      {"mmap_anon", {{"calls", v.mmap_calls}, {"bytes", v.mmap_bytes}}},
      {"munmap_anon", {{"calls", v.munmap_calls}, {"bytes", v.munmap_bytes}}},
      {"munmap_other", {{"calls", v.other_munmap_calls}, {"bytes", v.other_munmap_bytes}}},
      {"brk", {{"calls", v.brk_calls}, {"grow_bytes", v.brk_grow_bytes}, {"shrink_bytes", v.brk_shrink_bytes}}},
      {"untracked_mmaps", v.untracked_mmaps}};
  return out;
}

json sites_json(const std::vector<SiteReport>& list) {
  json sites = json::array();
  for (const auto& s : list) {
    sites.push_back({{"pid", s.pid},
                     {"frames", frames_json(s.frames)},
                     {"stack_truncated", s.truncated_stack},
                     {"stack_depth_limited", s.stack_depth_limited},
                     {"estimated", estimated_json(s.estimated)},
                     {"sampled", {{"allocations", s.estimated.sampled}, {"live", s.estimated.sampled_live}}},
                     {"lifetimes", site_lifetimes_json(s)},
                     {"temporary", site_temporary_json(s)}});
    if (s.truncated_stack) sites.back()["stack_truncated_reason"] = s.truncated_reason;
  }
  return sites;
}

json leaks_json(const std::vector<SiteReport>& list) {
  json leaks = json::array();
  for (const auto& s : list)
    leaks.push_back({{"pid", s.pid},
                     {"frames", frames_json(s.frames)},
                     {"estimated",
                      {{"live_count", s.estimated.live_count},
                       {"live_bytes", s.estimated.live_bytes},
                       {"ci95",
                        {{"live_count", interval(s.estimated.live_count, s.estimated.var_live_count,
                                                 static_cast<double>(s.estimated.sampled_live))},
                         {"live_bytes", interval(s.estimated.live_bytes, s.estimated.var_live_bytes, 0)}}}}},
                     {"sampled_live", s.estimated.sampled_live},
                     {"oldest_age_s", s.oldest_live_age_s}});
  return leaks;
}

json extra_allocators_json(const std::vector<ExtraAllocator>& extras) {
  json out = json::array();
  for (const auto& x : extras) {
    json apis = json::array();
    for (unsigned a : x.apis) apis.push_back(api_name(a));
    out.push_back({{"path", x.path},
                   {"entry_points", apis},
                   {"attach_delay_s", x.attach_delay_s >= 0 ? json(x.attach_delay_s) : json(nullptr)}});
  }
  return out;
}

// What the process ran after each exec it made while traced, from the
// start of tracing.
json execs_json(const std::vector<ExecRecord>& execs, uint64_t start_ns) {
  json out = json::array();
  for (const auto& e : execs) {
    json x = {{"time_s", e.time_ns > start_ns ? static_cast<double>(e.time_ns - start_ns) / 1e9 : 0.0},
              {"exe", e.exe},
              {"traced", e.traced}};
    if (!e.traced) x["not_traced_because"] = e.not_traced_because;
    out.push_back(std::move(x));
  }
  return out;
}

json target_json(const TargetReport& t, uint64_t start_ns) {
  return {{"pid", t.process.pid},
          {"ns_pid", t.process.ns_pid},
          {"comm", t.process.comm},
          {"exe", t.process.exe},
          {"allocator", t.allocator.path},
          {"extra_allocators", extra_allocators_json(t.extra_allocators)},
          {"execs", execs_json(t.execs, start_ns)},
          {"exited", t.exited},
          {"pid_reused", t.pid_reused},
          {"estimated", estimated_json(t.estimated)},
          {"memory", memory_json(t.memory)}};
}

// Release windows: their coverage, and the frees estimated from those
// counted inside them (the kernel counts frees only there).
json release_process_json(const Report& r, const TargetReport& t) {
  auto c = r.duty.release_coverage.find(t.process.pid);
  if (!r.duty.releases_windowed || c == r.duty.release_coverage.end()) return nullptr;
  const double frees = static_cast<double>(t.exact.free_calls());
  return {{"coverage", c->second.value},
          {"clock", c->second.clock},
          {"user_cpu_in_windows_s", c->second.sums.user_cpu_in_windows_s},
          {"user_ticks_in_windows", c->second.sums.user_ticks_in_windows},
          {"frees_in_windows", t.exact.free_calls()},
          {"frees_estimated", c->second.value > 0 ? json(frees / c->second.value) : json(nullptr)}};
}

// Allocation calls and bytes a process made, estimated from those counted
// inside the windows over the coverage.
json duty_process_json(const Report& r, const TargetReport& t) {
  auto c = r.duty.coverage.find(t.process.pid);
  if (!r.duty.enabled || c == r.duty.coverage.end()) return nullptr;
  const double calls = static_cast<double>(t.exact.allocation_calls());
  const double bytes = static_cast<double>(t.exact.allocation_bytes());
  const double k = c->second.value > 0 ? 1.0 / c->second.value : 0.0;
  const Coverage& v = c->second;
  auto seen = r.duty.windows_by_process.find(t.process.pid);
  const uint64_t windows = seen == r.duty.windows_by_process.end() ? 0 : seen->second;
  return {{"coverage", v.value},
          {"windows", windows},
          {"intervals", windows >= 2 ? "records_and_windows" : "records_only"},
          {"clock", v.clock},
          {"coverage_by_frees", v.sums.frees_exact ? json(v.by_frees) : json(nullptr)},
          {"coverage_by_user_cpu", v.by_user_cpu},
          {"coverage_by_user_cpu_corrected", v.by_user_cpu_corrected >= 0 ? json(v.by_user_cpu_corrected) : json(nullptr)},
          {"coverage_by_cpu_corrected", v.by_cpu_corrected >= 0 ? json(v.by_cpu_corrected) : json(nullptr)},
          {"coverage_by_user_ticks", v.sums.user_ticks_total ? json(v.by_user_ticks) : json(nullptr)},
          {"coverage_by_user_ticks_corrected",
           v.by_user_ticks_corrected >= 0 ? json(v.by_user_ticks_corrected) : json(nullptr)},
          {"user_ticks_in_windows", v.sums.user_ticks_in_windows},
          {"user_ticks_total", v.sums.user_ticks_total},
          {"frees_in_windows", v.sums.frees_in_windows},
          {"frees_total", v.sums.frees_total},
          {"user_cpu_in_windows_s", v.sums.user_cpu_in_windows_s},
          {"user_cpu_total_s", v.sums.user_cpu_total_s},
          {"hits_in_windows", v.sums.hits_in_windows},
          {"hits_total", v.sums.hits_total},
          {"cpu_in_windows_s", v.sums.cpu_in_windows_s},
          {"cpu_total_s", v.sums.cpu_total_s},
          {"user_ns_per_hit", v.hit_cost.user_ns > 0 ? json(v.hit_cost.user_ns) : json(nullptr)},
          {"user_tick_ns_per_hit", v.hit_cost.tick_ns > 0 ? json(v.hit_cost.tick_ns) : json(nullptr)},
          {"allocations_estimated",
           c->second.value > 0 ? json{{"calls", calls * k}, {"bytes", bytes * k}} : json(nullptr)},
          {"releases", release_process_json(r, t)}};
}

// Each process with its own exact counts, sites and leaks, and what the
// probes cost it: hits counted by the kernel, time estimated from the
// per-hit cost measured on this host.
json processes_json(const Report& r) {
  json out = json::array();
  for (const auto& t : r.targets) {
    json p = target_json(t, r.start_ns);
    p["exact"] = exact_json(t.exact, {&t});
    p["sites"] = sites_json(t.sites);
    p["leaks"] = leaks_json(t.leaks);
    p["temporaries"] = sites_json(t.temporaries);
    p["totals"] = {
        {"sites", t.total_sites}, {"leak_sites", t.total_leak_sites}, {"temporary_sites", t.total_temporary_sites}};
    const uint64_t hits = t.entry_hits + t.return_hits;
    p["probe_hits"] = {{"entries", t.entry_hits}, {"returns", t.return_hits}, {"total", hits}};
    p["uncounted"] = {{"calls", t.uncounted.calls}, {"hits", t.uncounted.hits}};
    p["added_time_s"] = r.probe_cost.per_hit_ns > 0 ? json(hits * r.probe_cost.per_hit_ns / 1e9) : json(nullptr);
    p["duty_cycle"] = duty_process_json(r, t);
    out.push_back(std::move(p));
  }
  return out;
}

json duty_json(const Report& r) {
  if (!r.duty.enabled) return nullptr;
  return {{"chosen_by", r.duty.chosen_by}, {"window_s", r.duty.window_s}, {"period_s", r.duty.period_s},
          {"windows", r.duty.windows},     {"open_s", r.duty.open_s},     {"total_s", r.duty.total_s},
          {"reason", r.duty.last_reason},
          {"releases_windowed", r.duty.releases_windowed},
          {"release_windows", r.duty.release_windows},
          {"release_open_s", r.duty.release_open_s}};
}

}  // namespace

json interval(double estimate, double variance, double floor) {
  const double half = 1.96 * std::sqrt(std::max(0.0, variance));
  return json::array({std::max(floor, estimate - half), estimate + half});
}

json to_json(const Report& r) {
  json j;
  j["schema"] = kReportSchema;
  j["tool"] = {{"name", "memscope-bpf"}, {"version", "0.1.0"}};
  j["mechanism"] = r.mechanism;
  json targets = json::array();
  std::vector<const TargetReport*> all;
  for (const auto& t : r.targets) {
    targets.push_back(target_json(t, r.start_ns));
    all.push_back(&t);
  }
  j["targets"] = targets;
  j["duration_s"] = r.duration_s;
  j["exact"] = exact_json(r.exact, all);
  j["sampling"] = sampling_json(r);
  j["duty_cycle"] = duty_json(r);
  json probes = json::array();
  for (const auto& p : r.probes)
    probes.push_back({{"pid", p.pid},
                      {"api", api_name(p.api)},
                      {"symbol", p.symbol},
                      {"path", p.path},
                      {"offset", p.offset},
                      {"stack_delta", p.stack_delta},
                      {"placement", p.placement},
                      {"kind", p.kind}});
  j["probes"] = probes;

  j["sites"] = sites_json(r.sites);
  j["leaks"] = leaks_json(r.leaks);
  j["temporaries"] = sites_json(r.temporaries);
  j["lifetimes"] = lifetimes_json(r);
  j["processes"] = processes_json(r);
  json threads = json::array();
  for (const auto& t : r.threads)
    threads.push_back({{"pid", t.tgid},
                       {"tid", t.tid},
                       {"estimated",
                        {{"count", t.count},
                         {"bytes", t.bytes},
                         {"ci95",
                          {{"count", interval(t.count, t.var_count, static_cast<double>(t.sampled))},
                           {"bytes", interval(t.bytes, t.var_bytes, 0)}}}}},
                       {"sampled", t.sampled}});
  j["threads"] = threads;
  j["totals"] = {
      {"sites", r.total_sites}, {"leak_sites", r.total_leak_sites}, {"temporary_sites", r.total_temporary_sites}};
  j["agent"] = {{"cpu_user_s", r.agent.cpu_user_s},       {"cpu_system_s", r.agent.cpu_system_s},
                {"setup_cpu_s", r.agent.setup_cpu_s},     {"finish_cpu_s", r.agent.finish_cpu_s},
                {"max_rss_bytes", r.agent.max_rss_bytes}, {"drain_batches", r.agent.drain_batches},
                {"table_bytes", r.agent.table_bytes},     {"live_blocks", r.agent.live_blocks},
                {"target_cpu_s", r.agent.target_cpu_s},   {"target_cpu_complete", r.agent.target_cpu_complete}};
  return j;
}

std::string utf8_repaired(const std::string& s) {
  // nlohmann's own repair, the one every JSON file is written with: a
  // string dumped with it reads back as valid UTF-8.
  return nlohmann::json::parse(nlohmann::json(s).dump(-1, ' ', false, kReplaceBadUtf8)).get<std::string>();
}

}  // namespace memscope
