// `ld.so --list` text: what the traced command's own interpreter prints, so
// anything. parse_ld_list must take it without throwing; every path it gives
// is absolute, one line of the text (no '\n'), not the executable's, and the
// list printed back as ld.so prints it parses to the same paths.
#include <cstdlib>
#include <string>

#include "targets/ld_list.h"

using namespace memscope;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  // The first line, if any, stands for the executable's path.
  const std::string exe = text.substr(0, text.find('\n'));
  const std::vector<std::string> paths = parse_ld_list(text, exe);
  std::string printed;
  for (const std::string& p : paths) {
    if (p.empty() || p[0] != '/' || p == exe || p.find('\n') != std::string::npos) abort();
    if (text.find(p) == std::string::npos) abort();
    // The arrow form: a path may itself hold "=> ", and the first one of the
    // line is taken.
    printed += "\tlib.so => " + p + " (0x00007f0000000000)\n";
  }
  if (parse_ld_list(printed, exe) != paths) abort();
  return 0;
}
