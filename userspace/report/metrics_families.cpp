#include "report/metrics_families.h"

#include <string>

namespace memscope {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

MetricFamily family(const char* name, const char* help, MetricType type) {
  MetricFamily f;
  f.name = name;
  f.help = help;
  f.type = type;
  return f;
}

ClientMetric value(MetricType type, double v, std::vector<ClientMetric::Label> labels = {}) {
  ClientMetric m;
  m.label = std::move(labels);
  if (type == MetricType::Counter) m.counter.value = v;
  else m.gauge.value = v;
  return m;
}

std::vector<ClientMetric::Label> process_labels(const ProcessMetrics& p) {
  if (p.pid == 0) return {{"comm", "other"}, {"pid", "other"}};
  return {{"comm", p.comm}, {"pid", std::to_string(p.pid)}};
}

// One family with a series per process.
template <typename Field>
MetricFamily per_process(const MetricsSnapshot& s, const char* name, const char* help, MetricType type, Field field) {
  MetricFamily f = family(name, help, type);
  for (const auto& p : s.processes) f.metric.push_back(value(type, field(p), process_labels(p)));
  return f;
}

template <typename Field>
MetricFamily per_site(const MetricsSnapshot& s, const char* name, const char* help, MetricType type, Field field) {
  MetricFamily f = family(name, help, type);
  for (const auto& site : s.sites)
    f.metric.push_back(
        value(type, field(site),
              {{"pid", std::to_string(site.pid)}, {"site", site.site}, {"site_id", std::to_string(site.id)}}));
  return f;
}

MetricFamily single(const char* name, const char* help, MetricType type, double v) {
  MetricFamily f = family(name, help, type);
  f.metric.push_back(value(type, v));
  return f;
}

}  // namespace

std::vector<MetricFamily> metric_families(const MetricsSnapshot& s) {
  constexpr auto counter = MetricType::Counter;
  constexpr auto gauge = MetricType::Gauge;
  std::vector<MetricFamily> out;
  out.push_back(per_process(s, "memscope_allocations_total", "Allocation calls (exact) since the agent attached.",
                            counter, [](const ProcessMetrics& p) { return double(p.allocations); }));
  out.push_back(per_process(s, "memscope_allocated_bytes_total", "Bytes requested by allocation calls (exact).",
                            counter, [](const ProcessMetrics& p) { return double(p.allocated_bytes); }));
  out.push_back(per_process(s, "memscope_frees_total", "free and delete calls (exact).", counter,
                            [](const ProcessMetrics& p) { return double(p.frees); }));
  out.push_back(per_process(s, "memscope_live_bytes", "Bytes still allocated, estimated from sampled blocks.", gauge,
                            [](const ProcessMetrics& p) { return p.live_bytes; }));
  out.push_back(per_process(s, "memscope_probe_hits_total", "Probe traps taken by the process (exact).", counter,
                            [](const ProcessMetrics& p) { return double(p.probe_hits); }));
  if (s.probe_ns_per_hit > 0)
    out.push_back(per_process(s, "memscope_probe_added_seconds_total",
                              "CPU time the probes added to the process, estimated: traps x measured cost per trap.",
                              counter,
                              [&](const ProcessMetrics& p) { return p.probe_hits * s.probe_ns_per_hit / 1e9; }));
  out.push_back(per_site(s, "memscope_site_allocated_bytes_total",
                         "Bytes allocated at a top site, estimated from sampled calls.", counter,
                         [](const SiteMetrics& m) { return m.allocated_bytes; }));
  out.push_back(per_site(s, "memscope_site_live_bytes", "Bytes still allocated at a top site, estimated.", gauge,
                         [](const SiteMetrics& m) { return m.live_bytes; }));
  out.push_back(
      single("memscope_records_total", "Sampled records sent through the ring buffer.", counter, double(s.records)));
  out.push_back(single("memscope_records_dropped_total",
                       "Sampled records lost to a full ring buffer: estimates are low by what they carried.", counter,
                       double(s.dropped)));
  MetricFamily rates =
      family("memscope_sampling_probability", "Current sampling probability of a call, by size tier.", gauge);
  const char* tiers[] = {"small", "medium", "large"};
  for (size_t i = 0; i < 3; ++i) rates.metric.push_back(value(gauge, s.rates[i], {{"tier", tiers[i]}}));
  out.push_back(std::move(rates));
  out.push_back(single("memscope_agent_cpu_seconds_total", "CPU time of the agent itself since it loaded its probes.",
                       counter, s.agent_cpu_s));
  return out;
}

}  // namespace memscope
