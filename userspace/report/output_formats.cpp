#include "report/output_formats.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <set>

#include "common/error.h"

namespace memscope {
namespace {

struct Known {
  OutputFormat format;
  std::string_view name, extension;
};

// Longest extensions first: ".speedscope.json" is not plain ".json".
constexpr Known kKnown[] = {{OutputFormat::speedscope, "speedscope", ".speedscope.json"},
                            {OutputFormat::pprof, "pprof", ".pb.gz"},
                            {OutputFormat::folded, "folded", ".folded"},
                            {OutputFormat::html, "html", ".html"},
                            {OutputFormat::json, "json", ".json"}};

constexpr const char* kExtensions = ".json, .pb.gz, .folded, .speedscope.json or .html";
constexpr const char* kNames = "json, pprof, folded, speedscope or html";

bool ends_with(std::string_view s, std::string_view tail) {
  return s.size() >= tail.size() && s.substr(s.size() - tail.size()) == tail;
}

std::string error_prefix(const std::string& path) { return "cannot write " + path + ": "; }

}  // namespace

std::string_view format_name(OutputFormat format) {
  for (const auto& k : kKnown)
    if (k.format == format) return k.name;
  return "?";
}

OutputFormat format_named(const std::string& name) {
  for (const auto& k : kKnown)
    if (k.name == name) return k.format;
  throw Error("--format " + name + ": unknown format; use " + kNames);
}

OutputFormat format_for_path(const std::string& path) {
  if (path == "-") return OutputFormat::json;
  for (const auto& k : kKnown)
    if (ends_with(path, k.extension) && path.size() > k.extension.size()) return k.format;
  throw Error("-o " + path + ": the format cannot be told from the name; end it with " + kExtensions +
              ", or give --format");
}

std::vector<OutputFile> select_outputs(const std::vector<std::string>& paths, const std::string& format) {
  std::vector<OutputFile> out;
  std::optional<OutputFormat> forced;
  if (!format.empty()) forced = format_named(format);
  std::set<std::string> seen;
  for (const auto& path : paths.empty() ? std::vector<std::string>{kDefaultOutput} : paths) {
    if (path.empty()) throw Error("-o needs a file name ('-' for stdout)");
    if (!seen.insert(path).second)
      throw Error(path == "-" ? "-o - given twice: one output can go to stdout" : "-o " + path + " given twice");
    out.push_back({path, forced ? *forced : format_for_path(path)});
  }
  return out;
}

void check_writable(const std::string& path) {
  if (path == "-") return;
  struct stat st {};
  if (stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) throw Error(error_prefix(path) + "it is a directory");
  // A file made and removed beside it: what the report's own temporary
  // file will need (the directory exists and takes new files), checked the
  // way the kernel will check it, root, read-only mounts and all.
  std::string probe = path + ".XXXXXX";
  int fd = mkstemp(probe.data());
  if (fd < 0) throw Error(error_prefix(path) + strerror(errno));
  close(fd);
  unlink(probe.c_str());
}

}  // namespace memscope
