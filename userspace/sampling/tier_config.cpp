#include "sampling/tier_config.h"

#include <cmath>

#include "common/error.h"

namespace memscope {

TierConfig TierConfig::sample_all() {
  TierConfig c;
  c.rate = {1.0, 1.0, 1.0};
  return c;
}

void validate(const TierConfig& c) {
  for (double r : c.rate)
    if (!(r >= 0.0 && r <= 1.0)) throw Error("sampling rates must be between 0 and 1");
  if (c.medium_min > c.large_min) throw Error("the medium tier must start below the large tier");
  if (c.by_bytes && c.byte_interval == 0) throw Error("--byte-interval must be at least 1");
}

uint64_t rate_to_threshold(double rate) {
  if (rate >= 1.0) return MS_RATE_ONE;
  if (rate <= 0.0) return 0;
  return static_cast<uint64_t>(std::llround(rate * static_cast<double>(MS_RATE_ONE)));
}

double bytes_inclusion_probability(uint64_t size, uint64_t interval) {
  return -std::expm1(-static_cast<double>(size) / static_cast<double>(interval ? interval : 1));
}

double threshold_to_rate(uint64_t threshold) {
  return static_cast<double>(threshold) / static_cast<double>(MS_RATE_ONE);
}

ms_config to_kernel(const TierConfig& c, uint32_t slot) {
  ms_config k{};
  k.medium_min = c.medium_min;
  k.large_min = c.large_min;
  for (int t = 0; t < 3; ++t) k.threshold[t] = rate_to_threshold(c.rate[t]);
  k.guarantee = c.by_bytes ? 0 : c.guarantee;
  k.mode = c.by_bytes ? MS_SAMPLE_BYTES : MS_SAMPLE_TIERS;
  k.byte_interval = c.byte_interval;
  k.always_min = c.by_bytes ? 0 : c.always_min;
  k.epoch = slot & MS_EPOCH_MASK;
  return k;
}

}  // namespace memscope
