#include "report/report_builder.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <unordered_map>

#include "aggregate/leak_verdicts.h"
#include "aggregate/live_estimate.h"
#include "report/progress_line.h"

namespace memscope {
namespace {

// Sites whose stacks symbolize identically (an unrolled loop calling malloc
// from three addresses on one source line) are one site to the reader.
std::string identity(uint32_t pid, const std::vector<Frame>& frames) {
  std::string key = std::to_string(pid);
  for (const auto& f : frames) {
    key += '|';
    key += f.function;
    key += '@';
    key += f.module;
    if (!f.file.empty()) key += ':' + f.file + ':' + std::to_string(f.line);
  }
  return key;
}

void add_into(SiteStats& into, const SiteStats& s) {
  into.tgid = s.tgid;
  into.count += s.count;
  into.bytes += s.bytes;
  into.live_count += s.live_count;
  into.live_bytes += s.live_bytes;
  into.var_count += s.var_count;
  into.var_bytes += s.var_bytes;
  into.var_live_count += s.var_live_count;
  into.var_live_bytes += s.var_live_bytes;
  into.sampled += s.sampled;
  into.sampled_live += s.sampled_live;
  into.seen_frees.add(s.seen_frees);
  into.sampled_unfollowed += s.sampled_unfollowed;
}

// Calls between duty-cycle windows are not seen: the windows' estimates
// stand for the share of work they covered. The coverage is treated as
// known, so variances scale by its square.
SiteStats scaled(SiteStats s, const std::map<uint32_t, double>& scale) {
  auto it = scale.find(s.tgid);
  if (it == scale.end() || it->second == 1.0) return s;
  const double k = it->second;
  s.count *= k;
  s.bytes *= k;
  s.live_count *= k;
  s.live_bytes *= k;
  s.var_count *= k * k;
  s.var_bytes *= k * k;
  s.var_live_count *= k * k;
  s.var_live_bytes *= k * k;
  return s;
}

// Under a duty cycle with two windows or more, the estimates' variances
// count which stretches of the run the windows held as well as the records
// (aggregate/window_variance.h); `s` is already scaled, `raw` is not.
SiteStats with_window_variance(SiteStats s, const SiteStats& raw, const SiteWindows* w, const WindowFolds& folds,
                               const RankOptions& options) {
  auto clock = options.window_clock.find(raw.tgid);
  auto k = options.scale.find(raw.tgid);
  auto c = folds.clocks().find(raw.tgid);
  if (!w || clock == options.window_clock.end() || k == options.scale.end() || c == folds.clocks().end()) return s;
  const double coverage = 1.0 / k->second;
  if (auto v = window_variance(raw.count, raw.var_count, w->count, c->second, clock->second, coverage))
    s.var_count = *v;
  if (auto v = window_variance(raw.bytes, raw.var_bytes, w->bytes, c->second, clock->second, coverage))
    s.var_bytes = *v;
  return s;
}

// Releases windowed: a block left in the live table may have been freed
// between release windows, so live figures come from the frees seen, each
// standing for 1 / c_r frees, before the allocation windows' scaling, and a
// negative estimate reads 0; sampled_live becomes the sampled blocks alive
// beyond what chance explains (`told`: the process's leak verdicts).
SiteStats with_unseen_frees(SiteStats s, uint32_t id, const std::map<uint32_t, double>& release,
                            const std::unordered_map<uint32_t, uint64_t>& told) {
  auto it = release.find(s.tgid);
  if (it == release.end()) return s;
  const double c_r = it->second;
  const WeightedSum n = live_count({s.count, s.var_count}, s.seen_frees, c_r);
  const WeightedSum b = live_bytes({s.bytes, s.var_bytes}, s.seen_frees, c_r);
  s.live_count = std::max(0.0, n.value);
  s.var_live_count = n.variance;
  s.live_bytes = std::max(0.0, b.value);
  s.var_live_bytes = b.variance;
  auto t = told.find(id);
  s.sampled_live = t == told.end() ? 0 : t->second;
  return s;
}

// The leak verdicts of every process whose releases were windowed, its
// sites judged together (aggregate/leak_verdicts.h). Blocks the agent did
// not follow could never have their free seen: not evidence of a leak.
std::unordered_map<uint32_t, uint64_t> leak_verdicts(const Aggregator& aggregator,
                                                     const std::map<uint32_t, double>& release) {
  std::map<uint32_t, std::vector<LeakEvidence>> by_process;
  for (const auto& [id, s] : aggregator.sites())
    if (release.count(s.tgid))
      by_process[s.tgid].push_back({id, s.sampled - std::min(s.sampled, s.sampled_unfollowed), s.seen_frees.sampled});
  std::unordered_map<uint32_t, uint64_t> told;
  for (const auto& [tgid, sites] : by_process) told.merge(alive_beyond_chance(sites, release.at(tgid)));
  return told;
}

void add_threads(Report& report, const Aggregator& aggregator, const RankOptions& options) {
  for (const auto& [key, t] : aggregator.threads()) {
    ThreadStats th = t;
    if (auto k = options.scale.find(t.tgid); k != options.scale.end()) {
      th.count *= k->second;
      th.bytes *= k->second;
      th.var_count *= k->second * k->second;
      th.var_bytes *= k->second * k->second;
    }
    report.threads.push_back(th);
  }
  std::sort(report.threads.begin(), report.threads.end(), [](const ThreadStats& a, const ThreadStats& b) {
    return a.bytes != b.bytes ? a.bytes > b.bytes : a.tid < b.tid;
  });
  if (options.top && report.threads.size() > options.top) report.threads.resize(options.top);
}

// The report's lists, each ranked by its own measure and cut by --top, for
// the whole report and per process.
void rank_sites(Report& report, std::map<std::string, SiteReport> merged, const RankOptions& options) {
  std::vector<SiteReport> sites, leaks, temporaries;
  for (auto& [key, r] : merged) {
    if (r.estimated.sampled_live > 0) leaks.push_back(r);
    if (r.lifetimes.buckets[kUnder1ms].sampled > 0) temporaries.push_back(r);
    sites.push_back(std::move(r));
  }
  auto by = [](auto measure) {
    return [measure](const SiteReport& a, const SiteReport& b) {
      return measure(a) != measure(b) ? measure(a) > measure(b) : a.site_id < b.site_id;
    };
  };
  std::sort(sites.begin(), sites.end(), by([](const SiteReport& s) { return s.estimated.bytes; }));
  std::sort(leaks.begin(), leaks.end(), by([](const SiteReport& s) { return s.estimated.live_bytes; }));
  std::sort(temporaries.begin(), temporaries.end(),
            by([](const SiteReport& s) { return s.lifetimes.buckets[kUnder1ms].count; }));
  // Each process's own lists, cut by --top on their own.
  auto own = [&](const std::vector<SiteReport>& all, pid_t pid, size_t& total) {
    std::vector<SiteReport> mine;
    for (const auto& s : all)
      if (s.pid == static_cast<uint32_t>(pid)) mine.push_back(s);
    total = mine.size();
    if (options.top && mine.size() > options.top) mine.resize(options.top);
    return mine;
  };
  for (auto& t : report.targets) {
    t.sites = own(sites, t.process.pid, t.total_sites);
    t.leaks = own(leaks, t.process.pid, t.total_leak_sites);
    t.temporaries = own(temporaries, t.process.pid, t.total_temporary_sites);
  }
  report.total_sites = sites.size();
  report.total_leak_sites = leaks.size();
  report.total_temporary_sites = temporaries.size();
  for (auto* list : {&sites, &leaks, &temporaries})
    if (options.top && list->size() > options.top) list->resize(options.top);
  report.sites = std::move(sites);
  report.leaks = std::move(leaks);
  report.temporaries = std::move(temporaries);
}

}  // namespace

void add_sites(Report& report, const Aggregator& aggregator, const SiteStacks& stacks, Symbolizer& symbolizer,
               const RankOptions& options) {
  std::unordered_map<uint32_t, uint64_t> oldest;  // site id -> oldest live block time
  for (const auto& [key, block] : aggregator.live()) {
    auto [it, fresh] = oldest.try_emplace(block.site, block.time_ns);
    if (!fresh) it->second = std::min(it->second, block.time_ns);
  }

  const auto told = leak_verdicts(aggregator, options.release_coverage);
  std::map<std::string, SiteReport> merged;
  ProgressLine progress("symbolizing sites", aggregator.sites().size());
  for (const auto& [id, s] : aggregator.sites()) {
    progress.advance();
    std::vector<Frame> frames;
    bool truncated = false, depth_limited = false;
    std::string reason;
    if (auto it = stacks.find(id); it != stacks.end()) {
      truncated = it->second.truncated;
      reason = it->second.truncated_reason;
      depth_limited = it->second.depth_limited;
      for (uint64_t ip : it->second.frames) {
        auto expanded = symbolizer.symbolize(s.tgid, ip, s.first_ns);  // inlined functions first
        frames.insert(frames.end(), expanded.begin(), expanded.end());
      }
    }
    SiteReport& r = merged[identity(s.tgid, frames)];
    if (r.frames.empty()) {
      r.site_id = id;
      r.pid = s.tgid;
      r.frames = std::move(frames);
      r.truncated_stack = truncated;
      r.truncated_reason = reason;
      r.stack_depth_limited = depth_limited;
    }
    add_into(r.estimated,
             with_window_variance(scaled(with_unseen_frees(s, id, options.release_coverage, told), options.scale), s,
                                  aggregator.windows().site(id), aggregator.windows(), options));
    if (const SiteLifetimes* l = aggregator.lifetimes(id)) {
      SiteLifetimes x = *l;
      if (auto c = options.release_coverage.find(s.tgid); c != options.release_coverage.end())
        for (unsigned b = 0; b < kEndUnseen; ++b) x.buckets[b].scale(1.0 / c->second);
      if (auto k = options.scale.find(s.tgid); k != options.scale.end()) x.scale(k->second);
      r.lifetimes.add(x);
    }
    if (auto o = oldest.find(id); o != oldest.end() && options.end_time_ns > o->second)
      r.oldest_live_age_s = std::max(r.oldest_live_age_s, static_cast<double>(options.end_time_ns - o->second) / 1e9);
  }

  // Per process: the sum of its sites (their variances add: the records
  // are drawn independently).
  for (auto& t : report.targets) t.estimated = SiteStats{};
  double all_bytes = 0, precise_bytes = 0;
  for (auto& [key, r] : merged) {
    for (auto& t : report.targets)
      if (static_cast<uint32_t>(t.process.pid) == r.pid) add_into(t.estimated, r.estimated);
    all_bytes += r.estimated.bytes;
    if (r.estimated.bytes > 0 && 1.96 * std::sqrt(std::max(0.0, r.estimated.var_bytes)) <= 0.05 * r.estimated.bytes)
      precise_bytes += r.estimated.bytes;
  }
  report.quality_bytes_within_5pct = all_bytes > 0 ? precise_bytes / all_bytes : 1.0;

  add_threads(report, aggregator, options);

  rank_sites(report, std::move(merged), options);
}

}  // namespace memscope
