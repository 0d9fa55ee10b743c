#pragma once
#include <string>

namespace memscope {
// C++ names demangled with the C++ ABI's demangler; anything else unchanged.
std::string demangle(const std::string& name);
}  // namespace memscope
