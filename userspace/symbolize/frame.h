// One symbolized stack frame, as the report shows it.
#pragma once
#include <cstdint>
#include <string>

namespace memscope {

struct Frame {
  uint64_t address = 0;  // runtime return address
  std::string function;  // demangled; "[unknown]" when no symbol covers it
  std::string module;    // file name of the object, or "[anon]"
  std::string file;      // source file when debug info exists
  int line = 0;
};

}  // namespace memscope
