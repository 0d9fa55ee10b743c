#include "attach/libbpf_log.h"

#include <bpf/libbpf.h>

#include <cstdarg>
#include <cstdio>
#include <string>

#include "common/terminal_safe.h"

namespace memscope {
namespace {

// libbpf's messages quote the paths of the objects probed (the traced
// programs' own): each line escaped, the line ends kept.
int print_escaped(const char* fmt, va_list args) {
  va_list again;
  va_copy(again, args);
  const int n = vsnprintf(nullptr, 0, fmt, args);
  std::string text(n > 0 ? static_cast<size_t>(n) : 0, '\0');
  if (n > 0) vsnprintf(text.data(), text.size() + 1, fmt, again);
  va_end(again);
  std::string out;
  for (size_t at = 0; at < text.size();) {
    const size_t end = text.find('\n', at);
    out += terminal_safe(std::string_view(text).substr(at, end == std::string::npos ? std::string::npos : end - at));
    if (end == std::string::npos) break;
    out += '\n';
    at = end + 1;
  }
  return fputs(out.c_str(), stderr) < 0 ? -1 : n;
}

int warnings_only(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (level == LIBBPF_WARN) return print_escaped(fmt, args);
  return 0;
}

int all_but_debug(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  return print_escaped(fmt, args);
}

}  // namespace

void route_libbpf_messages(bool verbose) {
  libbpf_set_print(verbose ? all_but_debug : warnings_only);
  libbpf_set_strict_mode(LIBBPF_STRICT_ALL);
}

}  // namespace memscope
