// What `ld.so --list EXE` prints: the objects the dynamic linker loads for
// EXE, one a line, in load order. The text comes from running the traced
// command's own interpreter, so it is read as untrusted (tests/fuzz/ld_list).
#pragma once
#include <string>
#include <vector>

namespace memscope {

// The absolute paths the lines name, in order, `exe_path` left out: from
// "\tNAME => PATH (0xADDR)" the PATH, from "\tPATH (0xADDR)" the PATH. Lines
// naming no file ("linux-vdso.so.1 (0x...)", "libx.so => not found"), blank
// and whitespace-only lines are skipped.
std::vector<std::string> parse_ld_list(const std::string& text, const std::string& exe_path);

}  // namespace memscope
