#include "attach/mapped_files.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace memscope {

namespace {

// A read smaller than the iterator's own buffer (bpf_seq_read's 8 pages)
// makes the task_vma iterator start over from a mapping it already showed:
// reading an idle cmake's 241 executable-file mappings 4 KiB at a time took
// 1.7 s of CPU and 249 MB of repeated records. One read of more than the
// buffer takes everything the iterator has; the cap stops a repeat loop.
constexpr size_t kReadBytes = size_t{1} << 16;
constexpr size_t kMaxBytes = size_t{16} << 20;

// Everything the iterator writes; empty when it runs past kMaxBytes.
std::vector<char> read_all(int fd) {
  std::vector<char> out, buf(kReadBytes);
  for (;;) {
    const ssize_t n = read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.insert(out.end(), buf.data(), buf.data() + n);
    if (out.size() > kMaxBytes) return {};
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
