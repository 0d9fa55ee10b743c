#include "aggregate/kernel_counters.h"

namespace memscope {

ms_count ExactCounts::api_total(unsigned api) const {
  ms_count t{};
  for (const auto& c : by_api_class[api]) {
    t.calls += c.calls;
    t.bytes += c.bytes;
  }
  return t;
}

uint64_t ExactCounts::allocation_calls() const {
  uint64_t n = 0;
  for (unsigned a = 0; a < MS_API_COUNT; ++a)
    if (!ms_api_frees(a)) n += api_total(a).calls;
  return n;
}

uint64_t ExactCounts::allocation_bytes() const {
  uint64_t n = 0;
  for (unsigned a = 0; a < MS_API_COUNT; ++a)
    if (!ms_api_frees(a)) n += api_total(a).bytes;
  return n;
}

uint64_t ExactCounts::free_calls() const {
  uint64_t n = 0;
  for (unsigned a = 0; a < MS_API_COUNT; ++a)
    if (ms_api_frees(a)) n += api_total(a).calls;
  return n;
}

ExactCounts operator-(const ExactCounts& a, const ExactCounts& b) {
  ExactCounts d;
  for (unsigned api = 0; api < MS_API_COUNT; ++api)
    for (unsigned k = 0; k < MS_SIZE_CLASSES; ++k) {
      d.by_api_class[api][k].calls = a.by_api_class[api][k].calls - b.by_api_class[api][k].calls;
      d.by_api_class[api][k].bytes = a.by_api_class[api][k].bytes - b.by_api_class[api][k].bytes;
    }
  for (unsigned i = 0; i < MS_STAT_COUNT; ++i) d.stats[i] = a.stats[i] - b.stats[i];
  return d;
}

}  // namespace memscope
