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

}  // namespace memscope
