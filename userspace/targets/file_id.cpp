#include "targets/file_id.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cstdio>

namespace memscope {

std::optional<FileId> file_id(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return std::nullopt;
  return FileId{st.st_dev, st.st_ino};
}

// The maps name the device as "major:minor" in hex.
FileId file_id(const Mapping& m) {
  unsigned major_no = 0, minor_no = 0;
  sscanf(m.dev.c_str(), "%x:%x", &major_no, &minor_no);
  return {makedev(major_no, minor_no), m.inode};
}

}  // namespace memscope
