// Which addresses libdw may be asked for a frame at (dwarf_cfi_addrframe):
// every FDE libdw could run for one is screened by check_cfi_program (its
// own instructions and its CIE's initial ones, cfi_program.h), and the
// address ranges of those that fail are left out of the unwind table, as
// gaps, like CFI libdw cannot read.
//
// Which FDE libdw picks for an address depends on its caches and its
// lookup (.eh_frame_hdr's table or the chain of entries), but it only ever
// runs an FDE whose own [start, end) holds the address, and it only reads
// FDEs on the chain of entries from the section's start or at an offset the
// table gives. So the chain's FDEs are read here as libdw reads them (fde.c,
// cie.c, encoded-value.h of elfutils 0.188), and the table may give no
// other.
#pragma once
#include <libelf.h>

#include <cstdint>
#include <optional>
#include <vector>

namespace memscope {

struct AddressRange {
  uint64_t start;
  uint64_t end;  // past the last address
};

// A CFI section as libdw reads it.
struct CfiSection {
  const unsigned char* e_ident;  // the ELF's: address size and byte order
  const Elf_Data* data;          // the bytes libdw holds
  bool eh_frame;                 // .eh_frame's format, else .debug_frame's
  uint64_t vaddr;                // .eh_frame's sh_addr (libdw's base for pcrel), 0 for .debug_frame
};

// What the screen did, for tests: each CIE is read once, by its offset.
struct CfiScreenStats {
  uint64_t cies_read = 0;
};

// The ranges of the FDEs that fail, sorted and merged. `table_offsets`:
// the FDE offsets .eh_frame_hdr's table gives (those libdw may read the FDE
// at). nullopt, no address is safe to ask about, when the table gives an
// offset that is not an FDE of the chain, or when libdw would read a CIE's
// augmentation or an FDE's fields beyond what is modelled here (past the
// section, or as LEB128, which no toolchain writes), or a CIE's augmentation
// string is longer than any toolchain writes (16 letters), or libdw's
// dwarf_next_cfi would read outside the section (an entry's offset near
// 2^64, a CIE's augmentation letters past its end).
std::optional<std::vector<AddressRange>> unsafe_fde_ranges(const CfiSection& cfi,
                                                           const std::vector<uint64_t>& table_offsets,
                                                           CfiScreenStats* stats = nullptr);

// Whether `addr` lies in one of `ranges` (sorted, disjoint).
bool in_ranges(const std::vector<AddressRange>& ranges, uint64_t addr);

}  // namespace memscope
