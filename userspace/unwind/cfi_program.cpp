#include "unwind/cfi_program.h"

#include <dwarf.h>

namespace memscope {

namespace {

// Reads operands only; whatever they mean is libdw's business.
class Reader {
 public:
  Reader(const uint8_t* p, const uint8_t* end) : p_(p), end_(end) {}
  bool done() const { return p_ >= end_; }
  uint8_t byte() { return *p_++; }
  bool skip(uint64_t n) {
    if (n > static_cast<uint64_t>(end_ - p_)) return false;
    p_ += n;
    return true;
  }
  // A LEB128 of at most 10 bytes, ended inside the program: libdw stops
  // reading one after 10 bytes (or at the end) and goes on from there, where
  // a longer one would put this reader and libdw on different opcodes. The
  // value is the low 64 bits, as libdw reads it.
  bool leb128(uint64_t& value) {
    value = 0;
    for (unsigned i = 0; i < 10 && p_ < end_; ++i) {
      const uint8_t b = *p_++;
      value |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
      if (!(b & 0x80)) return true;
    }
    return false;
  }
  bool register_number(CfiProgramCheck& fail) {
    uint64_t reg = 0;
    if (!leb128(reg)) {
      fail = CfiProgramCheck::Truncated;
      return false;
    }
    if (reg > kMaxCfiRegister) {
      fail = CfiProgramCheck::RegisterTooHigh;
      return false;
    }
    return true;
  }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};

// The bytes of DW_CFA_set_loc's operand as libdw's read_encoded_value takes
// them: 0 for an encoding it refuses, -1 for a LEB128. An aligned operand
// (its padding depends on its address; no compiler writes one) is refused.
int set_loc_size(uint8_t encoding) {
  switch (encoding & 0x70) {
    case DW_EH_PE_absptr:
    case DW_EH_PE_pcrel:
    case DW_EH_PE_textrel:
    case DW_EH_PE_datarel:
    case DW_EH_PE_funcrel:
      break;
    default:
      return 0;
  }
  switch (encoding & 0x0f) {
    case DW_EH_PE_udata2:
    case DW_EH_PE_sdata2:
      return 2;
    case DW_EH_PE_udata4:
    case DW_EH_PE_sdata4:
      return 4;
    case DW_EH_PE_udata8:
    case DW_EH_PE_sdata8:
      return 8;
    case DW_EH_PE_uleb128:
    case DW_EH_PE_sleb128:
      return -1;
    default:  // DW_EH_PE_absptr was made udata4/8 by libdw (and the caller)
      return 0;
  }
}

// The operands after an opcode, in libdw's order: `regs` register numbers
// first (checked against the bound), then `lebs` LEB128 numbers, then a
// block if `block` (a LEB128 length and that many bytes).
struct Operands {
  int regs = 0;
  int lebs = 0;
  bool block = false;
};

// What follows each extended opcode (the low 6 bits zero); false for an
// opcode libdw does not know, or one handled apart (fixed-size operands,
// set_loc, the state stack).
bool operands_of(uint8_t opcode, Operands& o) {
  switch (opcode) {
    case DW_CFA_nop:
    case DW_CFA_GNU_window_save:  // also DW_CFA_AARCH64_negate_ra_state
      o = {};
      return true;
    case DW_CFA_restore_extended:
    case DW_CFA_undefined:
    case DW_CFA_same_value:
    case DW_CFA_def_cfa_register:
      o = {1, 0, false};
      return true;
    case DW_CFA_register:
      o = {2, 0, false};
      return true;
    case DW_CFA_offset_extended:
    case DW_CFA_offset_extended_sf:
    case DW_CFA_def_cfa:
    case DW_CFA_def_cfa_sf:
    case DW_CFA_val_offset:
    case DW_CFA_val_offset_sf:
    case DW_CFA_GNU_negative_offset_extended:
      o = {1, 1, false};
      return true;
    case DW_CFA_def_cfa_offset:
    case DW_CFA_def_cfa_offset_sf:
    case DW_CFA_GNU_args_size:
      o = {0, 1, false};
      return true;
    case DW_CFA_def_cfa_expression:
      o = {0, 0, true};
      return true;
    case DW_CFA_expression:
    case DW_CFA_val_expression:
      o = {1, 0, true};
      return true;
    default:
      return false;
  }
}

}  // namespace

CfiProgramCheck check_cfi_program(const uint8_t* begin, const uint8_t* end, uint8_t fde_encoding) {
  Reader r(begin, end);
  unsigned depth = 0;  // remembered states
  CfiProgramCheck fail = CfiProgramCheck::Ok;
  while (!r.done()) {
    const uint8_t opcode = r.byte();
    uint64_t n = 0;
    switch (opcode & 0xc0) {
      case DW_CFA_advance_loc:
      case DW_CFA_restore:  // register in the low 6 bits: at most 63
        continue;
      case DW_CFA_offset:
        if (!r.leb128(n)) return CfiProgramCheck::Truncated;
        continue;
      default:
        break;
    }
    switch (opcode) {
      case DW_CFA_advance_loc1:
        n = 1;
        break;
      case DW_CFA_advance_loc2:
        n = 2;
        break;
      case DW_CFA_advance_loc4:
        n = 4;
        break;
      case DW_CFA_MIPS_advance_loc8:
        n = 8;
        break;
      case DW_CFA_set_loc: {
        const int size = set_loc_size(fde_encoding);
        if (size == 0) return CfiProgramCheck::Invalid;
        if (size < 0 && !r.leb128(n)) return CfiProgramCheck::Truncated;
        n = size < 0 ? 0 : static_cast<uint64_t>(size);
        break;
      }
      case DW_CFA_remember_state:
        if (++depth > kMaxCfiRememberDepth) return CfiProgramCheck::TooDeep;
        continue;
      case DW_CFA_restore_state:
        if (depth == 0) return CfiProgramCheck::Invalid;
        --depth;
        continue;
      default: {
        Operands o;
        if (!operands_of(opcode, o)) return CfiProgramCheck::Invalid;
        for (int i = 0; i < o.regs; ++i)
          if (!r.register_number(fail)) return fail;
        for (int i = 0; i < o.lebs; ++i)
          if (!r.leb128(n)) return CfiProgramCheck::Truncated;
        n = 0;
        if (o.block && !r.leb128(n)) return CfiProgramCheck::Truncated;
        if (n > kMaxCfiExpression) return CfiProgramCheck::ExpressionTooLong;
        break;
      }
    }
    if (!r.skip(n)) return CfiProgramCheck::Truncated;
  }
  return CfiProgramCheck::Ok;
}

}  // namespace memscope
