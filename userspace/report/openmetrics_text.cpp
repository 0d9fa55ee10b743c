#include "report/openmetrics_text.h"

#include <charconv>
#include <cmath>
#include <cstdlib>

#include "common/error.h"

namespace memscope {

namespace {

std::string escaped(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// The shortest text that reads back as the same double; integers without a
// fraction, as Prometheus' own clients write them.
std::string number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

std::string labels(const std::vector<prometheus::ClientMetric::Label>& ls) {
  if (ls.empty()) return "";
  std::string out = "{";
  for (size_t i = 0; i < ls.size(); ++i) {
    if (i) out += ',';
    out += ls[i].name + "=\"" + escaped(ls[i].value) + '"';
  }
  return out + '}';
}

const char* type_name(prometheus::MetricType t) {
  switch (t) {
    case prometheus::MetricType::Counter: return "counter";
    case prometheus::MetricType::Gauge: return "gauge";
    default: throw Error("openmetrics: only counters and gauges are written");
  }
}

void write_family(std::string& out, const prometheus::MetricFamily& f) {
  const bool counter = f.type == prometheus::MetricType::Counter;
  const std::string name = counter && ends_with(f.name, "_total") ? f.name.substr(0, f.name.size() - 6) : f.name;
  out += "# TYPE " + name + ' ' + type_name(f.type) + '\n';
  for (const char* unit : {"bytes", "seconds"})
    if (ends_with(name, std::string("_") + unit)) out += "# UNIT " + name + ' ' + unit + '\n';
  if (!f.help.empty()) out += "# HELP " + name + ' ' + escaped(f.help) + '\n';
  const std::string sample = counter ? name + "_total" : name;
  for (const auto& m : f.metric)
    out += sample + labels(m.label) + ' ' + number(counter ? m.counter.value : m.gauge.value) + '\n';
}

}  // namespace

std::string openmetrics_text(const std::vector<prometheus::MetricFamily>& families) {
  std::string out;
  for (const auto& f : families) write_family(out, f);
  return out + "# EOF\n";
}

bool accepts_openmetrics(const std::string& accept_header) {
  // Media ranges separated by commas, each with ;-parameters: OpenMetrics
  // unless its only range says q=0 (not acceptable).
  size_t start = 0;
  while (start <= accept_header.size()) {
    size_t end = accept_header.find(',', start);
    if (end == std::string::npos) end = accept_header.size();
    const std::string range = accept_header.substr(start, end - start);
    start = end + 1;
    if (range.find("application/openmetrics-text") == std::string::npos) continue;
    const size_t q = range.find("q=");
    if (q == std::string::npos || std::strtod(range.c_str() + q + 2, nullptr) > 0) return true;
  }
  return false;
}

}  // namespace memscope
