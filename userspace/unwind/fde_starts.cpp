#include "unwind/fde_starts.h"

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

std::optional<std::vector<uint64_t>> fde_starts_from_eh_frame_hdr(Elf* elf) {
  Elf_Scn* scn = find_section(elf, ".eh_frame_hdr");
  GElf_Shdr shdr;
  if (!scn || !gelf_getshdr(scn, &shdr) || shdr.sh_type == SHT_NOBITS) return std::nullopt;
  Elf_Data* data = elf_getdata(scn, nullptr);
  if (!data || data->d_size < 12) return std::nullopt;
  const auto* p = static_cast<const uint8_t*>(data->d_buf);
  // version, eh_frame_ptr encoding, fde_count encoding, table encoding; then
  // eh_frame_ptr (4 bytes in every encoding the linkers use), fde_count, table.
  if (p[0] != 1 || p[2] != kEncUdata4 || p[3] != kEncDatarelSdata4 || p[1] == kEncOmit || (p[1] & 0x0f) != 0x0b)
    return std::nullopt;
  const uint32_t count = read_at<uint32_t>(p + 8);
  if (12 + uint64_t{count} * 8 > data->d_size) return std::nullopt;
  std::vector<uint64_t> starts;
  starts.reserve(count);
  for (uint32_t i = 0; i < count; ++i)
    starts.push_back(shdr.sh_addr + static_cast<int64_t>(read_at<int32_t>(p + 12 + uint64_t{i} * 8)));
  // The table is sorted by the linker; sorting again costs little and
  // makes a bad table harmless.
  std::sort(starts.begin(), starts.end());
  starts.erase(std::unique(starts.begin(), starts.end()), starts.end());
  return starts;
}

std::optional<std::vector<uint64_t>> fde_starts_from_debug_frame(Elf* elf) {
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
