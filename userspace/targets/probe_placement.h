// Where to put a uprobe inside an allocator entry point.
//
// An x86-64 uprobe replaces the probed instruction with int3. After the BPF
// program runs, the kernel must carry out the original instruction: it
// EMULATES a few kinds (push reg, some nops, jmp/call rel, jcc) and
// SINGLE-STEPS every other one out of line, which costs a second trap
// (several times an emulated probe on every host measured:
// docs/measurements.md#method-and-hosts). glibc's free starts with a single-stepped
// `test rdi,rdi`, so probing it at offset 0 pays that on every call; at +9,
// after the NULL early return, sits an emulated `push rbp` with rdi intact.
//
// choose_probe_site() disassembles the start of a function (Capstone) and
// returns the first site that is as good as offset 0 for the probe and
// cheaper: the kernel emulates it, every call that needs a record reaches it,
// and the argument registers still hold the arguments there. Whenever that
// cannot be shown it returns offset 0, which is always correct.
//
// Rules (straight-line walk from offset 0, at most kMaxInstructions
// instructions and kMaxBytes bytes):
//  - A candidate site is an instruction the kernel emulates (uprobe_emulation()
//    below, the rules of arch/x86/kernel/uprobes.c in Linux 6.18). The probe
//    fires before the site executes, so the site itself may be a push, a nop
//    or a branch (a jcc site is reached on every path: the branch has not been
//    taken yet).
//  - Every instruction before the site must be one this module can classify
//    and shows to be harmless: it writes none of the first `arg_count`
//    argument registers (rdi, rsi, rdx, rcx, r8, r9; any sub-register, and
//    implicit writes such as mul's rdx count), writes no memory, does not
//    branch, call or return, and changes rsp only by push or by
//    `sub/add rsp, imm` (both counted into stack_delta; any other write to
//    rsp stops the walk). Memory reads are fine. Anything unclassified
//    (cpuid, syscall, string ops, lock, SSE, pop, ...) stops the walk.
//  - The one branch allowed before the site is the arg0 NULL check
//    `test rdi,rdi` / `cmp rdi,0` immediately followed by `je`, and only when
//    skip_if_arg0_null is set (free(NULL) needs no record) and rdi was not
//    written before it. The walk then prefers a site after that je (free(NULL)
//    then costs no trap at all); if none qualifies the je itself, which the
//    kernel emulates and every call reaches, is the site.
//  - If offset 0 is emulated it is the site ("entry instruction is emulated").
#pragma once
#include <cstdint>
#include <span>
#include <string>

namespace memscope {

struct PlacementInput {
  std::span<const uint8_t>
      code;                // bytes at the function's start (pass ~64 bytes; sites must start within kPlacementMaxBytes)
  uint64_t address = 0;    // the function's vaddr (for branch targets)
  unsigned arg_count = 0;  // integer argument registers that must be intact: rdi, rsi, rdx, rcx, r8, r9 in order
  bool skip_if_arg0_null = false;  // free(): a path that returns early when rdi == 0 needs no record
  // Pass over this many qualifying sites and return the next (an entry
  // point of another process's own: see ProbeSite::alternates); with
  // skip > 0 a walk that ends first finds none (Placement::found false).
  unsigned skip = 0;
};

struct Placement {
  uint64_t offset = 0;  // bytes from the function start where the probe goes
  int32_t stack_delta =
      0;  // bytes pushed between entry and the site: the return address is at [rsp + stack_delta] when the probe fires
  bool emulated = false;    // the kernel emulates the instruction at `offset` (no single-step)
  std::string instruction;  // e.g. "push rbp"
  std::string reason;       // one line: why this site (or why offset 0)
  bool found = true;        // false: no such further site (PlacementInput::skip)
};

// The walk's limits.
inline constexpr unsigned kPlacementMaxInstructions = 16;
inline constexpr size_t kPlacementMaxBytes = 64;

Placement choose_probe_site(const PlacementInput& in);

// Convenience: reads the function's bytes from an ELF file at `file_offset`
// (pread, kPlacementMaxBytes + 15 so that an instruction starting within the
// limit decodes whole, or up to the end of the file) and calls the above.
// Throws Error if the file cannot be opened or read.
Placement choose_probe_site(const std::string& elf_path, uint64_t file_offset, uint64_t vaddr, unsigned arg_count,
                            bool skip_if_arg0_null, unsigned skip = 0);

// What the running kernel (Linux 6.18, arch/x86/kernel/uprobes.c) does with a
// uprobe on the single instruction `insn` (its exact bytes, prefixes
// included, nothing after it).
enum class UprobeHandling {
  Emulated,       // branch_setup_xol_ops or push_setup_xol_ops take it: one trap
  SingleStepped,  // default_xol_ops: executed out of line, a second trap
  Refused,        // the kernel rejects the probe (bad prefix or opcode): attach fails
};
UprobeHandling uprobe_emulation(std::span<const uint8_t> insn);

}  // namespace memscope
