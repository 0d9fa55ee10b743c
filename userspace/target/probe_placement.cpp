#include "target/probe_placement.h"

#include <capstone/capstone.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <vector>

#include "common/error.h"

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

// --------------------------------------------------------------------------
// The walk.
// --------------------------------------------------------------------------
namespace {

constexpr std::array<x86_reg, 6> kArgRegs = {X86_REG_RDI, X86_REG_RSI, X86_REG_RDX,
                                             X86_REG_RCX, X86_REG_R8,  X86_REG_R9};
constexpr std::array<const char*, 6> kArgNames = {"rdi", "rsi", "rdx", "rcx", "r8", "r9"};

// The 64-bit register a general-purpose (sub-)register belongs to, or
// X86_REG_INVALID for anything else (flags, rip, segment, vector registers).
x86_reg gpr64(unsigned r) {
  switch (r) {
    case X86_REG_RAX:
    case X86_REG_EAX:
    case X86_REG_AX:
    case X86_REG_AL:
    case X86_REG_AH:
      return X86_REG_RAX;
    case X86_REG_RBX:
    case X86_REG_EBX:
    case X86_REG_BX:
    case X86_REG_BL:
    case X86_REG_BH:
      return X86_REG_RBX;
    case X86_REG_RCX:
    case X86_REG_ECX:
    case X86_REG_CX:
    case X86_REG_CL:
    case X86_REG_CH:
      return X86_REG_RCX;
    case X86_REG_RDX:
    case X86_REG_EDX:
    case X86_REG_DX:
    case X86_REG_DL:
    case X86_REG_DH:
      return X86_REG_RDX;
    case X86_REG_RSI:
    case X86_REG_ESI:
    case X86_REG_SI:
    case X86_REG_SIL:
      return X86_REG_RSI;
    case X86_REG_RDI:
    case X86_REG_EDI:
    case X86_REG_DI:
    case X86_REG_DIL:
      return X86_REG_RDI;
    case X86_REG_RBP:
    case X86_REG_EBP:
    case X86_REG_BP:
    case X86_REG_BPL:
      return X86_REG_RBP;
    case X86_REG_RSP:
    case X86_REG_ESP:
    case X86_REG_SP:
    case X86_REG_SPL:
      return X86_REG_RSP;
    case X86_REG_R8:
    case X86_REG_R8D:
    case X86_REG_R8W:
    case X86_REG_R8B:
      return X86_REG_R8;
    case X86_REG_R9:
    case X86_REG_R9D:
    case X86_REG_R9W:
    case X86_REG_R9B:
      return X86_REG_R9;
    case X86_REG_R10:
    case X86_REG_R10D:
    case X86_REG_R10W:
    case X86_REG_R10B:
      return X86_REG_R10;
    case X86_REG_R11:
    case X86_REG_R11D:
    case X86_REG_R11W:
    case X86_REG_R11B:
      return X86_REG_R11;
    case X86_REG_R12:
    case X86_REG_R12D:
    case X86_REG_R12W:
    case X86_REG_R12B:
      return X86_REG_R12;
    case X86_REG_R13:
    case X86_REG_R13D:
    case X86_REG_R13W:
    case X86_REG_R13B:
      return X86_REG_R13;
    case X86_REG_R14:
    case X86_REG_R14D:
    case X86_REG_R14W:
    case X86_REG_R14B:
      return X86_REG_R14;
    case X86_REG_R15:
    case X86_REG_R15D:
    case X86_REG_R15W:
    case X86_REG_R15B:
      return X86_REG_R15;
    default:
      return X86_REG_INVALID;
  }
}

// Instructions whose first operand is their only explicit destination and
// which have no other effect than that register and the flags.
bool writes_first_operand(unsigned id) {
  switch (id) {
    case X86_INS_MOV:
    case X86_INS_MOVABS:
    case X86_INS_MOVZX:
    case X86_INS_MOVSX:
    case X86_INS_MOVSXD:
    case X86_INS_LEA:
    case X86_INS_ADD:
    case X86_INS_SUB:
    case X86_INS_AND:
    case X86_INS_OR:
    case X86_INS_XOR:
    case X86_INS_ADC:
    case X86_INS_SBB:
    case X86_INS_INC:
    case X86_INS_DEC:
    case X86_INS_NEG:
    case X86_INS_NOT:
    case X86_INS_SHL:
    case X86_INS_SAL:
    case X86_INS_SHR:
    case X86_INS_SAR:
    case X86_INS_ROL:
    case X86_INS_ROR:
    case X86_INS_RCL:
    case X86_INS_RCR:
    case X86_INS_SHLD:
    case X86_INS_SHRD:
    case X86_INS_BSWAP:
    case X86_INS_BSF:
    case X86_INS_BSR:
    case X86_INS_TZCNT:
    case X86_INS_LZCNT:
    case X86_INS_POPCNT:
    case X86_INS_ANDN:
    case X86_INS_CMOVA:
    case X86_INS_CMOVAE:
    case X86_INS_CMOVB:
    case X86_INS_CMOVBE:
    case X86_INS_CMOVE:
    case X86_INS_CMOVG:
    case X86_INS_CMOVGE:
    case X86_INS_CMOVL:
    case X86_INS_CMOVLE:
    case X86_INS_CMOVNE:
    case X86_INS_CMOVNO:
    case X86_INS_CMOVNP:
    case X86_INS_CMOVNS:
    case X86_INS_CMOVO:
    case X86_INS_CMOVP:
    case X86_INS_CMOVS:
    case X86_INS_SETAE:
    case X86_INS_SETA:
    case X86_INS_SETBE:
    case X86_INS_SETB:
    case X86_INS_SETE:
    case X86_INS_SETGE:
    case X86_INS_SETG:
    case X86_INS_SETLE:
    case X86_INS_SETL:
    case X86_INS_SETNE:
    case X86_INS_SETNO:
    case X86_INS_SETNP:
    case X86_INS_SETNS:
    case X86_INS_SETO:
    case X86_INS_SETP:
    case X86_INS_SETS:
      return true;
    default:
      return false;
  }
}

std::string plus_offset(uint64_t off) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "+%llu", static_cast<unsigned long long>(off));
  return buf;
}

