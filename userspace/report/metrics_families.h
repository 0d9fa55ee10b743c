// The metrics snapshot as Prometheus metric families, named by Prometheus'
// conventions: a memscope_ prefix, base units (bytes, seconds), counters
// ending in _total.
#pragma once
#include <prometheus/metric_family.h>

#include <vector>

#include "report/metrics_snapshot.h"

namespace memscope {

std::vector<prometheus::MetricFamily> metric_families(const MetricsSnapshot& s);

}  // namespace memscope
