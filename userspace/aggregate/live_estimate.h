// Live and leak figures when the release probes are attached only in
// release windows (--max-overhead --window-releases): a sampled block's free
// is seen only when it falls in one. Release windows start at a random
// phase in each period, so every free, whatever its block's lifetime, is
// seen with the same probability c_r (the release windows' coverage), and
// the frees that were seen, each weighted by 1 / c_r, estimate all the
// frees without bias (Horvitz-Thompson). A block found ended because a new
// sampled block took its address is not subtracted again: its end is
// already in the 1 / c_r weighting.
#pragma once
#include <cstdint>

#include "aggregate/lifetimes.h"

namespace memscope {

// Per site, sampled blocks whose free was seen while releases were
// windowed: the lifetime sums' weighted count, bytes and variance terms,
// and sq_* += w^2 (x^2) for the release windows' own variance.
struct SeenFrees : LifetimeSums {
  double sq_count = 0, sq_bytes = 0;

  void add(double w, double size) {
    LifetimeSums::add(w, size);
    sq_count += w * w;
    sq_bytes += w * w * size * size;
  }
  void add(const SeenFrees& o) {
    LifetimeSums::add(o);
    sq_count += o.sq_count;
    sq_bytes += o.sq_bytes;
  }
};

// Allocated: the site's weighted sums over its sampled blocks, with their
// variance estimates (SiteStats' count, bytes, var_count, var_bytes).
struct WeightedSum {
  double value = 0, variance = 0;
};

// live = allocated - seen / c_r. Its variance: the sampling term of the
// blocks still live (allocated's, less the seen blocks' share weighted by
// 1 / c_r, so that it is unbiased too), plus the release windows' own term,
// sum over seen frees of w^2 (x^2) (1 - c_r) / c_r^2. `c_r` in (0, 1].
WeightedSum live_count(const WeightedSum& allocated, const SeenFrees& seen, double c_r);
WeightedSum live_bytes(const WeightedSum& allocated, const SeenFrees& seen, double c_r);

}  // namespace memscope
