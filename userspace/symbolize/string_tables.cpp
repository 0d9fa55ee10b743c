#include "symbolize/string_tables.h"

#include <gelf.h>

#include <set>
#include <string_view>

namespace memscope {
namespace {

bool ends_in_nul(Elf_Scn* scn) {
  Elf_Data* data = elf_getdata(scn, nullptr);
  if (!data) return false;
  return data->d_size == 0 || (data->d_buf && static_cast<const char*>(data->d_buf)[data->d_size - 1] == '\0');
}

}  // namespace

bool string_tables_terminated(Elf* elf) {
  size_t shstrndx = 0;
  if (elf_getshdrstrndx(elf, &shstrndx) != 0) shstrndx = 0;
  std::set<size_t> symbol_strings;  // the sections symbol tables take their names from
  for (Elf_Scn* scn = elf_nextscn(elf, nullptr); scn; scn = elf_nextscn(elf, scn)) {
    GElf_Shdr shdr;
    if (!gelf_getshdr(scn, &shdr)) continue;
    if (shdr.sh_type == SHT_SYMTAB || shdr.sh_type == SHT_DYNSYM) symbol_strings.insert(shdr.sh_link);
  }
  for (size_t index : symbol_strings) {
    Elf_Scn* scn = elf_getscn(elf, index);
    GElf_Shdr shdr;
    if (scn && gelf_getshdr(scn, &shdr) && shdr.sh_type != SHT_NOBITS && !ends_in_nul(scn)) return false;
  }
  for (Elf_Scn* scn = elf_nextscn(elf, nullptr); shstrndx && scn; scn = elf_nextscn(elf, scn)) {
    GElf_Shdr shdr;
    const char* n = gelf_getshdr(scn, &shdr) ? elf_strptr(elf, shstrndx, shdr.sh_name) : nullptr;
    if (!n || shdr.sh_type == SHT_NOBITS) continue;
    std::string_view name(n);
    const bool gnu_compressed = name.starts_with(".zdebug");
    if (gnu_compressed) name.remove_prefix(2);  // ".zdebug_str" names ".debug_str"
    else if (name.starts_with(".debug")) name.remove_prefix(1);
    else continue;
    if (name.ends_with(".dwo")) name.remove_suffix(4);
    if (name != "debug_str" && name != "debug_line_str") continue;
    // The old GNU form libdw decompresses itself, and would fail on a
    // section decompressed here: not vouched for.
    if (gnu_compressed) return false;
    // libdw reads the others decompressed, as here: libelf keeps what it
    // decompressed in the section (its flag cleared) for libdw to find.
    if ((shdr.sh_flags & SHF_COMPRESSED) != 0 && elf_compress(scn, 0, 0) < 0) return false;
    if (!ends_in_nul(scn)) return false;
  }
  return true;
}

}  // namespace memscope
