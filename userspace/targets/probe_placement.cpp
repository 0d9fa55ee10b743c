#include "targets/probe_placement.h"

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
#include "targets/uprobe_emulation.h"
#include "targets/x86_registers.h"

namespace memscope {

// --------------------------------------------------------------------------
// The walk.
// --------------------------------------------------------------------------
namespace {

constexpr std::array<x86_reg, 6> kArgRegs = {X86_REG_RDI, X86_REG_RSI, X86_REG_RDX,
                                             X86_REG_RCX, X86_REG_R8,  X86_REG_R9};
constexpr std::array<const char*, 6> kArgNames = {"rdi", "rsi", "rdx", "rcx", "r8", "r9"};

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

// The registers `insn` writes (those classified, and the implicit ones
// Capstone knows of): none may be an argument register, and rsp only where
// the change is tracked. Returns why not, or an empty string and notes them.
std::string check_writes(csh h, const cs_insn& insn, const PlacementInput& in, WalkState& st,
                         std::vector<x86_reg> writes, bool stack_write_expected, const std::string& text) {
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

  return check_writes(h, insn, in, st, std::move(writes), stack_write_expected, text);
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

  unsigned skipped = 0;
  auto stop = [&](const std::string& why) {
    if (in.skip) {
      Placement none;
      none.found = false;
      none.reason = "no further site: " + why;
      return none;
    }
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
      if (how == UprobeHandling::Emulated && !in.skip) {
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
      if (!null_je && skipped++ == in.skip) {
        site.reason =
            std::string(in.skip ? "a further" : "first") + " emulated instruction, after `" + st.passed + "`: " +
            none_writes +
            (null_je_site ? ", or branches except the arg0 NULL early return (it needs no record)" : ", or branches");
        return site;
      }
      if (null_je && !null_je_site) {
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
                            bool skip_if_arg0_null, unsigned skip) {
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
  in.skip = skip;
  return choose_probe_site(in);
}

}  // namespace memscope
