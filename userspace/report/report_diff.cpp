#include "report/report_diff.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>

#include "common/error.h"
#include "common/terminal_safe.h"
#include "report/text_summary.h"

namespace memscope {
namespace {

std::string signed_bytes(double bytes) {
  if (std::llround(bytes) == 0) return "0 B";
  return (bytes > 0 ? "+" : "-") + human_bytes(std::fabs(bytes));
}

const Estimate& old_of(const SiteChange& c, DiffMetric m) {
  return m == DiffMetric::allocated ? c.old_bytes : c.old_live;
}
const Estimate& new_of(const SiteChange& c, DiffMetric m) {
  return m == DiffMetric::allocated ? c.new_bytes : c.new_live;
}

// A function name as a folded stack's frame: ';' separates frames and the
// line ends the stack, so both become spaces (as in the .folded output).
std::string folded_frame(std::string name) {
  for (char& c : name)
    if (c == ';' || c == '\n' || c == '\r') c = ' ';
  return name;
}

// "+2.0 MiB* (1.0 MiB -> 3.0 MiB)"
std::string change_text(const SiteChange& c, DiffMetric m) {
  return signed_bytes(c.change(m)) + (c.beyond(m) ? "*" : " ") + " (" + human_bytes(old_of(c, m).value) + " -> " +
         human_bytes(new_of(c, m).value) + ")";
}

}  // namespace

bool SiteChange::beyond(DiffMetric m) const {
  if (unknown_old || unknown_new) return false;
  const Estimate &a = old_of(*this, m), &b = new_of(*this, m);
  return a.high < b.low || b.high < a.low;
}

std::vector<SiteChange> diff_reports(const ReadReport& old_report, const ReadReport& new_report, DiffMetric metric) {
  std::map<std::string, SiteChange> by_key;
  for (const ReadSite& s : old_report.sites) {
    SiteChange& c = by_key[s.key];
    c.key = s.key;
    c.where = s.where;
    c.functions = s.functions;
    c.old_bytes = s.bytes;
    c.old_live = s.live_bytes;
    c.in_old = true;
  }
  for (const ReadSite& s : new_report.sites) {
    SiteChange& c = by_key[s.key];
    if (!c.in_old) {
      c.key = s.key;
      c.where = s.where;
      c.functions = s.functions;
    }
    c.new_bytes = s.bytes;
    c.new_live = s.live_bytes;
    c.in_new = true;
  }
  std::vector<SiteChange> out;
  for (auto& [key, c] : by_key) {
    c.unknown_old = !c.in_old && old_report.cut();
    c.unknown_new = !c.in_new && new_report.cut();
    out.push_back(std::move(c));
  }
  std::sort(out.begin(), out.end(), [metric](const SiteChange& a, const SiteChange& b) {
    const double x = std::fabs(a.change(metric)), y = std::fabs(b.change(metric));
    return x != y ? x > y : a.key < b.key;
  });
  return out;
}

void print_diff(FILE* out, const ReadReport& old_report, const ReadReport& new_report,
                const std::vector<SiteChange>& changes, DiffMetric metric, size_t top) {
  const char* name = metric == DiffMetric::allocated ? "allocated" : "live";
  fprintf(out, "memscope-bpf diff: %s (%zu sites, %.1f s) -> %s (%zu sites, %.1f s), by %s bytes\n",
          terminal_safe(old_report.path).c_str(), old_report.total_sites, old_report.duration_s,
          terminal_safe(new_report.path).c_str(), new_report.total_sites, new_report.duration_s, name);
  for (const ReadReport* r : {&old_report, &new_report})
    if (r->cut())
      fprintf(out, "  note: %s lists %zu of its %zu sites (--top): a site missing there is marked '?', not gone\n",
              terminal_safe(r->path).c_str(), r->listed_sites, r->total_sites);
  double old_bytes = 0, new_bytes = 0, old_live = 0, new_live = 0;
  size_t grew = 0, shrank = 0;
  for (const SiteChange& c : changes) {
    old_bytes += c.old_bytes.value;
    new_bytes += c.new_bytes.value;
    old_live += c.old_live.value;
    new_live += c.new_live.value;
    if (c.beyond(metric)) ++(c.change(metric) > 0 ? grew : shrank);
  }
  fprintf(out, "  listed sites: allocated %s -> %s (%s), live %s -> %s (%s)\n", human_bytes(old_bytes).c_str(),
          human_bytes(new_bytes).c_str(), signed_bytes(new_bytes - old_bytes).c_str(), human_bytes(old_live).c_str(),
          human_bytes(new_live).c_str(), signed_bytes(new_live - old_live).c_str());
  fprintf(out, "  %zu sites grew and %zu shrank beyond both 95%% intervals (*: the intervals do not overlap)\n", grew,
          shrank);
  const size_t n = top ? std::min(top, changes.size()) : changes.size();
  for (size_t i = 0; i < n; ++i) {
    const SiteChange& c = changes[i];
    const char* status = !c.in_old   ? (c.unknown_old ? " [? in old]" : " [new]")
                         : !c.in_new ? (c.unknown_new ? " [? in new]" : " [gone]")
                                     : "";
    fprintf(out, "  %3zu. allocated %-34s live %-34s %s%s\n", i + 1, change_text(c, DiffMetric::allocated).c_str(),
            change_text(c, DiffMetric::live).c_str(), terminal_safe(c.where).c_str(), status);
  }
  if (n < changes.size()) fprintf(out, "  ... %zu more (--top 0 shows all)\n", changes.size() - n);
}

void write_folded_diff(const std::string& path, const std::vector<SiteChange>& changes, DiffMetric metric) {
  std::ofstream out(path, std::ios::trunc);
  if (!out) throw Error("cannot write " + path + ": " + strerror(errno));
  for (const SiteChange& c : changes) {
    const long long before = std::llround(old_of(c, metric).value), after = std::llround(new_of(c, metric).value);
    if (before <= 0 && after <= 0) continue;
    std::string stack;
    for (auto f = c.functions.rbegin(); f != c.functions.rend(); ++f)
      stack += (stack.empty() ? "" : ";") + folded_frame(*f);
    if (stack.empty()) stack = "[no stack]";
    out << stack << ' ' << std::max(0LL, before) << ' ' << std::max(0LL, after) << '\n';
  }
  if (!out.flush()) throw Error("cannot write " + path + ": " + strerror(errno));
}

bool any_growth(const std::vector<SiteChange>& changes, DiffMetric metric) {
  return std::any_of(changes.begin(), changes.end(),
                     [metric](const SiteChange& c) { return c.beyond(metric) && c.change(metric) > 0; });
}

}  // namespace memscope
