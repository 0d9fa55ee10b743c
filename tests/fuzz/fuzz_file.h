// A fuzz input as a file, for the readers that open files by path or by
// descriptor as the agent does (libelf, libdwfl): the bytes in an anonymous
// memory file (memfd), named by its /proc/self/fd link, which is also how the
// agent names the objects it holds open. Nothing touches the disk.
#pragma once
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

namespace memscope::fuzz {

class MemoryFile {
 public:
  MemoryFile(const uint8_t* data, size_t size) : fd_(memfd_create("memscope-fuzz", MFD_CLOEXEC)) {
    if (fd_ < 0) abort();  // the harness itself cannot run: not a finding
    for (size_t done = 0; done < size;) {
      const ssize_t n = write(fd_, data + done, size - done);
      if (n <= 0) abort();
      done += static_cast<size_t>(n);
    }
  }
  ~MemoryFile() { close(fd_); }
  MemoryFile(const MemoryFile&) = delete;
  MemoryFile& operator=(const MemoryFile&) = delete;

  int fd() const { return fd_; }
  std::string path() const { return "/proc/self/fd/" + std::to_string(fd_); }

 private:
  int fd_;
};

}  // namespace memscope::fuzz
