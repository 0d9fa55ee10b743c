// The rates in force in each config slot, so that every record is weighted
// by the probability with which it was chosen when it was chosen, even after
// the rates have changed.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "memscope/record.h"
#include "sampling/tier_config.h"

namespace memscope {

struct ConfigChange {
  double time_s = 0;  // since the session started
  uint32_t slot = 0;
  TierConfig config;
  std::string reason;
};

class ConfigHistory {
 public:
  // Records `c` as the next slot and returns the kernel config to publish.
  ms_config next(const TierConfig& c, double time_s, std::string reason);

  // Inverse of the inclusion probability of a record of `tier` chosen under
  // `slot`; a record forced by the guarantee had probability 1.
  double weight(uint32_t tier, uint32_t slot) const {
    return tier == MS_TIER_FORCED ? 1.0 : weights_[slot & MS_EPOCH_MASK][tier & 3];
  }
  // The same for any mode: in bytes mode the probability depends on the
  // block's size.
  double weight(uint32_t tier, uint32_t slot, uint64_t size) const {
    const uint32_t s = slot & MS_EPOCH_MASK;
    if (byte_interval_[s] == 0) return weight(tier, slot);
    return 1.0 / bytes_inclusion_probability(size, byte_interval_[s]);
  }
  bool by_bytes(uint32_t slot) const { return byte_interval_[slot & MS_EPOCH_MASK] != 0; }

  const TierConfig& current() const { return changes_.back().config; }
  const std::vector<ConfigChange>& changes() const { return changes_; }

 private:
  std::array<std::array<double, 4>, MS_CONFIG_SLOTS> weights_{};
  std::array<uint64_t, MS_CONFIG_SLOTS> byte_interval_{};  // 0: tier mode
  std::vector<ConfigChange> changes_;
  uint32_t next_slot_ = 0;
};

// The two settings the probe-cost calibration runs under: nothing sampled,
// then every call sampled.
struct CalibrationConfigs {
  ms_config none, all;
};
CalibrationConfigs calibration_configs();

}  // namespace memscope
