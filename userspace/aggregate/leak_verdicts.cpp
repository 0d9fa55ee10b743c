#include "aggregate/leak_verdicts.h"

#include <algorithm>
#include <cmath>

namespace memscope {
namespace {

// P(Binomial(n, p) <= k), exact below the mean: its terms from j = k down,
// in log space so that neither (1-p)^n nor C(n, j) leave the range of a
// double, until they no longer count (below the mean they fall at least
// geometrically). From the mean up it reads 1: for k >= np it is at least
// 1/2 (the median is at most ceil(np)), above any level a site is told at
// (q < 1/2), and a site of millions of frees seen costs nothing.
double binomial_cdf(uint64_t k, uint64_t n, double p) {
  if (k >= n || p <= 0 || static_cast<double>(k) >= static_cast<double>(n) * p) return 1.0;
  if (p >= 1) return 0.0;
  const double nd = static_cast<double>(n), kd = static_cast<double>(k);
  const double log_first = std::lgamma(nd + 1) - std::lgamma(kd + 1) - std::lgamma(nd - kd + 1) +
                           kd * std::log(p) + (nd - kd) * std::log1p(-p);
  const double odds = (1 - p) / p;
  double term = 1.0, sum = 0.0;  // relative to the term at k
  for (uint64_t j = k;; --j) {
    sum += term;
    if (j == 0 || term < sum * 1e-17) break;
    term *= static_cast<double>(j) / (nd - static_cast<double>(j) + 1) * odds;
  }
  return std::min(1.0, std::exp(log_first + std::log(sum)));
}

// The most dead blocks for which seeing `seen` frees or fewer keeps a
// chance above `alpha` (k ~ Binomial(D, c_r), exact, one-sided): at least
// `seen` (those are dead), at most `followed`. The chance falls as D grows.
uint64_t dead_bound(uint64_t followed, uint64_t seen, double c_r, double alpha) {
  uint64_t lo = seen, hi = followed;  // P(Binomial(seen, c_r) <= seen) = 1 > alpha
  while (lo < hi) {
    const uint64_t mid = lo + (hi - lo + 1) / 2;
    if (binomial_cdf(seen, mid, c_r) > alpha) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

}  // namespace

std::unordered_map<uint32_t, uint64_t> alive_beyond_chance(const std::vector<LeakEvidence>& sites, double c_r,
                                                           double q) {
  std::unordered_map<uint32_t, uint64_t> told;
  q = std::min(q, 0.25);      // binomial_cdf reads 1 from the mean up: levels stay below 1/2
  if (c_r <= 0) return told;  // nothing seen, nothing told
  if (c_r >= 1) {             // every free seen: the dead are those seen
    for (const LeakEvidence& s : sites)
      if (s.seen < s.followed) told[s.site] = s.followed - s.seen;
    return told;
  }
  struct Judged {
    LeakEvidence site;
    double p;
  };
  std::vector<Judged> judged;
  for (LeakEvidence s : sites) {
    if (!s.followed) continue;
    s.seen = std::min(s.seen, s.followed);
    judged.push_back({s, binomial_cdf(s.seen, s.followed, c_r)});
  }
  // Benjamini-Hochberg: the largest j whose j-th smallest p-value is at
  // most j q / m; the j sites with the smallest are told, each bounded at
  // that level.
  std::sort(judged.begin(), judged.end(), [](const Judged& a, const Judged& b) { return a.p < b.p; });
  const double m = static_cast<double>(judged.size());
  size_t last = 0;
  for (size_t j = 1; j <= judged.size(); ++j)
    if (judged[j - 1].p <= static_cast<double>(j) * q / m) last = j;
  const double alpha = static_cast<double>(last) * q / m;
  for (size_t j = 0; j < last; ++j) {
    const Judged& s = judged[j];
    told[s.site.site] = s.site.followed - dead_bound(s.site.followed, s.site.seen, c_r, alpha);
  }
  return told;
}

}  // namespace memscope