std::string insn_text(const cs_insn& insn) {
  std::string s = insn.mnemonic;
  if (insn.op_str[0]) {
    s += ' ';
    s += insn.op_str;
  }
  return s;
}

class Capstone {
 public:
  Capstone() {
    if (cs_open(CS_ARCH_X86, CS_MODE_64, &h_) != CS_ERR_OK)
      throw Error("probe placement: cannot open the Capstone x86-64 disassembler");
    cs_option(h_, CS_OPT_DETAIL, CS_OPT_ON);
    insn_ = cs_malloc(h_);
  }
  ~Capstone() {
    if (insn_) cs_free(insn_, 1);
    cs_close(&h_);
  }
  Capstone(const Capstone&) = delete;
  Capstone& operator=(const Capstone&) = delete;
  csh handle() const { return h_; }
  cs_insn* insn() const { return insn_; }

 private:
  csh h_ = 0;
  cs_insn* insn_ = nullptr;
};

struct WalkState {
  int32_t stack_delta = 0;
  std::vector<x86_reg> written;  // 64-bit registers written so far
  bool prev_null_test = false;   // the previous instruction was `test rdi,rdi` / `cmp rdi,0`
  std::string passed;            // the instructions walked past, for the reason
  bool rdi_written() const { return std::find(written.begin(), written.end(), X86_REG_RDI) != written.end(); }
};

bool has_group(const cs_insn& insn, uint8_t group) {
  const cs_detail* d = insn.detail;
  return std::find(d->groups, d->groups + d->groups_count, group) != d->groups + d->groups_count;
}

