// Pins Highway's runtime dispatch to one instruction set for the duration
// of a benchmark, so that every target this CPU supports is measured in
// the same run as the scalar reference.
#pragma once
#include <hwy/targets.h>

#include <cstdint>
#include <string>
#include <vector>

namespace memscope::bench {

class PinnedTarget {
 public:
  explicit PinnedTarget(int64_t target) {
    hwy::SetSupportedTargetsForTest(target);
    hwy::SupportedTargets();  // makes dispatch re-choose
  }
  ~PinnedTarget() {
    hwy::SetSupportedTargetsForTest(0);
    hwy::SupportedTargets();
  }
  PinnedTarget(const PinnedTarget&) = delete;
  PinnedTarget& operator=(const PinnedTarget&) = delete;
};

// Every target compiled in and supported here, best first.
inline std::vector<int64_t> simd_targets() { return hwy::SupportedAndGeneratedTargets(); }

inline std::string target_name(int64_t t) { return hwy::TargetName(t); }

}  // namespace memscope::bench
