// Where an object's FDEs (its functions' CFI) begin: the unwind table has a
// row at each, and the addresses between FDEs are marked as gaps.
#pragma once
#include <libelf.h>

#include <cstdint>
#include <optional>
#include <vector>

namespace memscope {

// The ELF section named `name`, or nullptr.
Elf_Scn* find_section(Elf* elf, const char* name);

// From .eh_frame_hdr's sorted search table (the linker writes it for every
// object with .eh_frame); nullopt without one, or in an encoding other than
// the datarel sdata4 table that GNU ld, gold, lld and mold all write.
std::optional<std::vector<uint64_t>> fde_starts_from_eh_frame_hdr(Elf* elf);

// From .debug_frame, whose FDEs hold plain addresses: sorted, deduplicated.
std::optional<std::vector<uint64_t>> fde_starts_from_debug_frame(Elf* elf);

}  // namespace memscope
