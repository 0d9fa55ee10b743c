#include "aggregate/window_variance.h"

#include <algorithm>
#include <array>

namespace memscope {

double student_t975(uint64_t df) {
  // Two-sided 95% quantiles; beyond the table the normal's 1.96 is within 2%.
  static constexpr std::array<double, 30> kTable = {
      12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
      2.120,  2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042};
  if (df == 0) return kTable[0];
  if (df <= kTable.size()) return kTable[df - 1];
  if (df <= 60) return 2.000 + (2.042 - 2.000) * (60.0 - static_cast<double>(df)) / 30.0;
  if (df <= 120) return 1.980 + (2.000 - 1.980) * (120.0 - static_cast<double>(df)) / 60.0;
  return 1.96;
}

std::optional<double> window_variance(double y_total, double sampling, const WindowSums& sums,
                                      const WindowClock& clock, const ClockChoice& choice, double coverage) {
  const double z = clock.z(choice);
  if (clock.windows < 2 || z <= 0 || coverage <= 0) return std::nullopt;
  const double k = static_cast<double>(clock.windows), c = std::min(coverage, 1.0);
  const double r = y_total / z;
  // sum (y - R z)^2, expanded; rounding can take it just below 0.
  const double ss = std::max(0.0, sums.yy - 2 * r * sums.yz(choice) + r * r * clock.zz(choice));
  const double s2 = ss / (k - 1);
  const double t = student_t975(clock.windows - 1) / 1.96;
  return k * (1 - c) / (c * c) * s2 * t * t + sampling / c;
}

}  // namespace memscope