// Whether `insn` (already known not to be the site) can lie between the
// function's entry and a later site. Returns an empty string and updates the
// state if it can, else why not.
std::string step(csh h, const cs_insn& insn, bool null_je, const PlacementInput& in, WalkState& st) {
  const std::string text = "`" + insn_text(insn) + "`";
  const cs_x86& x = insn.detail->x86;
  const bool was_null_test = st.prev_null_test;
  st.prev_null_test = false;

  // Legacy prefixes from the bytes themselves (Capstone 4 can leave stale
  // prefix/REX fields in a reused cs_insn detail).
  bool lock = false, opsize16 = false;
  for (uint16_t k = 0; k < insn.size && is_legacy_prefix(insn.bytes[k]); ++k) {
    lock |= insn.bytes[k] == 0xf0;
    opsize16 |= insn.bytes[k] == 0x66;
  }
  if (lock) return text + " writes memory";
  if (has_group(insn, X86_GRP_JUMP) || has_group(insn, X86_GRP_CALL) || has_group(insn, X86_GRP_RET) ||
      has_group(insn, X86_GRP_INT) || has_group(insn, X86_GRP_IRET) || has_group(insn, X86_GRP_PRIVILEGE) ||
      has_group(insn, X86_GRP_BRANCH_RELATIVE)) {
    if (null_je && was_null_test) return {};
    return text + " branches and may skip a later site";
  }

  std::vector<x86_reg> writes;
  bool stack_write_expected = false;  // push, sub/add rsp imm: rsp changes by a known amount
  auto op_reg = [&](int k) { return x.operands[k].type == X86_OP_REG ? gpr64(x.operands[k].reg) : X86_REG_INVALID; };

  switch (insn.id) {
    case X86_INS_NOP:
    case X86_INS_PAUSE:
    case X86_INS_ENDBR64:
    case X86_INS_ENDBR32:
      break;
    case X86_INS_PUSH: {
      // push reg/imm/mem: writes the stack below the entry rsp (our own frame), reads only otherwise.
      st.stack_delta += opsize16 ? 2 : 8;
      stack_write_expected = true;
      break;
    }
    case X86_INS_TEST:
    case X86_INS_CMP:
    case X86_INS_BT: {
      // Flags only. Note the arg0 NULL check for the je that may follow.
      if (x.op_count == 2 && op_reg(0) == X86_REG_RDI && x.operands[0].reg == X86_REG_RDI && !st.rdi_written()) {
        if (insn.id == X86_INS_TEST && x.operands[1].type == X86_OP_REG && x.operands[1].reg == X86_REG_RDI)
          st.prev_null_test = true;
        if (insn.id == X86_INS_CMP && x.operands[1].type == X86_OP_IMM && x.operands[1].imm == 0)
          st.prev_null_test = true;
      }
      break;
    }
    case X86_INS_MUL:
    case X86_INS_IMUL:
      if (insn.id == X86_INS_IMUL && x.op_count >= 2) {
        writes.push_back(op_reg(0));
      } else {
        writes.push_back(X86_REG_RAX);
        writes.push_back(X86_REG_RDX);
      }
      break;
    case X86_INS_CQO:
    case X86_INS_CDQ:
    case X86_INS_CWD:
      writes.push_back(X86_REG_RDX);
      break;
    case X86_INS_CDQE:
    case X86_INS_CWDE:
    case X86_INS_CBW:
      writes.push_back(X86_REG_RAX);
      break;
    case X86_INS_XCHG:
      if (x.op_count != 2 || x.operands[0].type != X86_OP_REG || x.operands[1].type != X86_OP_REG)
        return text + " writes memory";
      writes.push_back(op_reg(0));
      writes.push_back(op_reg(1));
      break;
    default:
      if (!writes_first_operand(insn.id)) return text + " cannot be classified (treated as unsafe)";
      if (x.op_count < 1) return text + " cannot be classified (treated as unsafe)";
      if (x.operands[0].type == X86_OP_MEM) return text + " writes memory";
      if (x.operands[0].type != X86_OP_REG || op_reg(0) == X86_REG_INVALID)
        return text + " writes a register that is not a general-purpose register";
      if (op_reg(0) == X86_REG_RSP) {
        // sub rsp, imm / add rsp, imm on the full register: a known change.
        const bool full = x.operands[0].reg == X86_REG_RSP;
        if (full && x.op_count == 2 && x.operands[1].type == X86_OP_IMM &&
            (insn.id == X86_INS_SUB || insn.id == X86_INS_ADD)) {
          const int64_t imm = x.operands[1].imm;
          const int64_t delta = st.stack_delta + (insn.id == X86_INS_SUB ? imm : -imm);
          if (delta < 0 || delta > (1 << 20)) return text + " moves rsp above the entry or too far";
          st.stack_delta = static_cast<int32_t>(delta);
          stack_write_expected = true;
          break;
        }
        return text + " changes rsp by an amount not tracked";
      }
      writes.push_back(op_reg(0));
      break;
  }

  // Add the implicit writes Capstone knows of (cpuid-like surprises in an
  // instruction classified above would show here).
  cs_regs regs_read, regs_write;
  uint8_t n_read = 0, n_write = 0;
  if (cs_regs_access(h, &insn, regs_read, &n_read, regs_write, &n_write) == CS_ERR_OK) {
    for (uint8_t k = 0; k < n_write; ++k) {
      x86_reg r = gpr64(regs_write[k]);
      if (r != X86_REG_INVALID) writes.push_back(r);
    }
  }

  for (x86_reg r : writes) {
    if (r == X86_REG_INVALID) continue;
    if (r == X86_REG_RSP) {
      if (stack_write_expected) continue;
      return text + " changes rsp";
    }
    for (unsigned a = 0; a < in.arg_count && a < kArgRegs.size(); ++a)
      if (r == kArgRegs[a])
        return text + " writes argument register " + kArgNames[a] + " (argument " + std::to_string(a + 1) + ")";
    if (std::find(st.written.begin(), st.written.end(), r) == st.written.end()) st.written.push_back(r);
  }
  return {};
}

}  // namespace

