#include "attach/mapped_files.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace memscope {

namespace {

// Everything the iterator writes; a read may end inside a record.
std::vector<char> read_all(int fd) {
  std::vector<char> out;
  char buf[4096];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.insert(out.end(), buf, buf + n);
  }
  return out;
}

}  // namespace

std::map<uint64_t, ms_unwind_key> kernel_mapped_files(const bpf_program* iter, pid_t pid) {
  std::map<uint64_t, ms_unwind_key> files;
  if (!iter) return files;
  // One thread (the leader) is enough: its threads share its mappings.
  union bpf_iter_link_info info;
  memset(&info, 0, sizeof info);
  info.task.tid = static_cast<__u32>(pid);
  LIBBPF_OPTS(bpf_iter_attach_opts, opts, .link_info = &info, .link_info_len = sizeof info);
  bpf_link* link = bpf_program__attach_iter(iter, &opts);
  if (!link) return files;
  const int fd = bpf_iter_create(bpf_link__fd(link));
  if (fd >= 0) {
    const std::vector<char> bytes = read_all(fd);
    close(fd);
    for (size_t at = 0; at + sizeof(ms_mapped_file) <= bytes.size(); at += sizeof(ms_mapped_file)) {
      ms_mapped_file f;
      memcpy(&f, bytes.data() + at, sizeof f);
      files[f.start] = ms_unwind_key{f.dev, f.ino};
    }
  }
  bpf_link__destroy(link);
  return files;
}

}  // namespace memscope
