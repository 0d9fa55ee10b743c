// Metric families in the OpenMetrics 1.0 text format
// (application/openmetrics-text; version=1.0.0), what Prometheus asks for
// first when it scrapes. prometheus-cpp 1.0 writes only the older text
// format 0.0.4 (prometheus::TextSerializer), which the endpoint still serves
// to clients that do not ask for OpenMetrics.
//
// The differences that matter here: a counter's family is named without its
// _total suffix, which only its samples carry; a family whose name ends in a
// base unit (_bytes, _seconds) declares it with # UNIT; label values and help
// escape backslash, double quote and newline; the exposition ends with # EOF.
#pragma once
#include <prometheus/metric_family.h>

#include <string>
#include <vector>

namespace memscope {

inline constexpr const char* kOpenMetricsContentType = "application/openmetrics-text; version=1.0.0; charset=utf-8";
inline constexpr const char* kPrometheusTextContentType = "text/plain; version=0.0.4; charset=utf-8";

// Counters and gauges only (what metric_families makes); other types throw Error.
std::string openmetrics_text(const std::vector<prometheus::MetricFamily>& families);

// Whether an HTTP Accept header asks for OpenMetrics (Prometheus sends
// "application/openmetrics-text;version=1.0.0,...,text/plain;version=0.0.4;q=0.5").
bool accepts_openmetrics(const std::string& accept_header);

}  // namespace memscope
