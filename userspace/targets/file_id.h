// A file's identity, (device, inode): what tells the same object apart from
// another at the same path (in another mount namespace, or replaced on
// disk), and one object mapped by many processes from many.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "targets/proc_maps.h"

namespace memscope {

using FileId = std::pair<uint64_t, uint64_t>;  // (device, inode)

// The file at `path` now; none when it cannot be stat'ed.
std::optional<FileId> file_id(const std::string& path);
// The file a mapping maps, as the process's maps name it.
FileId file_id(const Mapping& m);

}  // namespace memscope
