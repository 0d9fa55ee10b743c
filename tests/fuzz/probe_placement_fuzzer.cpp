// Probe placement on the bytes of code a traced program brings: the walk
// (choose_probe_site, Capstone) and the kernel's emulation rules
// (uprobe_emulation) must take any bytes, and what they choose must hold
// when checked apart, with a disassembler of its own: the site starts on an
// instruction boundary within the limits, the kernel emulates the
// instruction there, and nothing before it branches except the arg0 NULL
// check's je when free()'s early return was allowed.
//
// Input: one byte of settings (argument count, skip_if_arg0_null), then the
// code.
#include <capstone/capstone.h>

#include <cstdlib>
#include <cstring>

#include "targets/probe_placement.h"

using namespace memscope;

namespace {

struct Disassembler {
  csh h = 0;
  Disassembler() {
    if (cs_open(CS_ARCH_X86, CS_MODE_64, &h) != CS_ERR_OK) abort();
    cs_option(h, CS_OPT_DETAIL, CS_OPT_ON);
  }
  ~Disassembler() { cs_close(&h); }
};

bool branches(const cs_insn& insn) {
  const cs_detail* d = insn.detail;
  for (uint8_t g = 0; g < d->groups_count; ++g)
    if (d->groups[g] == X86_GRP_JUMP || d->groups[g] == X86_GRP_CALL || d->groups[g] == X86_GRP_RET ||
        d->groups[g] == X86_GRP_BRANCH_RELATIVE || d->groups[g] == X86_GRP_INT)
      return true;
  return false;
}

// The instructions from offset 0 up to the site: the site must fall on a
// boundary, and only the allowed je may branch.
void check_path(const Disassembler& dis, const PlacementInput& in, const Placement& p) {
  cs_insn* insn = nullptr;
  const size_t n = cs_disasm(dis.h, in.code.data(), in.code.size(), in.address, 0, &insn);
  size_t off = 0, i = 0;
  for (; i < n && off < p.offset; ++i) {
    if (branches(insn[i]) && !(in.skip_if_arg0_null && insn[i].id == X86_INS_JE && i > 0)) abort();
    off += insn[i].size;
  }
  if (off != p.offset || i >= n) abort();  // not on a boundary, or not decoded
  const std::span<const uint8_t> site(in.code.data() + off, insn[i].size);
  if (uprobe_emulation(site) != UprobeHandling::Emulated) abort();
  std::string text = insn[i].mnemonic;
  if (insn[i].op_str[0]) text += std::string(" ") + insn[i].op_str;
  if (text != p.instruction) abort();
  cs_free(insn, n);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Disassembler dis;
  if (size == 0) return 0;
  PlacementInput in;
  in.arg_count = data[0] % 7;
  in.skip_if_arg0_null = (data[0] & 0x80) != 0;
  in.address = 0x401000;
  in.code = std::span<const uint8_t>(data + 1, size - 1);

  // The rules alone, on any prefix of the bytes as one instruction.
  for (size_t len = 0; len <= in.code.size() && len <= 16; ++len) (void)uprobe_emulation(in.code.subspan(0, len));

  const Placement p = choose_probe_site(in);
  if (p.reason.empty() || p.stack_delta < 0) abort();
  if (!p.emulated) {
    if (p.offset != 0 || p.reason.rfind("offset 0: ", 0) != 0) abort();
    return 0;
  }
  if (p.offset >= kPlacementMaxBytes || p.offset >= in.code.size()) abort();
  if (p.offset == 0 && p.stack_delta != 0) abort();
  check_path(dis, in, p);
  return 0;
}
