// What the kernel runs for a command that is a script: `#!` names its
// interpreter (binfmt_script), which may itself be a script. The
// allocator is the interpreter's, so the agent resolves it before the
// command's exec, as the kernel will.
#pragma once
#include <string>

namespace memscope {

// The program the kernel runs when `path` is exec'd: `path` itself unless
// it starts with `#!`, else its interpreter's, followed as the kernel does
// (at most 5 scripts in a chain). Throws Error when the `#!` line names no
// interpreter, the interpreter cannot be read, or scripts nest deeper.
std::string executed_program(const std::string& path);

}  // namespace memscope
