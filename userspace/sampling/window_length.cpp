#include "sampling/window_length.h"

#include <algorithm>

namespace memscope {

double WindowLength::for_fraction(double fraction) const {
  if (fixed_s > 0) return fixed_s;
  if (fraction <= 0 || fraction >= 1.0) return max_s;
  return std::clamp(fraction * target_period_s, min_s, std::max(min_s, max_s));
}

}  // namespace memscope
