// One CFI row as the BPF walk follows it: the CFA rule, the return address
// and the caller's rbp, read from the DWARF expressions libdw gives for a
// frame (dwarf_frame_cfa, dwarf_frame_register) on x86-64.
#pragma once
#include <elfutils/libdw.h>

#include <cstddef>

#include "memscope/unwind.h"

namespace memscope {

// DWARF register numbers on x86-64.
inline constexpr int kDwarfRbp = 6;
inline constexpr int kDwarfRsp = 7;
inline constexpr int kDwarfReturnAddress = 16;

// Fills row.cfa_kind and row.cfa_off8 (and, for a PLT stub, row.rbp with
// its rip threshold) from the CFA expression: DW_OP_breg7/6 N is rsp/rbp + N;
// the PLT stub's `rsp + 8 + ((rip & 15) >= T) << 3` is MS_CFA_PLT; anything
// else MS_CFA_UNKNOWN.
void set_cfa_rule(ms_unwind_row& row, const Dwarf_Op* ops, size_t nops);

// Fills row.rbp from rbp's location (dwarf_frame_register
// conventions: nops 0 with ops null is same-value, with ops set undefined).
void set_rbp_rule(ms_unwind_row& row, const Dwarf_Op* ops, size_t nops);

// The return address's location: whether it is at CFA - 8 (a call's push),
// undefined (the outermost frame) or something else.
enum class ReturnAddress { AtCfaMinus8, Undefined, Other };
ReturnAddress return_address_rule(const Dwarf_Op* ops, size_t nops, const Dwarf_Op* ops_mem);

// Reads a frame's row through libdw; false when libdw cannot.
bool row_of_frame(Dwarf_Frame* frame, ms_unwind_row& row);

}  // namespace memscope
