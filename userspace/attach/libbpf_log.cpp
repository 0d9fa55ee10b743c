#include "attach/libbpf_log.h"

#include <bpf/libbpf.h>

#include <cstdarg>
#include <cstdio>

namespace memscope {
namespace {

int warnings_only(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (level == LIBBPF_WARN) return vfprintf(stderr, fmt, args);
  return 0;
}

int all_but_debug(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  return vfprintf(stderr, fmt, args);
}

}  // namespace

void route_libbpf_messages(bool verbose) {
  libbpf_set_print(verbose ? all_but_debug : warnings_only);
  libbpf_set_strict_mode(LIBBPF_STRICT_ALL);
}

}  // namespace memscope
