// Checks one CFI instruction program (a CIE's initial instructions or an
// FDE's) before libdw runs it. libdw 0.188 (cfi.c) grows a frame's register
// array to the highest DWARF register number an instruction names, up to
// INT32_MAX / 8 of them (2 GiB), and copies the whole frame at each
// DW_CFA_remember_state: a few crafted bytes of CFI in a library a traced
// program maps made it allocate ~2 GB while the agent built that library's
// unwind table (tests/fuzz/corpus/unwind_table/oom-cfi-register). A program
// libdw may run passes here only when every operand lies inside it, every
// register it names is at most kMaxCfiRegister and remembered states nest at
// most kMaxCfiRememberDepth deep and each expression block is at most
// kMaxCfiExpression bytes: libdw's frame then stays under 2.2 KiB, its stack
// of copies under 150 KiB, and an expression it converts under ~40 KiB.
#pragma once
#include <cstdint>

namespace memscope {

// x86-64's DWARF register numbers (the psABI's table, with APX's r16-r31)
// end at 145; the agent unwinds nothing else. 255 leaves room and keeps
// libdw's frame at 256 entries of 8 bytes.
inline constexpr uint64_t kMaxCfiRegister = 255;
// Compilers nest DW_CFA_remember_state one or two deep (an epilogue inside
// the body); hand-written assembly little more.
inline constexpr unsigned kMaxCfiRememberDepth = 64;
// libdw converts an expression block (DW_CFA_def_cfa_expression,
// DW_CFA_expression, DW_CFA_val_expression) to ~80 bytes per byte: a 2 MB
// block took 156 MB. binutils' PLT expression is 11 bytes, glibc's signal
// frames' a few.
inline constexpr uint64_t kMaxCfiExpression = 512;

enum class CfiProgramCheck {
  Ok,
  Truncated,          // an operand runs past the program's end (or a LEB128 past 10 bytes)
  RegisterTooHigh,    // a register number above kMaxCfiRegister
  TooDeep,            // DW_CFA_remember_state nested deeper than kMaxCfiRememberDepth
  ExpressionTooLong,  // an expression block longer than kMaxCfiExpression bytes
  Invalid,            // an opcode or DW_CFA_set_loc encoding libdw refuses, or a restore_state with none remembered
};

// The program [begin, end). `fde_encoding` is the CIE's FDE pointer encoding
// as libdw keeps it (DW_EH_PE_absptr already made udata4 or udata8 for the
// ELF class): it is DW_CFA_set_loc's operand.
CfiProgramCheck check_cfi_program(const uint8_t* begin, const uint8_t* end, uint8_t fde_encoding);

}  // namespace memscope
