// check_cfi_program on hand-built instruction bytes: what compilers write
// passes, a register number above the bound or an operand past the end does
// not (cfi_program.h), nor an expression block past its bound.
#include <catch2/catch.hpp>

#include <dwarf.h>

#include <cstdint>
#include <vector>

#include "unwind/cfi_program.h"

using namespace memscope;

namespace {

constexpr uint8_t kPcrelSdata4 = DW_EH_PE_pcrel | DW_EH_PE_sdata4;  // GCC's and clang's FDE encoding

CfiProgramCheck check(const std::vector<uint8_t>& program, uint8_t encoding = kPcrelSdata4) {
  return check_cfi_program(program.data(), program.data() + program.size(), encoding);
}

}  // namespace

TEST_CASE("CFI programs: a compiler's CIE and FDE instructions pass") {
  // GCC's x86-64 CIE: CFA = rsp + 8, the return address (r16) at CFA - 8.
  CHECK(check({DW_CFA_def_cfa, 7, 8, DW_CFA_offset | 16, 1, DW_CFA_nop, DW_CFA_nop}) == CfiProgramCheck::Ok);
  // push %rbp; mov %rsp,%rbp; ...; leave; ret, with the epilogue's state
  // remembered and restored as GCC writes it; then the other advances.
  std::vector<uint8_t> fde = {DW_CFA_advance_loc | 1, DW_CFA_def_cfa_offset, 16, DW_CFA_offset | 6, 2};
  fde.insert(fde.end(), {DW_CFA_advance_loc | 3, DW_CFA_def_cfa_register, 6, DW_CFA_advance_loc1, 0x40});
  fde.insert(fde.end(), {DW_CFA_remember_state, DW_CFA_def_cfa, 7, 8, DW_CFA_advance_loc | 1, DW_CFA_restore_state});
  fde.insert(fde.end(), {DW_CFA_advance_loc2, 0x00, 0x01, DW_CFA_GNU_args_size, 16, DW_CFA_restore | 6});
  fde.insert(fde.end(), {DW_CFA_advance_loc4, 1, 0, 0, 0, DW_CFA_nop});
  CHECK(check(fde) == CfiProgramCheck::Ok);
  // binutils' PLT CFA expression (an 11-byte block),
  // glibc's signal frame (DW_CFA_expression per register), set_loc.
  CHECK(check({DW_CFA_def_cfa_offset, 16, DW_CFA_def_cfa_expression, 11, DW_OP_breg7, 8, DW_OP_breg16, 0, DW_OP_lit15,
               DW_OP_and, DW_OP_lit11, DW_OP_ge, DW_OP_lit3, DW_OP_shl, DW_OP_plus}) == CfiProgramCheck::Ok);
  std::vector<uint8_t> signal = {DW_CFA_expression, 16, 3, DW_OP_breg7, 0xa8, 0x01, DW_CFA_val_expression, 7, 1};
  signal.insert(signal.end(), {DW_OP_nop, DW_CFA_set_loc, 0x10, 0, 0, 0, DW_CFA_offset_extended_sf, 17, 0x7e});
  signal.insert(signal.end(), {DW_CFA_register, 16, 0});
  CHECK(check(signal) == CfiProgramCheck::Ok);
  CHECK(check({DW_CFA_set_loc, 1, 2, 3, 4, 5, 6, 7, 8}, DW_EH_PE_udata8) == CfiProgramCheck::Ok);
  CHECK(check({}) == CfiProgramCheck::Ok);
  // The bound itself, in a two-byte ULEB128.
  CHECK(check({DW_CFA_undefined, 0xff, 0x01}) == CfiProgramCheck::Ok);
}

TEST_CASE("CFI programs: a register number above the bound is refused wherever it is") {
  // The fuzzer's input: DW_CFA_same_value r253581390 (libdw grew its frame
  // to 253 million registers, ~2 GB).
  CHECK(check({DW_CFA_advance_loc | 1, DW_CFA_def_cfa_offset, 16, DW_CFA_same_value, 0xce, 0xb0, 0xf5, 0x78}) ==
        CfiProgramCheck::RegisterTooHigh);
  CHECK(check({DW_CFA_undefined, 0x80, 0x02}) == CfiProgramCheck::RegisterTooHigh);  // 256
  for (uint8_t op :
       {DW_CFA_offset_extended, DW_CFA_restore_extended, DW_CFA_same_value, DW_CFA_def_cfa, DW_CFA_def_cfa_register,
        DW_CFA_offset_extended_sf, DW_CFA_def_cfa_sf, DW_CFA_val_offset, DW_CFA_val_offset_sf, DW_CFA_expression,
        DW_CFA_val_expression, DW_CFA_GNU_negative_offset_extended}) {
    INFO(int{op});
    CHECK(check({op, 0xff, 0xff, 0x03, 0, 0}) == CfiProgramCheck::RegisterTooHigh);
  }
  // DW_CFA_register's second register too.
  CHECK(check({DW_CFA_register, 16, 0x80, 0x80, 0x01}) == CfiProgramCheck::RegisterTooHigh);
}

