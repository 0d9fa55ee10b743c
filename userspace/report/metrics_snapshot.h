// What the metrics endpoint serves, as plain data the run loop fills while
// tracing: exact counters per process, estimated live bytes, the top sites,
// the sampling rates and what the run costs. Label cardinality is bounded by
// whoever fills it (the processes and sites it lists).
#pragma once
#include <sys/types.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace memscope {

struct ProcessMetrics {
  pid_t pid = 0;  // 0: every process left out of the list, summed
  std::string comm;
  uint64_t allocations = 0, allocated_bytes = 0, frees = 0;  // exact, since attach
  uint64_t probe_hits = 0;                                   // exact: traps taken
  double live_bytes = 0;                                     // estimated from sampled blocks
};

struct SiteMetrics {
  pid_t pid = 0;
  uint32_t id = 0;                             // the site's number: several sites share a function
  std::string site;                            // innermost function (module)
  double allocated_bytes = 0, live_bytes = 0;  // estimated from sampled blocks
};

struct MetricsSnapshot {
  std::vector<ProcessMetrics> processes;
  std::vector<SiteMetrics> sites;
  uint64_t records = 0, dropped = 0;  // ring-buffer records sent and lost
  std::array<double, 3> rates{};      // current sampling probability: small, medium, large
  double agent_cpu_s = 0;             // the agent's CPU since it loaded its probes
  double probe_ns_per_hit = 0;        // measured at start; 0: not measured (no added-time figure)
};

}  // namespace memscope
