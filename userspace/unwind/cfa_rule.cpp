#include "unwind/cfa_rule.h"

#include <dwarf.h>

#include <cstdint>

namespace memscope {

namespace {

// The offset of a register location "CFA + off" (DW_OP_call_frame_cfa, then
// DW_OP_plus_uconst off unless 0; libdw stores a negative off as its two's
// complement), or false for any other form.
bool cfa_relative(const Dwarf_Op* ops, size_t nops, int64_t& off) {
  if (nops == 0 || ops[0].atom != DW_OP_call_frame_cfa) return false;
  if (nops == 1) {
    off = 0;
    return true;
  }
  if (nops == 2 && ops[1].atom == DW_OP_plus_uconst) {
    off = static_cast<int64_t>(ops[1].number);
    return true;
  }
  return false;
}

// The PLT stubs' CFA (binutils emits it for .plt): rsp + 8, plus 8 once the
// stub has pushed its relocation index at rip & 15 >= T.
bool plt_expression(const Dwarf_Op* ops, size_t nops, int64_t& threshold) {
  static const uint8_t shape[] = {DW_OP_breg7, DW_OP_breg16, DW_OP_lit15, DW_OP_and, 0,
                                  DW_OP_ge,    DW_OP_lit3,   DW_OP_shl,   DW_OP_plus};
  if (nops != sizeof shape) return false;
  for (size_t i = 0; i < nops; ++i)
    if (i != 4 && ops[i].atom != shape[i]) return false;
  if (ops[0].number != 8 || ops[1].number != 0) return false;
  if (ops[4].atom < DW_OP_lit0 || ops[4].atom > DW_OP_lit31) return false;
  threshold = ops[4].atom - DW_OP_lit0;
  return true;
}

// A register plus an offset: libdw writes DW_CFA_def_cfa as DW_OP_bregx
// (register, offset); DW_OP_bregN N is the same, shorter.
void register_plus_offset(const Dwarf_Op& op, int& reg, int64_t& off) {
  if (op.atom == DW_OP_bregx) {
    reg = static_cast<int>(op.number);
    off = static_cast<int64_t>(op.number2);
  } else if (op.atom >= DW_OP_breg0 && op.atom <= DW_OP_breg31) {
    reg = op.atom - DW_OP_breg0;
    off = static_cast<int64_t>(op.number);
  }
}

}  // namespace

void set_cfa_rule(ms_unwind_row& row, const Dwarf_Op* ops, size_t nops) {
  row.cfa_kind = MS_CFA_UNKNOWN;
  row.cfa_off8 = 0;
  int64_t threshold = 0;
  int reg = -1;
  int64_t off = 0;
  if (nops == 1) register_plus_offset(ops[0], reg, off);
  if (reg == kDwarfRsp || reg == kDwarfRbp) {
    if (off % 8 != 0 || off / 8 < INT16_MIN || off / 8 > INT16_MAX) return;
    row.cfa_kind = reg == kDwarfRsp ? MS_CFA_RSP : MS_CFA_RBP;
    row.cfa_off8 = static_cast<int16_t>(off / 8);
  } else if (plt_expression(ops, nops, threshold)) {
    row.cfa_kind = MS_CFA_PLT;
    row.cfa_off8 = 1;
    row.rbp = static_cast<int8_t>(threshold);
  }
}

void set_rbp_rule(ms_unwind_row& row, const Dwarf_Op* ops, size_t nops) {
  row.rbp = MS_RBP_LOST;
  if (nops == 0 && ops == nullptr) {
    row.rbp = MS_RBP_SAME;
    return;
  }
  int64_t off = 0;
  // The walk reads the saved rbp with the return address, in one read of
  // at most a few hundred bytes: only a slot near the CFA is followed.
  if (cfa_relative(ops, nops, off) && off % 8 == 0 && off >= -8 * 32 && off < 0) row.rbp = static_cast<int8_t>(off / 8);
}

ReturnAddress return_address_rule(const Dwarf_Op* ops, size_t nops, const Dwarf_Op* ops_mem) {
  if (nops == 0) return ops == ops_mem ? ReturnAddress::Undefined : ReturnAddress::Other;
  int64_t off = 0;
  return cfa_relative(ops, nops, off) && off == -8 ? ReturnAddress::AtCfaMinus8 : ReturnAddress::Other;
}

bool row_of_frame(Dwarf_Frame* frame, ms_unwind_row& row) {
  Dwarf_Op* ops = nullptr;
  size_t nops = 0;
  if (dwarf_frame_cfa(frame, &ops, &nops) != 0) return false;
  set_cfa_rule(row, ops, nops);
  Dwarf_Op mem[3];
  if (dwarf_frame_register(frame, kDwarfReturnAddress, mem, &ops, &nops) != 0) return false;
  switch (return_address_rule(ops, nops, mem)) {
    case ReturnAddress::AtCfaMinus8:
      break;
    case ReturnAddress::Undefined:
      row.cfa_kind = MS_CFA_END;
      break;
    case ReturnAddress::Other:
      row.cfa_kind = MS_CFA_UNKNOWN;
      break;
  }
  if (row.cfa_kind == MS_CFA_PLT) return true;  // rbp holds the PLT threshold; a stub saves no rbp
  if (dwarf_frame_register(frame, kDwarfRbp, mem, &ops, &nops) != 0) return false;
  set_rbp_rule(row, ops, nops);
  return true;
}

}  // namespace memscope
