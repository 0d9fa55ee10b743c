// Lifetimes as the report gives them: per site, its sampled blocks by how
// long they lived, with estimates and 95% intervals as for its other
// figures, and its "temporary" share; for the run, whether the lifetimes
// can be trusted (docs/lifetimes.md).
//
// Temporary: freed less than 1 ms after its allocation returned. heaptrack
// calls an allocation temporary when its free is the very next allocator
// event; under sampling the calls in between are not seen, so the time
// between the two is the measure here.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "report/report.h"

namespace memscope {

// A ratio estimate with its 95% interval (clamped to [0, 1]).
struct Share {
  double value = 0, low = 0, high = 0;
};

// The share of a site's allocations (and of their bytes) that were
// temporary: the ratio of two estimates over the same sampled blocks, its
// variance by the delta method from the same w(w-1) sums as the estimates'
// (so it needs no more than the buckets keep). nullopt: no allocations.
struct TemporaryShare {
  Share count, bytes;
};
std::optional<TemporaryShare> temporary_share(const SiteStats& site, const SiteLifetimes& lifetimes);

// Why the run's lifetimes are biased or incomplete (records lost, blocks
// whose frees the kernel could not report); empty when they are whole.
std::vector<std::string> lifetime_caveats(const Report& r);

// A site's "lifetimes" (one entry per bucket, still_live included) and
// "temporary" objects.
nlohmann::json site_lifetimes_json(const SiteReport& s);
nlohmann::json site_temporary_json(const SiteReport& s);

// The run's "lifetimes" section: the buckets' bounds, the definition of
// temporary, and whether the figures are complete.
nlohmann::json lifetimes_json(const Report& r);

}  // namespace memscope
