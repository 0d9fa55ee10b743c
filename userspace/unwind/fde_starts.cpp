#include "unwind/fde_starts.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <gelf.h>

#include <algorithm>
#include <cstring>

namespace memscope {

namespace {

constexpr uint8_t kEncUdata4 = 0x03;
constexpr uint8_t kEncDatarelSdata4 = 0x3b;
constexpr uint8_t kEncOmit = 0xff;

template <typename T>
T read_at(const uint8_t* p) {
  T v;
  memcpy(&v, p, sizeof v);
  return v;
}

}  // namespace

Elf_Scn* find_section(Elf* elf, const char* name) {
  size_t shstrndx = 0;
  if (elf_getshdrstrndx(elf, &shstrndx) != 0) return nullptr;
  for (Elf_Scn* scn = elf_nextscn(elf, nullptr); scn; scn = elf_nextscn(elf, scn)) {
    GElf_Shdr shdr;
    if (!gelf_getshdr(scn, &shdr)) continue;
    const char* n = elf_strptr(elf, shstrndx, shdr.sh_name);
    if (n && strcmp(n, name) == 0) return scn;
  }
  return nullptr;
}

size_t count_sections(Elf* elf, const char* name) {
  size_t shstrndx = 0, n = 0;
  if (elf_getshdrstrndx(elf, &shstrndx) != 0) return 0;
  for (Elf_Scn* scn = elf_nextscn(elf, nullptr); scn; scn = elf_nextscn(elf, scn)) {
    GElf_Shdr shdr;
    if (!gelf_getshdr(scn, &shdr)) continue;
    const char* s = elf_strptr(elf, shstrndx, shdr.sh_name);
    if (s && strcmp(s, name) == 0) ++n;
  }
  return n;
}

std::optional<std::vector<EhFrameHdrEntry>> eh_frame_hdr_table(Elf* elf) {
  // libdw reads the last .eh_frame_hdr before .eh_frame, this the first:
  // with two, libdw could look FDEs up in a table never seen here.
  if (count_sections(elf, ".eh_frame_hdr") != 1) return std::nullopt;
  // Read in this host's byte order (x86-64's), where libdw reads the ELF's.
  const char* ident = elf_getident(elf, nullptr);
  if (!ident || ident[EI_DATA] != ELFDATA2LSB) return std::nullopt;
  Elf_Scn* scn = find_section(elf, ".eh_frame_hdr");
  GElf_Shdr shdr;
  if (!scn || !gelf_getshdr(scn, &shdr) || shdr.sh_type == SHT_NOBITS) return std::nullopt;
  Elf_Data* data = elf_getdata(scn, nullptr);
  if (!data || data->d_size < 12) return std::nullopt;
  const auto* p = static_cast<const uint8_t*>(data->d_buf);
  // version, eh_frame_ptr encoding, fde_count encoding, table encoding; then
  // eh_frame_ptr (4 bytes in every encoding the linkers use), fde_count, table.
  // Not aligned: libdw would pad eh_frame_ptr by its address and read the
  // count and the table from other bytes than these.
  if (p[0] != 1 || p[2] != kEncUdata4 || p[3] != kEncDatarelSdata4 || p[1] == kEncOmit || (p[1] & 0x0f) != 0x0b ||
      (p[1] & 0x70) == DW_EH_PE_aligned)
    return std::nullopt;
  const uint32_t count = read_at<uint32_t>(p + 8);
  if (12 + uint64_t{count} * 8 > data->d_size) return std::nullopt;
  std::vector<EhFrameHdrEntry> table;
  table.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    const uint8_t* e = p + 12 + uint64_t{i} * 8;
    table.push_back({shdr.sh_addr + static_cast<int64_t>(read_at<int32_t>(e)),
                     shdr.sh_addr + static_cast<int64_t>(read_at<int32_t>(e + 4))});
  }
  return table;
}

std::optional<std::vector<uint64_t>> fde_starts_from_eh_frame_hdr(Elf* elf) {
  std::optional<std::vector<EhFrameHdrEntry>> table = eh_frame_hdr_table(elf);
  if (!table) return std::nullopt;
  std::vector<uint64_t> starts;
  starts.reserve(table->size());
  for (const EhFrameHdrEntry& e : *table) starts.push_back(e.start);
  // The table is sorted by the linker; sorting again costs little and
  // makes a bad table harmless.
  std::sort(starts.begin(), starts.end());
  starts.erase(std::unique(starts.begin(), starts.end()), starts.end());
  return starts;
}

std::optional<std::vector<uint64_t>> fde_starts_from_debug_frame(Elf* elf) {
  // libdw reads the first of .debug_frame and .zdebug_frame that it can:
  // with two, maybe one never seen here.
  if (count_sections(elf, ".debug_frame") + count_sections(elf, ".zdebug_frame") != 1) return std::nullopt;
  Elf_Scn* scn = find_section(elf, ".debug_frame");
  if (!scn) return std::nullopt;
  Elf_Data* data = elf_getdata(scn, nullptr);
  const char* ident = elf_getident(elf, nullptr);
  if (!data || !ident) return std::nullopt;
  const size_t address_size = ident[EI_CLASS] == ELFCLASS64 ? 8 : 4;
  std::vector<uint64_t> starts;
  Dwarf_Off off = 0, next = 0;
  for (;;) {
    Dwarf_CFI_Entry entry;
    const int r = dwarf_next_cfi(reinterpret_cast<const unsigned char*>(ident), data, false, off, &next, &entry);
    if (r > 0) break;
    if (r == 0 && !dwarf_cfi_cie_p(&entry) && entry.fde.end - entry.fde.start >= static_cast<ptrdiff_t>(address_size)) {
      uint64_t start = address_size == 8 ? read_at<uint64_t>(entry.fde.start) : read_at<uint32_t>(entry.fde.start);
      starts.push_back(start);
    }
    if (next == static_cast<Dwarf_Off>(-1) || next <= off) break;
    off = next;
  }
  std::sort(starts.begin(), starts.end());
  starts.erase(std::unique(starts.begin(), starts.end()), starts.end());
  return starts;
}

}  // namespace memscope