Placement choose_probe_site(const PlacementInput& in) {
  // Instructions must start within kPlacementMaxBytes; the last one may run
  // past it if the caller passed the bytes.
  const size_t size = in.code.size();
  const uint8_t* const code = in.code.data();

  Placement zero;  // the answer whenever nothing better is shown
  if (size == 0) {
    zero.reason = "offset 0: no code bytes to examine";
    return zero;
  }

  Capstone cs;
  cs_insn* insn = cs.insn();
  WalkState st;
  std::optional<Placement> null_je_site;  // the emulated je of the arg0 NULL check, if walked past
  std::string entry_note;
  std::string args;  // "rdi, rsi" for the reason
  for (unsigned a = 0; a < in.arg_count && a < kArgNames.size(); ++a) args += std::string(a ? ", " : "") + kArgNames[a];
  const std::string none_writes = "none of them writes " + (args.empty() ? std::string() : args + " or ") + "memory";

  auto stop = [&](const std::string& why) {
    if (null_je_site) {
      Placement p = *null_je_site;
      p.reason += "; nothing after it qualifies: " + why;
      return p;
    }
    zero.reason = "offset 0: " + why + entry_note;
    return zero;
  };

  size_t off = 0;
  for (unsigned n = 0;; ++n) {
    if (n >= kPlacementMaxInstructions)
      return stop("no qualifying emulated instruction in the first " + std::to_string(kPlacementMaxInstructions) +
                  " instructions");
    if (off >= kPlacementMaxBytes)
      return stop("no qualifying emulated instruction in the first " + std::to_string(kPlacementMaxBytes) + " bytes");
    if (off >= size) return stop("no qualifying emulated instruction in the " + std::to_string(size) + " bytes given");

    const uint8_t* cur = code + off;
    size_t left = size - off;
    uint64_t addr = in.address + off;
    if (!cs_disasm_iter(cs.handle(), &cur, &left, &addr, insn)) {
      if (off == 0) zero.instruction = "(undecodable)";
      return stop("cannot decode the bytes at " + plus_offset(off));
    }
    const std::span<const uint8_t> bytes(code + off, insn->size);
    const std::string text = insn_text(*insn);
    const UprobeHandling how = uprobe_emulation(bytes);

    if (off == 0) {
      zero.instruction = text;
      if (how == UprobeHandling::Emulated) {
        zero.emulated = true;
        zero.reason = "entry instruction is emulated";
        return zero;
      }
      if (how == UprobeHandling::Refused) entry_note = " (note: the kernel refuses a probe on `" + text + "`)";
    }

    const bool null_je = in.skip_if_arg0_null && st.prev_null_test && insn->id == X86_INS_JE;
    if (how == UprobeHandling::Emulated) {
      Placement site;
      site.offset = off;
      site.stack_delta = st.stack_delta;
      site.emulated = true;
      site.instruction = text;
      if (!null_je) {
        site.reason =
            "first emulated instruction, after `" + st.passed + "`: " + none_writes +
            (null_je_site ? ", or branches except the arg0 NULL early return (it needs no record)" : ", or branches");
        return site;
      }
      if (!null_je_site) {
        site.reason = "the je of the arg0 NULL check, emulated and reached by every call, after `" + st.passed +
                      "`: " + none_writes + ", or branches";
        null_je_site = site;
      }
    }

    const std::string why = step(cs.handle(), *insn, null_je, in, st);
    if (!why.empty()) return stop(why + " at " + plus_offset(off));
    if (!st.passed.empty()) st.passed += "; ";
    st.passed += text;
    off += insn->size;
  }
}

Placement choose_probe_site(const std::string& elf_path, uint64_t file_offset, uint64_t vaddr, unsigned arg_count,
                            bool skip_if_arg0_null) {
  int fd = ::open(elf_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error("cannot open " + elf_path + ": " + std::strerror(errno));
  std::array<uint8_t, kPlacementMaxBytes + 15> buf{};  // + the longest x86 instruction, less one
  size_t got = 0;
  while (got < buf.size()) {
    ssize_t r = ::pread(fd, buf.data() + got, buf.size() - got, static_cast<off_t>(file_offset + got));
    if (r < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      throw Error("cannot read " + elf_path + " at offset " + std::to_string(file_offset) + ": " + std::strerror(e));
    }
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  ::close(fd);
  if (got == 0)
    throw Error("cannot read " + elf_path + " at offset " + std::to_string(file_offset) + ": past the end of the file");
  PlacementInput in;
  in.code = std::span<const uint8_t>(buf.data(), got);
  in.address = vaddr;
  in.arg_count = arg_count;
  in.skip_if_arg0_null = skip_if_arg0_null;
  return choose_probe_site(in);
}

}  // namespace memscope
