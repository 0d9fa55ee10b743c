// Small file helpers for /proc, which reports sizes as 0 and must be read
// to the end.
#pragma once
#include <optional>
#include <string>

namespace memscope {

// Whole file contents, or nullopt when it cannot be opened or read.
std::optional<std::string> read_file(const std::string& path);
// The same for `path` under the directory (or detached mount) `dir`.
std::optional<std::string> read_file_at(int dir, const std::string& path);

}  // namespace memscope
