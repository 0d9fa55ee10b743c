#include "symbolize/debuginfo_search.h"

#include <sys/stat.h>

#include <filesystem>
#include <vector>

namespace memscope {
namespace {

constexpr const char* kDefaultPath = ":.debug:/usr/lib/debug";  // libdwfl's DEFAULT_DEBUGINFO_PATH
// A path under a file that is not a directory: libdwfl's every try there
// fails (ENOTDIR), which it takes as "not found" and goes on (debuginfod).
constexpr const char* kSearchNothing = "/dev/null";

bool held(const struct stat& st) {
  if (st.st_uid != 0) return false;
  const bool dir = S_ISDIR(st.st_mode);
  if (!dir && !S_ISREG(st.st_mode)) return false;
  return (st.st_mode & (S_IWGRP | S_IWOTH)) == 0 || (dir && (st.st_mode & S_ISVTX));
}

// root_held for an entry's directory and the files libdwfl would open there
// (those that exist: one created later is created by whoever can write the
// directory, which is root).
bool entry_held(const std::string& dir, const std::vector<std::string>& names) {
  if (!root_held(dir)) return false;
  for (const std::string& n : names) {
    struct stat st;
    const std::string p = dir + "/" + n;
    if (lstat(p.c_str(), &st) == 0 && !held(st)) return false;
  }
  return true;
}

}  // namespace

bool root_held(const std::string& path) {
  if (path.empty() || path[0] != '/') return false;
  std::string prefix;
  for (size_t at = 0; at != std::string::npos;) {
    const size_t next = path.find('/', at + 1);
    prefix = path.substr(0, next == std::string::npos ? std::string::npos : next);
    if (prefix.empty()) prefix = "/";
    struct stat st;
    if (lstat(prefix.c_str(), &st) != 0 || !held(st)) return false;
    at = next;
  }
  return true;
}

std::string trusted_debuginfo_path(const std::string& search_path, const std::string& object_path,
                                   const char* debuglink) {
  std::string path = search_path.empty() ? kDefaultPath : search_path;
  std::string out;
  if (path[0] == '+' || path[0] == '-') {  // whether to check CRCs, for the whole path
    out += path[0];
    path.erase(0, 1);
  }
  const std::filesystem::path object(object_path);
  const std::string object_dir = object.parent_path().string();
  const bool own_dirs = object.is_absolute() && object_path.rfind("/proc/", 0) != 0;
  std::vector<std::string> names{object.filename().string() + ".debug", object.filename().string()};
  if (debuglink) {
    const std::string link(debuglink), base = std::filesystem::path(link).filename().string();
    names.insert(names.end(), {link, base, ".dwz/" + base});
  }
  bool kept = false;
  for (size_t at = 0; at <= path.size();) {
    size_t end = path.find(':', at);
    if (end == std::string::npos) end = path.size();
    const std::string entry = path.substr(at, end - at);
    at = end + 1;
    std::string dir = entry;
    if (!dir.empty() && (dir[0] == '+' || dir[0] == '-')) dir.erase(0, 1);
    const bool ok = dir.empty()     ? own_dirs && entry_held(object_dir, names)
                    : dir[0] == '/' ? root_held(dir)
                                    : own_dirs && entry_held(object_dir + "/" + dir, names);
    if (!ok) continue;
    out += (kept ? ":" : "") + entry;
    kept = true;
  }
  if (!kept) out += kSearchNothing;
  return out;
}

}  // namespace memscope
