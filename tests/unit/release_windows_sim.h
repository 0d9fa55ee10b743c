// Release windows as the agent schedules them, for simulated runs: in each
// period of length 1, a window of `c_r` starting at a phase drawn afresh,
// wrapping within its period, so that every instant is inside one with
// probability c_r.
#pragma once
#include <cmath>
#include <random>
#include <vector>

namespace memscope {

struct ReleaseWindows {
  double c_r;
  std::vector<double> phase;
  ReleaseWindows(double c, size_t periods, std::mt19937_64& rng) : c_r(c) {
    std::uniform_real_distribution<double> u(0, 1);
    for (size_t i = 0; i < periods; ++i) phase.push_back(u(rng));
  }
  bool open_at(double t) const {
    const double k = std::floor(t), off = t - k - phase[static_cast<size_t>(k)];
    return (off < 0 ? off + 1 : off) < c_r;
  }
};

}  // namespace memscope
