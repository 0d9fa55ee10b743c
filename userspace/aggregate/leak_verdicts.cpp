#include "aggregate/leak_verdicts.h"

#include <algorithm>
#include <cmath>

namespace memscope {
namespace {

// P(Binomial(n, p) <= k), exact below the mean, its terms from the first
// in log space so that neither (1-p)^n nor C(n, j) leave the range of a
// double. From the mean up it reads 1: it is at least 1/2 there (the
// median is at least floor(np)), far above any level a site is told at,
// and a site of millions of frees seen costs nothing.
double binomial_cdf(uint64_t k, uint64_t n, double p) {
  if (k >= n || p <= 0 || static_cast<double>(k) >= static_cast<double>(n) * p) return 1.0;
  if (p >= 1) return 0.0;
  const double lp = std::log(p), lq = std::log1p(-p);
  double log_term = static_cast<double>(n) * lq, sum = 0;
  for (uint64_t j = 0; j <= k; ++j) {
    sum += std::exp(log_term);
    log_term += std::log(static_cast<double>(n - j)) - std::log(static_cast<double>(j + 1)) + lp - lq;
  }
  return std::min(1.0, sum);
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