TEST_CASE("CFI programs: an operand past the end is refused") {
  CHECK(check({DW_CFA_def_cfa, 7}) == CfiProgramCheck::Truncated);
  CHECK(check({DW_CFA_offset | 16}) == CfiProgramCheck::Truncated);
  CHECK(check({DW_CFA_same_value, 0x81}) == CfiProgramCheck::Truncated);  // a ULEB128 not ended
  CHECK(check({DW_CFA_advance_loc1}) == CfiProgramCheck::Truncated);
  CHECK(check({DW_CFA_advance_loc4, 1, 0, 0}) == CfiProgramCheck::Truncated);
  CHECK(check({DW_CFA_MIPS_advance_loc8, 1, 0, 0, 0, 0, 0, 0}) == CfiProgramCheck::Truncated);
  CHECK(check({DW_CFA_set_loc, 1, 0, 0}) == CfiProgramCheck::Truncated);
  CHECK(check({DW_CFA_def_cfa_expression, 3, DW_OP_breg7, 8}) == CfiProgramCheck::Truncated);
  CHECK(check({DW_CFA_expression, 16, 0x80}) == CfiProgramCheck::Truncated);
  // 11 bytes for one number: libdw stops after 10 and reads on from there.
  CHECK(check({DW_CFA_def_cfa_offset, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00}) ==
        CfiProgramCheck::Truncated);
}

TEST_CASE("CFI programs: what libdw refuses, and remembered states nested past the bound") {
  CHECK(check({0x20}) == CfiProgramCheck::Invalid);  // no such opcode
  CHECK(check({DW_CFA_restore_state}) == CfiProgramCheck::Invalid);
  CHECK(check({DW_CFA_set_loc, 0, 0, 0, 0}, DW_EH_PE_aligned | DW_EH_PE_udata4) == CfiProgramCheck::Invalid);
  std::vector<uint8_t> deep(kMaxCfiRememberDepth, DW_CFA_remember_state);
  CHECK(check(deep) == CfiProgramCheck::Ok);
  deep.push_back(DW_CFA_remember_state);
  CHECK(check(deep) == CfiProgramCheck::TooDeep);
  deep.insert(deep.end() - 1, DW_CFA_restore_state);  // one popped first: deep enough again
  CHECK(check(deep) == CfiProgramCheck::Ok);
}

TEST_CASE("CFI programs: an expression block past the bound is refused, one at the bound passes") {
  for (uint8_t opcode :
       {uint8_t{DW_CFA_def_cfa_expression}, uint8_t{DW_CFA_expression}, uint8_t{DW_CFA_val_expression}}) {
    std::vector<uint8_t> program = {opcode};
    if (opcode != DW_CFA_def_cfa_expression) program.push_back(16);  // the register
    // The block's length, ULEB128 512.
    program.insert(program.end(), {0x80, 0x04});
    std::vector<uint8_t> at_bound = program;
    at_bound.insert(at_bound.end(), kMaxCfiExpression, DW_OP_nop);
    CHECK(check(at_bound) == CfiProgramCheck::Ok);
    program[program.size() - 2] = 0x81;  // 513
    program.insert(program.end(), kMaxCfiExpression + 1, DW_OP_nop);
    CHECK(check(program) == CfiProgramCheck::ExpressionTooLong);
  }
  // 2 MB: libdw took 156 MB converting it. Refused before it is walked.
  std::vector<uint8_t> huge = {DW_CFA_def_cfa_expression, 0x80, 0x80, 0x80, 0x01};
  huge.resize(huge.size() + (2u << 20), DW_OP_nop);
  CHECK(check(huge) == CfiProgramCheck::ExpressionTooLong);
}
