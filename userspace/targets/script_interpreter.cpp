#include "targets/script_interpreter.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/error.h"

namespace memscope {
namespace {

// The kernel reads this much of the file (BINPRM_BUF_SIZE) and runs at
// most this many scripts in a chain (exec_binprm's depth; a sixth fails
// with ELOOP, tried on this kernel).
constexpr size_t kHeadBytes = 256;
constexpr int kMaxScripts = 5;

std::string read_head(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error("cannot read " + path + ": " + strerror(errno));
  char buf[kHeadBytes];
  const ssize_t n = read(fd, buf, sizeof buf);
  const int err = errno;
  close(fd);
  if (n < 0) throw Error("cannot read " + path + ": " + strerror(err));
  return std::string(buf, static_cast<size_t>(n));
}

// The interpreter a `#!` line names: after the `#!` and any blanks, up to
// the next blank, newline or NUL; empty when the line names none.
std::string interpreter_of(const std::string& head) {
  size_t i = 2;
  while (i < head.size() && (head[i] == ' ' || head[i] == '\t')) ++i;
  size_t end = i;
  while (end < head.size() && head[end] != ' ' && head[end] != '\t' && head[end] != '\n' && head[end] != '\0')
    ++end;
  // A name that runs to the end of what the kernel reads is cut: it refuses it.
  if (end == head.size() && head.size() == kHeadBytes) return "";
  return head.substr(i, end - i);
}

}  // namespace

std::string executed_program(const std::string& path) {
  std::string program = path;
  for (int depth = 0;; ++depth) {
    std::string head;
    try {
      head = read_head(program);
    } catch (const Error& e) {
      if (program == path) throw;
      throw Error(path + ": its #! interpreter: " + e.what());  // the script named, not only its interpreter
    }
    if (head.compare(0, 2, "#!") != 0) return program;
    if (depth == kMaxScripts)
      throw Error(path + ": more than " + std::to_string(kMaxScripts) + " scripts in its #! chain");
    const std::string next = interpreter_of(head);
    if (next.empty()) throw Error(program + ": its #! line names no interpreter");
    program = next;
  }
}

}  // namespace memscope
