#include "aggregate/live_estimate.h"

#include <algorithm>
#include <cmath>

namespace memscope {
namespace {

WeightedSum live_of(double allocated, double allocated_var, double seen, double seen_var, double seen_sq,
                    double c_r) {
  if (c_r <= 0) return {allocated, std::max(0.0, allocated_var)};
  // Blocks still live are not known one by one: their own sampling
  // variance is estimated as every block's less the seen ones' / c_r.
  const double sampling = allocated_var - seen_var / c_r;
  const double windows = seen_sq * (1 - c_r) / (c_r * c_r);
  return {allocated - seen / c_r, std::max(0.0, sampling + windows)};
}

}  // namespace

WeightedSum live_count(const WeightedSum& allocated, const SeenFrees& seen, double c_r) {
  return live_of(allocated.value, allocated.variance, seen.count, seen.var_count, seen.sq_count, c_r);
}

WeightedSum live_bytes(const WeightedSum& allocated, const SeenFrees& seen, double c_r) {
  return live_of(allocated.value, allocated.variance, seen.bytes, seen.var_bytes, seen.sq_bytes, c_r);
}

double binomial_cdf(uint64_t k, uint64_t n, double p) {
  if (k >= n || p <= 0) return 1.0;
  if (p >= 1) return 0.0;
  // Terms j = 0..k of C(n, j) p^j (1-p)^(n-j), each from the last, in logs
  // so that neither (1-p)^n nor C(n, j) leave the range of a double.
  const double lp = std::log(p), lq = std::log1p(-p);
  double log_term = static_cast<double>(n) * lq, sum = 0;
  for (uint64_t j = 0; j <= k; ++j) {
    sum += std::exp(log_term);
    log_term += std::log(static_cast<double>(n - j)) - std::log(static_cast<double>(j + 1)) + lp - lq;
  }
  return std::min(1.0, sum);
}

uint64_t dead_bound(uint64_t sampled, uint64_t seen, double c_r) {
  if (c_r <= 0 || seen >= sampled) return sampled;
  if (c_r >= 1) return seen;  // every free seen: the dead are those seen
  // P(Binomial(D, c) <= k) falls as D grows: from D = k (where it is 1) up,
  // each step from the last: F(D+1) = F(D) - c pmf(D, k), and
  // pmf(D+1, k) = pmf(D, k) (D+1) / (D+1-k) (1-c).
  const double lc = std::log(c_r), lq = std::log1p(-c_r);
  const uint64_t k = seen;
  double log_pmf = static_cast<double>(k) * lc;  // pmf(k, k) = c^k
  double cdf = 1.0;
  for (uint64_t d = k; d < sampled; ++d) {
    const double next = cdf - c_r * std::exp(log_pmf);
    if (next < 0.05) return d;
    cdf = next;
    log_pmf += std::log(static_cast<double>(d + 1)) - std::log(static_cast<double>(d + 1 - k)) + lq;
  }
  return sampled;
}

}  // namespace memscope
