#include "targets/linker_hook.h"

#include <elf.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cstring>

#include "common/elf_handle.h"
#include "common/error.h"
#include "common/fs.h"
#include "targets/elf_file.h"
#include "targets/proc_maps.h"
#include "targets/process.h"

namespace memscope {
namespace {

// The value of the dynamic data symbol `name` (ElfInfo keeps functions only).
uint64_t dynamic_object(const std::string& path, const char* name) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  uint64_t value = 0;
  if (ElfHandle handle = read_elf_handle(fd)) {
    Elf* elf = handle.get();
    Elf_Scn* scn = nullptr;
    while (!value && (scn = elf_nextscn(elf, scn)) != nullptr) {
      GElf_Shdr shdr;
      if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != SHT_DYNSYM || !shdr.sh_entsize) continue;
      Elf_Data* data = elf_getdata(scn, nullptr);
      for (size_t i = 0; data && i < shdr.sh_size / shdr.sh_entsize; ++i) {
        GElf_Sym sym;
        // The count is the header's, which may lie: stop at the first entry
        // libelf cannot give (past the section's data).
        if (!gelf_getsym(data, static_cast<int>(i), &sym)) break;
        if (GELF_ST_TYPE(sym.st_info) != STT_OBJECT) continue;
        const char* s = elf_strptr(elf, shdr.sh_link, sym.st_name);
        if (s && std::strcmp(s, name) == 0) {
          value = sym.st_value;
          break;
        }
      }
    }
  }
  close(fd);
  return value;
}

}  // namespace

std::optional<LinkerHook> find_linker_hook(pid_t pid) {
  auto auxv = read_file("/proc/" + std::to_string(pid) + "/auxv");
  if (!auxv) return std::nullopt;
  uint64_t base = 0;
  for (size_t i = 0; i + sizeof(Elf64_auxv_t) <= auxv->size(); i += sizeof(Elf64_auxv_t)) {
    Elf64_auxv_t entry;
    std::memcpy(&entry, auxv->data() + i, sizeof entry);
    if (entry.a_type == AT_BASE) base = entry.a_un.a_val;
  }
  if (base == 0) return std::nullopt;  // no interpreter: a static executable
  try {
    for (const Mapping& m : read_maps(pid)) {
      if (m.start != base || m.path.empty()) continue;
      LinkerHook hook;
      hook.path = m.path;
      hook.open_path = proc_root(pid) + m.path;
      ElfInfo elf = read_elf(hook.open_path);
      const ElfSymbol* sym = elf.find_function("_dl_debug_state", true);
      if (!sym) return std::nullopt;
      auto offset = elf.vaddr_to_offset(sym->value);
      if (!offset) return std::nullopt;
      hook.offset = *offset;
      if (uint64_t r_debug = dynamic_object(hook.open_path, "_r_debug")) {
        hook.r_debug_delta = static_cast<int64_t>(r_debug - sym->value);
        hook.r_debug_address = base + r_debug;  // ld.so's first segment is at vaddr 0
      }
      return hook;
    }
  } catch (const Error&) {
  }
  return std::nullopt;
}

bool linker_started(pid_t pid, const LinkerHook& hook) {
  if (!hook.r_debug_address) return false;
  // struct r_debug on x86-64: int r_version; struct link_map* r_map;
  // ElfW(Addr) r_brk; int r_state (RT_CONSISTENT is 0).
  struct {
    int32_t version;
    int32_t pad;
    uint64_t map, brk;
    int32_t state;
  } r{};
  iovec local{&r, sizeof r}, remote{reinterpret_cast<void*>(hook.r_debug_address), sizeof r};
  if (process_vm_readv(pid, &local, 1, &remote, 1, 0) != static_cast<ssize_t>(sizeof r)) return false;
  return r.version != 0 && r.map != 0 && r.state == 0;
}

}  // namespace memscope
