#include "unwind/unwind_table.h"

#include <elfutils/libdw.h>
#include <fcntl.h>
#include <gelf.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <optional>

#include "common/elf_handle.h"
#include "common/error.h"
#include "unwind/cfa_rule.h"
#include "unwind/cfi_screen.h"
#include "unwind/fde_starts.h"

namespace memscope {

namespace {

bool same_rule(const ms_unwind_row& a, const ms_unwind_row& b) {
  return a.cfa_kind == b.cfa_kind && a.cfa_off8 == b.cfa_off8 && a.rbp == b.rbp;
}

// Appends a row unless the previous one already says the same.
void push_row(std::vector<ms_unwind_row>& rows, const ms_unwind_row& row) {
  if (!rows.empty() && same_rule(rows.back(), row)) return;
  if (!rows.empty() && rows.back().start == row.start) {
    rows.back() = row;  // an empty range: the later rule holds
    return;
  }
  rows.push_back(row);
}

ms_unwind_row gap_at(uint64_t addr) {
  ms_unwind_row row{};
  row.start = static_cast<uint32_t>(addr);
  row.cfa_kind = MS_CFA_NONE;
  return row;
}

int64_t executable_bias(Elf* elf) {
  size_t n = 0;
  if (elf_getphdrnum(elf, &n) != 0) return 0;
  for (size_t i = 0; i < n; ++i) {
    GElf_Phdr ph;
    if (gelf_getphdr(elf, i, &ph) && ph.p_type == PT_LOAD && (ph.p_flags & PF_X))
      // In unsigned arithmetic, which wraps where a signed difference of a
      // crafted file's fields would overflow (undefined behaviour).
      return static_cast<int64_t>(ph.p_vaddr - ph.p_offset);
  }
  return 0;
}

// The rows of the FDE starting at `start`, up to `next` (the next FDE's
// start): libdw gives each row's rule and its [start, end). Where libdw
// could run CFI that fails the screen (cfi_screen.h) it is not asked: a gap.
void rows_of_fde(Dwarf_CFI* cfi, const std::vector<AddressRange>& unsafe, uint64_t start, uint64_t next,
                 std::vector<ms_unwind_row>& rows) {
  uint64_t addr = start;
  while (addr < next) {
    Dwarf_Frame* frame = nullptr;
    if (in_ranges(unsafe, addr) || dwarf_cfi_addrframe(cfi, addr, &frame) != 0) {
      push_row(rows, gap_at(addr));
      return;
    }
    Dwarf_Addr lo = 0, hi = 0;
    bool signal = false;
    ms_unwind_row row{};
    row.start = static_cast<uint32_t>(addr);
    const bool ok = dwarf_frame_info(frame, &lo, &hi, &signal) >= 0 && row_of_frame(frame, row);
    free(frame);
    if (!ok) row.cfa_kind = MS_CFA_UNKNOWN;
    push_row(rows, row);
    if (!ok || hi <= addr) return;  // an unknown rule holds up to the next FDE
    addr = hi;
  }
}

// The ranges libdw must not be asked about in .eh_frame (the bytes libdw
// reads, elf_rawdata), with the FDEs .eh_frame_hdr's table points at.
std::optional<std::vector<AddressRange>> screen_eh_frame(Elf* elf, Elf_Scn* scn, const GElf_Shdr& shdr) {
  Elf_Data* data = elf_rawdata(scn, nullptr);
  const std::optional<std::vector<EhFrameHdrEntry>> hdr = eh_frame_hdr_table(elf);
  const unsigned char* ident = reinterpret_cast<const unsigned char*>(elf_getident(elf, nullptr));
  if (!data || !data->d_buf || !hdr || !ident) return std::nullopt;
  std::vector<uint64_t> offsets;
  offsets.reserve(hdr->size());
  for (const EhFrameHdrEntry& e : *hdr) offsets.push_back(e.fde - shdr.sh_addr);  // as libdw: FDE vaddr - .eh_frame's
  return unsafe_fde_ranges({ident, data, true, shdr.sh_addr}, offsets);
}

// The same in .debug_frame, once dwarf_begin_elf has read it (and
// uncompressed it in place if it was).
std::optional<std::vector<AddressRange>> screen_debug_frame(Elf* elf) {
  Elf_Scn* scn = find_section(elf, ".debug_frame");
  Elf_Data* data = scn ? elf_getdata(scn, nullptr) : nullptr;
  const unsigned char* ident = reinterpret_cast<const unsigned char*>(elf_getident(elf, nullptr));
  if (!data || !data->d_buf || !ident) return std::nullopt;
  return unsafe_fde_ranges({ident, data, false, 0}, {});
}

struct DwarfCloser {
  void operator()(Dwarf* d) const { dwarf_end(d); }
};
struct CfiCloser {
  void operator()(Dwarf_CFI* c) const { dwarf_cfi_end(c); }
};

}  // namespace

UnwindTable build_unwind_table(int fd) {
  ElfHandle elf = read_elf_handle(fd);
  if (!elf || elf_kind(elf.get()) != ELF_K_ELF) throw Error("not an ELF file");
  UnwindTable table;
  table.bias = executable_bias(elf.get());

  // .eh_frame first (what the C++ runtime itself unwinds with); .debug_frame
  // for objects built without unwind tables but with debug information.
  std::unique_ptr<Dwarf_CFI, CfiCloser> eh;
  std::unique_ptr<Dwarf, DwarfCloser> dwarf;
  Dwarf_CFI* cfi = nullptr;
  std::optional<std::vector<uint64_t>> starts = fde_starts_from_eh_frame_hdr(elf.get());
  // libdw finds .eh_frame by its section, or else by the PT_GNU_EH_FRAME
  // segment, where, not knowing its size, it reads the whole file into
  // memory (elf_rawfile) and libelf 0.188 then leaks the sections it had
  // read: only the first way.
  Elf_Scn* eh_frame = find_section(elf.get(), ".eh_frame");
  GElf_Shdr eh_shdr;
  if (!eh_frame || !gelf_getshdr(eh_frame, &eh_shdr) || eh_shdr.sh_type == SHT_NOBITS) starts.reset();
  // What libdw must not be asked about; nullopt: nothing can be asked,
  // the object is left without rows as if it had no CFI.
  std::optional<std::vector<AddressRange>> unsafe;
  if (starts) {
    eh.reset(dwarf_getcfi_elf(elf.get()));
    cfi = eh.get();
    table.source = ".eh_frame";
    if (cfi) unsafe = screen_eh_frame(elf.get(), eh_frame, eh_shdr);
  }
  if (!cfi) {
    starts = fde_starts_from_debug_frame(elf.get());
    if (starts) dwarf.reset(dwarf_begin_elf(elf.get(), DWARF_C_READ, nullptr));
    if (dwarf) cfi = dwarf_getcfi(dwarf.get());
    table.source = ".debug_frame";
    if (cfi) unsafe = screen_debug_frame(elf.get());
  }
  if (!cfi || !unsafe || !starts || starts->empty() || starts->back() >= UINT32_MAX) {
    table.source.clear();
    return table;
  }
  table.fdes = starts->size();
  table.rows.reserve(starts->size() * 3);
  for (size_t i = 0; i < starts->size(); ++i) {
    const uint64_t next = i + 1 < starts->size() ? (*starts)[i + 1] : UINT32_MAX;
    rows_of_fde(cfi, *unsafe, (*starts)[i], next, table.rows);
  }
  if (table.rows.empty() || table.rows.back().cfa_kind != MS_CFA_NONE) table.rows.push_back(gap_at(UINT32_MAX));
  return table;
}

UnwindTable build_unwind_table(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error("cannot open " + path);
  try {
    UnwindTable t = build_unwind_table(fd);
    close(fd);
    return t;
  } catch (...) {
    close(fd);
    throw;
  }
}

const ms_unwind_row* find_row(const std::vector<ms_unwind_row>& rows, uint64_t vaddr) {
  auto it =
      std::upper_bound(rows.begin(), rows.end(), vaddr, [](uint64_t a, const ms_unwind_row& r) { return a < r.start; });
  return it == rows.begin() ? nullptr : &*(it - 1);
}

}  // namespace memscope
