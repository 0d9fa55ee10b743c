// The rates in force in each config slot, so that every record is weighted
// by the probability with which it was chosen when it was chosen, even after
// the rates have changed.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include "memscope/record.h"
#include "sampling/tier_config.h"

namespace memscope {

struct ConfigChange {
  double time_s = 0;  // since the session started
  uint32_t slot = 0;
  TierConfig config;
  const char* reason = "";
};

class ConfigHistory {
 public:
  // Records `c` as the next slot and returns the kernel config to publish.
  ms_config next(const TierConfig& c, double time_s, const char* reason);

  // Inverse of the inclusion probability of a record of `tier` chosen under
  // `slot`; a record forced by the guarantee had probability 1.
  double weight(uint32_t tier, uint32_t slot) const {
    return tier == MS_TIER_FORCED ? 1.0 : weights_[slot & MS_EPOCH_MASK][tier & 3];
  }

  const TierConfig& current() const { return changes_.back().config; }
  const std::vector<ConfigChange>& changes() const { return changes_; }

 private:
  std::array<std::array<double, 4>, MS_CONFIG_SLOTS> weights_{};
  std::vector<ConfigChange> changes_;
  uint32_t next_slot_ = 0;
};

}  // namespace memscope
