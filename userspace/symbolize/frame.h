// One symbolized stack frame, as the report shows it.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

namespace memscope {

struct Frame {
  uint64_t address = 0;  // runtime return address
  std::string function;  // demangled; "module+0xoffset" when no symbol covers it, "[unknown]" outside any file
  std::string module;    // file name of the object, or "[anon]"
  std::string file;      // source file when debug info exists
  int line = 0;
  bool inlined = false;            // inlined into the next frame, at the same address
  std::string build_id;            // of the module, hex; empty when it has none
  std::optional<uint64_t> offset;  // `address` as a virtual address of the module's file
};

}  // namespace memscope
