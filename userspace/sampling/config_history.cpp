#include "sampling/config_history.h"

namespace memscope {

ms_config ConfigHistory::next(const TierConfig& c, double time_s, std::string reason) {
  uint32_t slot = next_slot_++ & MS_EPOCH_MASK;
  ms_config k = to_kernel(c, slot);
  for (int t = 0; t < 3; ++t)
    weights_[slot][t] = k.threshold[t] ? static_cast<double>(MS_RATE_ONE) / static_cast<double>(k.threshold[t]) : 0.0;
  weights_[slot][MS_TIER_FORCED] = 1.0;
  byte_interval_[slot] = c.by_bytes ? c.byte_interval : 0;
  changes_.push_back({time_s, slot, c, std::move(reason)});
  return k;
}

CalibrationConfigs calibration_configs() {
  ConfigHistory history;
  TierConfig none;
  none.rate = {0, 0, 0};
  none.guarantee = 0;
  CalibrationConfigs out;
  out.none = history.next(none, 0, "calibration");
  out.all = history.next(TierConfig::sample_all(), 0, "calibration");
  return out;
}

}  // namespace memscope
