#include "report/report_reader.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <map>

#include "common/error.h"
#include "report/json_report.h"

namespace memscope {
namespace {

using nlohmann::json;

std::string read_whole(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error("cannot read " + path + ": " + strerror(errno));
  std::string text;
  char buf[65536];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
  const int err = errno;
  close(fd);
  if (n < 0) throw Error("cannot read " + path + ": " + strerror(err));
  return text;
}

std::string join(const std::string& where, const char* key) { return where.empty() ? key : where + "." + key; }

// The first problem of a report that is not ours, as "where what".
class Checker {
 public:
  explicit Checker(const std::string& path) : path_(path) {}
  [[noreturn]] void fail(const std::string& where, const std::string& what) const {
    throw Error(path_ + " is not a memscope-bpf report: " + where + " " + what);
  }
  const json& get(const json& parent, const char* key, const std::string& where) const {
    if (!parent.is_object() || !parent.contains(key)) fail(join(where, key), "is missing");
    return parent[key];
  }
  double number(const json& parent, const char* key, const std::string& where) const {
    const json& v = get(parent, key, where);
    if (!v.is_number()) fail(join(where, key), "is not a number");
    return v.get<double>();
  }
  Estimate estimate(const json& estimated, const char* key, const std::string& where) const {
    Estimate e;
    e.value = number(estimated, key, where);
    const json& ci = get(get(estimated, "ci95", where), key, join(where, "ci95"));
    if (!ci.is_array() || ci.size() != 2 || !ci[0].is_number() || !ci[1].is_number())
      fail(join(join(where, "ci95"), key), "is not an interval [low, high]");
    e.low = ci[0].get<double>();
    e.high = ci[1].get<double>();
    return e;
  }

 private:
  const std::string& path_;
};

// Two sites with one stack (two processes of one program): their estimates
// add, and so do their variances, read back from the intervals' upper half
// (the lower end may be floored).
void add(Estimate& into, const Estimate& e) {
  const double into_sd = (into.high - into.value) / 1.96, e_sd = (e.high - e.value) / 1.96;
  const double sd = std::sqrt(into_sd * into_sd + e_sd * e_sd);
  into.value += e.value;
  into.low = std::max(0.0, into.value - 1.96 * sd);
  into.high = into.value + 1.96 * sd;
}

ReadSite read_site(const Checker& c, const json& s, const std::string& where) {
  ReadSite site;
  const json& frames = c.get(s, "frames", where);
  if (!frames.is_array()) c.fail(where + ".frames", "is not an array");
  for (size_t i = 0; i < frames.size(); ++i) {
    const std::string at = where + ".frames[" + std::to_string(i) + "]";
    const json& fn = c.get(frames[i], "function", at);
    const json& mod = c.get(frames[i], "module", at);
    if (!fn.is_string() || !mod.is_string()) c.fail(at, "has a function or module that is not a string");
    // The module's file name: a library found at another path is the same.
    std::string module = mod.get<std::string>();
    module = module.substr(module.find_last_of('/') + 1);
    site.key += (i ? "|" : "") + fn.get<std::string>() + "@" + module;
    site.functions.push_back(fn.get<std::string>());
    if (i == 0) site.where = fn.get<std::string>() + " (" + module + ")";
    if (i == 1) site.where += " <- " + fn.get<std::string>();
  }
  if (frames.empty()) site.where = site.key = "[no stack]";
  const json& estimated = c.get(s, "estimated", where);
  site.bytes = c.estimate(estimated, "bytes", where + ".estimated");
  site.live_bytes = c.estimate(estimated, "live_bytes", where + ".estimated");
  return site;
}

}  // namespace

ReadReport read_report(const json& j, const std::string& path) {
  const Checker c(path);
  if (!j.is_object()) c.fail("the document", "is not an object");
  const json& schema = c.get(j, "schema", "");
  if (!schema.is_string() || schema.get<std::string>() != kReportSchema)
    c.fail("schema", "is " + schema.dump() + ", not \"" + kReportSchema + "\"");
  ReadReport r;
  r.path = path;
  r.duration_s = c.number(j, "duration_s", "");
  const json& sites = c.get(j, "sites", "");
  if (!sites.is_array()) c.fail("sites", "is not an array");
  const json& total = c.get(c.get(j, "totals", ""), "sites", "totals");
  if (!total.is_number_unsigned()) c.fail("totals.sites", "is not a count");
  r.total_sites = total.get<size_t>();
  r.listed_sites = sites.size();
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < sites.size(); ++i) {
    ReadSite s = read_site(c, sites[i], "sites[" + std::to_string(i) + "]");
    auto [it, fresh] = index.try_emplace(s.key, r.sites.size());
    if (fresh) {
      r.sites.push_back(std::move(s));
      continue;
    }
    add(r.sites[it->second].bytes, s.bytes);
    add(r.sites[it->second].live_bytes, s.live_bytes);
  }
  return r;
}

ReadReport read_report(const std::string& path) {
  const std::string text = read_whole(path);
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    std::string what = e.what();  // "[json.exception.parse_error.101] parse error at ..."
    if (auto end = what.find("] "); what.rfind("[json.exception", 0) == 0 && end != std::string::npos)
      what = what.substr(end + 2);
    throw Error(path + " is not JSON: " + what);
  }
  return read_report(j, path);
}

}  // namespace memscope
