#include "report/lifetime_report.h"

#include <algorithm>
#include <cmath>

#include "report/json_report.h"

namespace memscope {
namespace {

using nlohmann::json;

// R = y / x over the same blocks, y a part of x: var(R) ~ sum w(w-1)
// (y_i - R x_i)^2 / x^2, which splits into the part's variance sum and the
// rest's.
Share ratio(double part, double var_part, double whole, double var_whole) {
  // With release windows the part (frees seen, each weighted by 1 / c_r)
  // may exceed the whole by chance: a share is at most 1.
  const double r = std::clamp(part / whole, 0.0, 1.0);
  const double var = (var_part * (1 - r) * (1 - r) + std::max(0.0, var_whole - var_part) * r * r) / (whole * whole);
  const double half = 1.96 * std::sqrt(std::max(0.0, var));
  return {r, std::clamp(r - half, 0.0, 1.0), std::clamp(r + half, 0.0, 1.0)};
}

json bucket_json(std::string_view name, uint64_t sampled, double count, double var_count, double bytes,
                 double var_bytes) {
  return {{"bucket", name},
          {"sampled", sampled},
          {"count", count},
          {"bytes", bytes},
          {"ci95",
           {{"count", interval(count, var_count, static_cast<double>(sampled))},
            {"bytes", interval(bytes, var_bytes, 0)}}}};
}

json share_json(const Share& s) { return {{"value", s.value}, {"ci95", json::array({s.low, s.high})}}; }

}  // namespace

std::optional<TemporaryShare> temporary_share(const SiteStats& site, const SiteLifetimes& lifetimes) {
  if (site.count <= 0 || site.bytes < 0) return std::nullopt;
  const LifetimeSums& t = lifetimes.buckets[kUnder1ms];
  TemporaryShare share;
  share.count = ratio(t.count, t.var_count, site.count, site.var_count);
  share.bytes = site.bytes > 0 ? ratio(t.bytes, t.var_bytes, site.bytes, site.var_bytes) : share.count;
  // None (or all) of n sampled blocks temporary gives the delta method no
  // spread at all, yet a share up to 1 - 0.025^(1/n) (Clopper-Pearson's
  // bound for 0 of n) would show none 2.5% of the time. Not when every call
  // was recorded (no variance): then the share is known.
  if (site.var_count > 0 && site.sampled > 0) {
    const double edge = std::pow(0.025, 1.0 / static_cast<double>(site.sampled));
    for (Share* x : {&share.count, &share.bytes}) {
      if (t.sampled == 0) x->high = std::max(x->high, 1 - edge);
      if (t.sampled == site.sampled) x->low = std::min(x->low, edge);
    }
  }
  return share;
}

std::vector<std::string> lifetime_caveats(const Report& r) {
  std::vector<std::string> why;
  if (r.exact.stats[MS_STAT_DROPPED])
    why.push_back(
        "dropped_events: records lost with the ring buffer full; a lost free leaves its block counted "
        "as still live or end_unseen");
  if (r.exact.stats[MS_STAT_LIVE_FULL])
    why.push_back(
        "live_table_full: the kernel could not follow some sampled blocks (--max-live); their frees are "
        "never reported and they count as still live");
  if (r.records.live_untracked)
    why.push_back(
        "live_untracked: the agent did not follow some sampled blocks (--max-live); they count as "
        "end_unseen");
  return why;
}

json site_lifetimes_json(const SiteReport& s) {
  json out = json::array();
  for (unsigned b = 0; b < kEndUnseen; ++b) {
    const LifetimeSums& x = s.lifetimes.buckets[b];
    out.push_back(bucket_json(kLifetimeBucketNames[b], x.sampled, x.count, x.var_count, x.bytes, x.var_bytes));
  }
  const SiteStats& e = s.estimated;
  out.push_back(
      bucket_json("still_live", e.sampled_live, e.live_count, e.var_live_count, e.live_bytes, e.var_live_bytes));
  const LifetimeSums& u = s.lifetimes.buckets[kEndUnseen];
  out.push_back(bucket_json(kLifetimeBucketNames[kEndUnseen], u.sampled, u.count, u.var_count, u.bytes, u.var_bytes));
  return out;
}

json site_temporary_json(const SiteReport& s) {
  const LifetimeSums& t = s.lifetimes.buckets[kUnder1ms];
  json out = {{"count", t.count}, {"bytes", t.bytes}, {"share_count", nullptr}, {"share_bytes", nullptr}};
  if (auto share = temporary_share(s.estimated, s.lifetimes)) {
    out["share_count"] = share_json(share->count);
    out["share_bytes"] = share_json(share->bytes);
  }
  return out;
}

json lifetimes_json(const Report& r) {
  json buckets = json::array();
  double low = 0;
  for (unsigned b = 0; b < kEndUnseen; ++b) {
    const json high = b < kLonger ? json(static_cast<double>(kLifetimeBoundsNs[b]) / 1e9) : json(nullptr);
    buckets.push_back({{"bucket", kLifetimeBucketNames[b]}, {"min_s", low}, {"max_s", high}});
    if (b < kLonger) low = high.get<double>();
  }
  buckets.push_back({{"bucket", "still_live"}, {"min_s", nullptr}, {"max_s", nullptr}});
  buckets.push_back({{"bucket", kLifetimeBucketNames[kEndUnseen]}, {"min_s", nullptr}, {"max_s", nullptr}});
  const auto caveats = lifetime_caveats(r);
  return {{"buckets", buckets},
          {"resolution_s", static_cast<double>(1u << MS_TIME_SHIFT) / 1e9},
          {"temporary", "freed less than 1 ms after its allocation returned (bucket lt_1ms)"},
          {"in_windows", r.duty.enabled},
          {"complete", caveats.empty()},
          {"caveats", caveats}};
}

}  // namespace memscope
