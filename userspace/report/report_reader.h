// Reads back a JSON report (schema memscope-bpf/report/v1) for `diff`: its
// sites, each keyed by its stack as functions and modules (addresses differ
// from run to run), with the estimates diff compares.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace memscope {

// An estimate with its 95% interval.
struct Estimate {
  double value = 0, low = 0, high = 0;
};

struct ReadSite {
  std::string key;                     // "function@module|..." innermost first: equal across runs
  std::vector<std::string> functions;  // innermost first
  std::string where;                   // "function (module) <- caller", for people
  Estimate bytes, live_bytes;          // allocated and still live at the end
};

struct ReadReport {
  std::string path;
  double duration_s = 0;
  size_t total_sites = 0;  // the run's sites: more than listed when --top cut the list
  size_t listed_sites = 0;
  std::vector<ReadSite> sites;  // one per stack: a stack in several processes is summed
  bool cut() const { return total_sites > listed_sites; }
};

// Throws Error with one line naming the file and what is wrong: missing,
// unreadable, not JSON, or not a report of ours.
ReadReport read_report(const std::string& path);

// The same from a parsed report; `path` names it in messages.
ReadReport read_report(const nlohmann::json& report, const std::string& path);

}  // namespace memscope
