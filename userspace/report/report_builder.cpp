#include "report/report_builder.h"

#include <algorithm>
#include <unordered_map>

namespace memscope {
namespace {

SiteReport make_site(uint32_t id, const SiteStats& s, const SiteStacks& stacks, Symbolizer& sym) {
  SiteReport r;
  r.site_id = id;
  r.pid = s.tgid;
  r.estimated = s;
  if (auto it = stacks.find(id); it != stacks.end()) {
    r.truncated_stack = it->second.truncated;
    for (uint64_t ip : it->second.frames) r.frames.push_back(sym.symbolize(s.tgid, ip));
  }
  return r;
}

}  // namespace

void add_sites(Report& report, const Aggregator& aggregator, const SiteStacks& stacks,
               Symbolizer& symbolizer, const RankOptions& options) {
  std::vector<std::pair<uint32_t, const SiteStats*>> by_bytes, by_live;
  for (const auto& [id, s] : aggregator.sites()) {
    by_bytes.emplace_back(id, &s);
    if (s.sampled_live > 0) by_live.emplace_back(id, &s);
  }
  std::sort(by_bytes.begin(), by_bytes.end(),
            [](auto& a, auto& b) { return a.second->bytes != b.second->bytes ? a.second->bytes > b.second->bytes : a.first < b.first; });
  std::sort(by_live.begin(), by_live.end(), [](auto& a, auto& b) {
    return a.second->live_bytes != b.second->live_bytes ? a.second->live_bytes > b.second->live_bytes : a.first < b.first;
  });
  report.total_sites = by_bytes.size();
  report.total_leak_sites = by_live.size();
  const size_t top = options.top ? options.top : SIZE_MAX;
  if (by_bytes.size() > top) by_bytes.resize(top);
  if (by_live.size() > top) by_live.resize(top);

  for (auto& [id, s] : by_bytes) report.sites.push_back(make_site(id, *s, stacks, symbolizer));

  std::unordered_map<uint32_t, uint64_t> oldest;
  for (const auto& [key, block] : aggregator.live()) {
    auto [it, fresh] = oldest.try_emplace(block.site, block.time_ns);
    if (!fresh) it->second = std::min(it->second, block.time_ns);
  }
  for (auto& [id, s] : by_live) {
    SiteReport r = make_site(id, *s, stacks, symbolizer);
    if (auto it = oldest.find(id); it != oldest.end() && options.end_time_ns > it->second)
      r.oldest_live_age_s = static_cast<double>(options.end_time_ns - it->second) / 1e9;
    report.leaks.push_back(std::move(r));
  }
}

}  // namespace memscope
