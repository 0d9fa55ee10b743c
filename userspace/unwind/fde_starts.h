// Where an object's FDEs (its functions' CFI) begin: the unwind table has a
// row at each, and the addresses between FDEs are marked as gaps.
#pragma once
#include <libelf.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace memscope {

// The (first) ELF section named `name`, or nullptr.
Elf_Scn* find_section(Elf* elf, const char* name);
// How many sections are named `name`.
size_t count_sections(Elf* elf, const char* name);

// One entry of .eh_frame_hdr's search table: a function's first address and
// its FDE's address (a vaddr inside .eh_frame).
struct EhFrameHdrEntry {
  uint64_t start;
  uint64_t fde;
};

// .eh_frame_hdr's search table as written (the linker writes it for every
// object with .eh_frame); nullopt without one, with two, or in an encoding
// other than the datarel sdata4 table that GNU ld, gold, lld and mold all
// write.
std::optional<std::vector<EhFrameHdrEntry>> eh_frame_hdr_table(Elf* elf);

// The starts of that table, sorted, deduplicated.
std::optional<std::vector<uint64_t>> fde_starts_from_eh_frame_hdr(Elf* elf);

// From .debug_frame, whose FDEs hold plain addresses: sorted, deduplicated;
// nullopt without it, or beside a .zdebug_frame or another .debug_frame.
std::optional<std::vector<uint64_t>> fde_starts_from_debug_frame(Elf* elf);

}  // namespace memscope
