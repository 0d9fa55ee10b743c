// `memscope-bpf diff OLD.json NEW.json`: the sites whose allocated or live
// bytes changed between two reports, matched by their stacks (functions and
// modules), largest change first; and a differential folded file for
// flamegraph.pl (docs/diff.md).
#pragma once
#include <cstddef>
#include <cstdio>
#include <string>
#include <vector>

#include "report/report_reader.h"

namespace memscope {

enum class DiffMetric { allocated, live };

struct SiteChange {
  std::string key, where;
  std::vector<std::string> functions;  // innermost first
  Estimate old_bytes, new_bytes;       // allocated
  Estimate old_live, new_live;         // still live at the end
  bool in_old = false, in_new = false;
  // Absent from a report whose list --top cut: the site may be there,
  // below the cut, so its figure there is unknown (taken as 0).
  bool unknown_old = false, unknown_new = false;

  double change(DiffMetric m) const {
    return m == DiffMetric::allocated ? new_bytes.value - old_bytes.value : new_live.value - old_live.value;
  }
  // The two 95% intervals do not overlap: a change beyond the sampling
  // error of both estimates. Never for a site whose figure on one side is
  // unknown.
  bool beyond(DiffMetric m) const;
};

// Every site of either report, by |change| of `metric`, largest first.
std::vector<SiteChange> diff_reports(const ReadReport& old_report, const ReadReport& new_report, DiffMetric metric);

// The table for people: totals, then the first `top` changes (0: all).
void print_diff(FILE* out, const ReadReport& old_report, const ReadReport& new_report,
                const std::vector<SiteChange>& changes, DiffMetric metric, size_t top);

// `stack OLD NEW` per site, the stack outermost first with ';' between
// frames, the values `metric` bytes (what flamegraph.pl and difffolded.pl
// read). Throws Error when the file cannot be written.
void write_folded_diff(const std::string& path, const std::vector<SiteChange>& changes, DiffMetric metric);

// Whether a site's `metric` bytes grew beyond both intervals (--fail-on-growth).
bool any_growth(const std::vector<SiteChange>& changes, DiffMetric metric);

}  // namespace memscope
