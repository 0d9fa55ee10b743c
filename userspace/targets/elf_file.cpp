#include "targets/elf_file.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "common/elf_handle.h"
#include "common/error.h"

namespace memscope {
namespace {

void read_symbols(Elf* elf, Elf_Scn* scn, const GElf_Shdr& shdr, bool dynamic, ElfInfo& info) {
  Elf_Data* data = elf_getdata(scn, nullptr);
  if (!data || shdr.sh_entsize == 0) return;
  // The count comes from the header, which may lie (sh_entsize 1: one
  // "entry" a byte, 2^32 of them in a big sparse file): stop at the first
  // entry libelf cannot give, which is past the section's data.
  size_t count = shdr.sh_size / shdr.sh_entsize;
  for (size_t i = 0; i < count; ++i) {
    GElf_Sym sym;
    if (!gelf_getsym(data, static_cast<int>(i), &sym)) break;
    int type = GELF_ST_TYPE(sym.st_info);
    if ((type != STT_FUNC && type != STT_GNU_IFUNC) || sym.st_shndx == SHN_UNDEF || sym.st_value == 0) continue;
    const char* name = elf_strptr(elf, shdr.sh_link, sym.st_name);
    if (!name || !*name) continue;
    std::string n(name);
    if (auto at = n.find('@'); at != std::string::npos) n.resize(at);
    if (n.empty()) continue;  // "@VERSION" alone names nothing
    info.functions.push_back({n, sym.st_value, sym.st_size, dynamic});
  }
}

}  // namespace

std::optional<uint64_t> ElfInfo::vaddr_to_offset(uint64_t vaddr) const {
  for (const auto& s : segments)
    if (vaddr >= s.vaddr && vaddr < s.vaddr + s.filesz) return vaddr - s.vaddr + s.offset;
  return std::nullopt;
}

std::optional<uint64_t> ElfInfo::offset_to_vaddr(uint64_t offset) const {
  for (const auto& s : segments)
    if (offset >= s.offset && offset < s.offset + s.filesz) return offset - s.offset + s.vaddr;
  return std::nullopt;
}

const ElfSymbol* ElfInfo::find_function(const std::string& name, bool dynamic_only) const {
  const ElfSymbol* fallback = nullptr;
  for (const auto& f : functions) {
    if (f.name != name) continue;
    if (f.dynamic) return &f;
    if (!fallback) fallback = &f;
  }
  return dynamic_only ? nullptr : fallback;
}

ElfInfo read_elf(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error("cannot open " + path);
  ElfHandle elf = read_elf_handle(fd);
  if (!elf || elf_kind(elf.get()) != ELF_K_ELF) {
    close(fd);
    throw Error(path + " is not an ELF file");
  }
  ElfInfo info;
  GElf_Ehdr ehdr;
  if (gelf_getehdr(elf.get(), &ehdr)) info.is_dyn = ehdr.e_type == ET_DYN;

  // libelf leaves the count at e_phnum's escape value (2^32 - 1) when it
  // fails: read only a count it returned, and stop at the first header it
  // cannot give (a loop over 2^32 failing calls kept the agent busy for more
  // than a minute).
  size_t nphdr = 0;
  if (elf_getphdrnum(elf.get(), &nphdr) != 0) nphdr = 0;
  for (size_t i = 0; i < nphdr; ++i) {
    GElf_Phdr ph;
    if (!gelf_getphdr(elf.get(), static_cast<int>(i), &ph)) break;
    // A segment whose range wraps past 2^64 is one no loader maps; the
    // address lookups below would compute offsets outside the file from it.
    const bool wraps =
        ph.p_vaddr + std::max(ph.p_memsz, ph.p_filesz) < ph.p_vaddr || ph.p_offset + ph.p_filesz < ph.p_offset;
    if (ph.p_type == PT_LOAD && !wraps)
      info.segments.push_back({ph.p_vaddr, ph.p_offset, ph.p_filesz, ph.p_memsz, (ph.p_flags & PF_X) != 0});
  }

  Elf_Scn* scn = nullptr;
  while ((scn = elf_nextscn(elf.get(), scn)) != nullptr) {
    GElf_Shdr shdr;
    if (!gelf_getshdr(scn, &shdr)) continue;
    if (shdr.sh_type == SHT_DYNSYM) read_symbols(elf.get(), scn, shdr, true, info);
    else if (shdr.sh_type == SHT_SYMTAB) {
      info.has_symtab = true;
      read_symbols(elf.get(), scn, shdr, false, info);
    } else if (shdr.sh_type == SHT_DYNAMIC) {
      Elf_Data* data = elf_getdata(scn, nullptr);
      size_t count = shdr.sh_entsize ? shdr.sh_size / shdr.sh_entsize : 0;
      for (size_t i = 0; data && i < count; ++i) {
        GElf_Dyn dyn;
        if (!gelf_getdyn(data, static_cast<int>(i), &dyn)) break;  // as for symbols
        if (dyn.d_tag == DT_NEEDED || dyn.d_tag == DT_SONAME) {
          const char* s = elf_strptr(elf.get(), shdr.sh_link, dyn.d_un.d_val);
          if (!s) continue;
          if (dyn.d_tag == DT_NEEDED) info.needed.emplace_back(s);
          else info.soname = s;
        }
      }
    } else if (shdr.sh_type == SHT_PROGBITS) {
      size_t shstrndx;
      if (elf_getshdrstrndx(elf.get(), &shstrndx) == 0) {
        const char* name = elf_strptr(elf.get(), shstrndx, shdr.sh_name);
        if (name && std::string(name) == ".interp") {
          Elf_Data* data = elf_getdata(scn, nullptr);
          if (data && data->d_buf && data->d_size)
            info.interp.assign(static_cast<const char*>(data->d_buf),
                               strnlen(static_cast<const char*>(data->d_buf), data->d_size));
        }
      }
    }
  }
  elf.reset();
  close(fd);
  return info;
}

}  // namespace memscope
