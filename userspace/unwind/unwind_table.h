// An object's compact unwind table, built from its CFI with libdw: the rows
// the BPF walk binary-searches (memscope/unwind.h), sorted by address, one
// per change of rule, with a gap row wherever no FDE covers the code.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "memscope/unwind.h"

namespace memscope {

struct UnwindTable {
  std::vector<ms_unwind_row> rows;
  int64_t bias = 0;    // ELF vaddr - file offset of the (first) executable segment
  std::string source;  // ".eh_frame", ".debug_frame", or empty: no CFI
  uint64_t fdes = 0;   // FDEs read
};

// Builds the table of the ELF file open at `fd` (read, not consumed).
// Throws Error when it is not an ELF file. An object without CFI, or whose
// code lies beyond 4 GiB of vaddr, gets no rows.
UnwindTable build_unwind_table(int fd);
// The same for a path.
UnwindTable build_unwind_table(const std::string& path);

// The row that applies at `vaddr` (the last row starting at or below it),
// or nullptr: what the BPF walk computes, for tests and tools.
const ms_unwind_row* find_row(const std::vector<ms_unwind_row>& rows, uint64_t vaddr);

}  // namespace memscope
