#include "targets/uprobe_emulation.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

namespace memscope {

// --------------------------------------------------------------------------
// The kernel's rules, from arch/x86/kernel/uprobes.c as of Linux 6.18
// (arch_uprobe_analyze_insn -> uprobe_init_insn, branch_setup_xol_ops,
// push_setup_xol_ops). Everything they do not take goes to default_xol_ops
// and is single-stepped.
// --------------------------------------------------------------------------
namespace {

// x86_nops[1..ASM_NOP_MAX] of a 64-bit kernel (arch/x86/include/asm/nops.h).
// branch_setup_xol_ops emulates an instruction whose bytes equal
// x86_nops[insn->length]. (Kernels that define NOP9..NOP11 give them a CS
// prefix, which uprobe_init_insn refuses before this comparison is made.)
const std::array<std::vector<uint8_t>, 9> kX86Nops = {{
    {},
    {0x90},
    {0x66, 0x90},
    {0x0f, 0x1f, 0x00},
    {0x0f, 0x1f, 0x40, 0x00},
    {0x0f, 0x1f, 0x44, 0x00, 0x00},
    {0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00},
    {0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00},
    {0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00},
}};

// is_prefix_bad(): ES, CS, SS, DS and LOCK prefixes make the probe fail.
bool is_bad_prefix(uint8_t b) { return b == 0x26 || b == 0x2e || b == 0x36 || b == 0x3e || b == 0xf0; }

// The zeros of good_insns_64 (one-byte opcodes the kernel will not probe).
bool refused_opcode1(uint8_t op) {
  switch (op) {
    case 0x06:
    case 0x07:
    case 0x0e:
    case 0x16:
    case 0x17:
    case 0x1e:
    case 0x1f:
    case 0x27:
    case 0x2f:
    case 0x37:
    case 0x3f:
    case 0x60:
    case 0x61:
    case 0x62:
    case 0x6c:
    case 0x6d:
    case 0x6e:
    case 0x6f:
    case 0x82:
    case 0x9a:
    case 0xcc:
    case 0xcd:
    case 0xce:
    case 0xcf:
    case 0xd4:
    case 0xd5:
    case 0xd6:
    case 0xe4:
    case 0xe5:
    case 0xe6:
    case 0xe7:
    case 0xea:
    case 0xec:
    case 0xed:
    case 0xee:
    case 0xef:
    case 0xf1:
    case 0xf4:
    case 0xfa:
    case 0xfb:
      return true;
    default:
      return false;
  }
}

// The zeros of good_2byte_insns (0f xx).
bool refused_opcode2(uint8_t op2) {
  switch (op2) {
    case 0x00:
    case 0x01:
    case 0x05:
    case 0x06:
    case 0x07:
    case 0x08:
    case 0x09:
    case 0x0b:
    case 0x30:
    case 0x34:
    case 0x35:
    case 0x37:
    case 0x78:
    case 0x79:
    case 0xae:
      return true;
    default:
      return false;
  }
}

}  // namespace

bool is_legacy_prefix(uint8_t b) {
  switch (b) {
    case 0xf0:
    case 0xf2:
    case 0xf3:  // lock, repne, rep
    case 0x26:
    case 0x2e:
    case 0x36:
    case 0x3e:  // es cs ss ds
    case 0x64:
    case 0x65:
    case 0x66:
    case 0x67:  // fs gs opsize addrsize
      return true;
    default:
      return false;
  }
}

UprobeHandling uprobe_emulation(std::span<const uint8_t> insn) {
  const size_t len = insn.size();
  if (len == 0) return UprobeHandling::Refused;

  size_t i = 0;
  bool opsize_prefix = false;
  bool any_legacy = false;
  while (i < len && is_legacy_prefix(insn[i])) {
    if (is_bad_prefix(insn[i])) return UprobeHandling::Refused;  // uprobe_init_insn
    if (insn[i] == 0x66) opsize_prefix = true;
    any_legacy = true;
    ++i;
  }
  uint8_t rex = 0;
  if (i < len && (insn[i] & 0xf0) == 0x40) rex = insn[i++];
  if (i >= len) return UprobeHandling::Refused;
  // A legacy prefix after REX: the CPU ignores the REX; leave such oddities
  // to the single-step path rather than guess how the decoder splits them.
  if (rex && is_legacy_prefix(insn[i])) return UprobeHandling::SingleStepped;

  const uint8_t op1 = insn[i];
  const bool two_byte = op1 == 0x0f && i + 1 < len;
  const uint8_t op2 = two_byte ? insn[i + 1] : 0;

  // uprobe_init_insn: the good-instruction tables, and no single-stepping of
  // `mov ss` / `pop ss` (insn_masking_exception).
  if (op1 != 0x0f && refused_opcode1(op1)) return UprobeHandling::Refused;
  if (two_byte && refused_opcode2(op2)) return UprobeHandling::Refused;
  if (op1 == 0x8e && i + 1 < len && ((insn[i + 1] >> 3) & 7) == 2) return UprobeHandling::Refused;

  // branch_setup_xol_ops: the kernel's own nops, byte for byte ...
  if (len < kX86Nops.size() && std::equal(insn.begin(), insn.end(), kX86Nops[len].begin(), kX86Nops[len].end()))
    return UprobeHandling::Emulated;
  // ... then jmp rel8/rel32, "prefix* + nop" (0x90 with any prefix, which in
  // 6.18 includes pause and REX.B 0x90), call rel32, jcc rel8/rel32.
  bool branch = false;
  if (op1 == 0x90) return UprobeHandling::Emulated;  // `goto setup`: no 0x66 check
  if (op1 == 0xeb || op1 == 0xe9 || op1 == 0xe8) branch = true;
  if (op1 >= 0x70 && op1 <= 0x7f) branch = true;
  if (two_byte && op2 >= 0x80 && op2 <= 0x8f) branch = true;
  if (branch) {
    // "16-bit overrides such as CALLW (66 e8 nn nn) are not supported":
    // -ENOTSUPP, which fails the registration.
    return opsize_prefix ? UprobeHandling::Refused : UprobeHandling::Emulated;
  }

  // push_setup_xol_ops: 0x50..0x57, one byte, or two with exactly REX 0x41
  // (push r8..r15). `40 55`, `48 55`, `66 50` are single-stepped.
  if (op1 >= 0x50 && op1 <= 0x57) {
    if (len == 1) return UprobeHandling::Emulated;
    if (len == 2 && rex == 0x41 && !any_legacy) return UprobeHandling::Emulated;
    return UprobeHandling::SingleStepped;
  }
  return UprobeHandling::SingleStepped;
}

}  // namespace memscope
