// One exception type for every user-facing failure: its message is the one
// line the command prints before exiting non-zero.
#pragma once
#include <stdexcept>
#include <string>

namespace memscope {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

}  // namespace memscope
