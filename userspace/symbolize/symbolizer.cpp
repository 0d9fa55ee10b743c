#include "symbolize/symbolizer.h"

#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "common/error.h"
#include "symbolize/demangle.h"
#include "targets/elf_file.h"
#include "targets/process.h"

namespace memscope {

struct Symbolizer::Module {
  ElfInfo elf;
  Dwfl* dwfl = nullptr;
  Dwfl_Module* mod = nullptr;
  int fd = -1;  // the file itself, held for libdwfl's lazy reads (debug info)
  ~Module() {
    if (dwfl) dwfl_end(dwfl);
    if (fd >= 0) close(fd);
  }
};

namespace {

char* debuginfo_path = nullptr;
const Dwfl_Callbacks kOfflineCallbacks = {
    .find_elf = dwfl_build_id_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .section_address = dwfl_offline_section_address,
    .debuginfo_path = &debuginfo_path,
};

std::string hex(uint64_t v) {
  char buf[32];
  snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string file_key(const Mapping& m) { return m.dev + ":" + std::to_string(m.inode); }

// `path` opened read-only if it is the mapped file itself.
int open_if_same(const std::string& path, const Mapping& m) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd >= 0 && (fstat(fd, &st) != 0 || st.st_ino != m.inode)) {
    close(fd);
    fd = -1;
  }
  return fd;
}

// The mapped file as the process sees it, through its root; if that now
// names another file (replaced, deleted), the mapping itself. -1 once the
// process is gone.
int open_mapped(pid_t pid, const Mapping& map) {
  int fd = open_if_same(proc_root(pid) + map.path, map);
  if (fd < 0) {
    char range[64];
    snprintf(range, sizeof range, "/%llx-%llx", static_cast<unsigned long long>(map.start),
             static_cast<unsigned long long>(map.end));
    fd = open_if_same("/proc/" + std::to_string(pid) + "/map_files" + range, map);
  }
  return fd;
}

}  // namespace

Symbolizer::Symbolizer() = default;
Symbolizer::~Symbolizer() = default;

bool Symbolizer::snapshot(pid_t pid) {
  try {
    auto maps = read_maps(pid);
    if (!maps.empty()) {
      // Addresses resolved against an older snapshot may map differently
      // now (exec, dlclose): resolve them again.
      if (auto it = maps_.find(pid); it == maps_.end() || it->second.size() != maps.size())
        std::erase_if(resolved_, [pid](const auto& e) { return e.first.first == pid; });
      for (const Mapping& m : maps)
        if (m.executable && !m.path.empty()) module_for(pid, m);
      maps_[pid] = std::move(maps);
    }
  } catch (const Error&) {
  }
  return has_snapshot(pid);
}

bool Symbolizer::snapshot_or_copy(pid_t pid, pid_t parent) {
  if (snapshot(pid)) return true;
  auto it = maps_.find(parent);
  if (it == maps_.end()) return false;
  maps_[pid] = it->second;
  return true;
}

Symbolizer::Module* Symbolizer::module_for(pid_t pid, const Mapping& map) {
  const std::string key = map.inode ? file_key(map) : map.path;
  auto it = modules_.find(key);
  if (it != modules_.end()) return it->second.get();

  // Read through a descriptor, so the file stays readable whatever happens
  // to its path or the process's mount namespace afterwards.
  const int fd = open_mapped(pid, map);
  const std::string open_path = fd >= 0 ? "/proc/self/fd/" + std::to_string(fd) : map.path;
  auto m = std::make_unique<Module>();
  m->fd = fd;
  try {
    m->elf = read_elf(open_path);
  } catch (const Error&) {
    modules_[key] = nullptr;
    return nullptr;
  }
  m->dwfl = dwfl_begin(&kOfflineCallbacks);
  if (m->dwfl) {
    dwfl_report_begin(m->dwfl);
    std::string name = std::filesystem::path(map.path).filename().string();
    // Base 0: module addresses are the file's own virtual addresses.
    m->mod = dwfl_report_elf(m->dwfl, name.c_str(), open_path.c_str(), -1, 0, false);
    dwfl_report_end(m->dwfl, nullptr, nullptr);
  }
  Module* raw = m.get();
  modules_[key] = std::move(m);
  return raw;
}

Frame Symbolizer::symbolize(pid_t pid, uint64_t address) {
  auto key = std::make_pair(pid, address);
  if (auto it = resolved_.find(key); it != resolved_.end()) return it->second;
  Frame f = resolve(pid, address);
  resolved_.emplace(key, f);
  return f;
}

Frame Symbolizer::resolve(pid_t pid, uint64_t address) {
  Frame f;
  f.address = address;
  f.function = "[unknown]";
  f.module = "[anon]";
  auto mi = maps_.find(pid);
  if (mi == maps_.end()) return f;
  const Mapping* map = find_mapping(mi->second, address);
  if (!map || map->path.empty()) return f;
  f.module = std::filesystem::path(map->path).filename().string();
  Module* mod = module_for(pid, *map);
  if (!mod) return f;
  auto vaddr = mod->elf.offset_to_vaddr(address - map->start + map->offset);
  if (!vaddr) return f;
  // A return address points after the call; look up the call itself.
  const uint64_t pc = *vaddr > 0 ? *vaddr - 1 : *vaddr;
  if (!mod->mod) {
    f.function = "[" + f.module + "+" + hex(*vaddr) + "]";
    return f;
  }
  Dwarf_Addr bias = 0;
  dwfl_module_getdwarf(mod->mod, &bias);  // loads debug info if any
  GElf_Off off = 0;
  GElf_Sym sym;
  const char* name = dwfl_module_addrinfo(mod->mod, pc, &off, &sym, nullptr, nullptr, nullptr);
  f.function = name ? demangle(name) : "[" + f.module + "+" + hex(*vaddr) + "]";
  if (Dwfl_Line* line = dwfl_module_getsrc(mod->mod, pc)) {
    int lineno = 0;
    if (const char* file = dwfl_lineinfo(line, nullptr, &lineno, nullptr, nullptr, nullptr)) {
      f.file = file;
      f.line = lineno;
    }
  }
  return f;
}

}  // namespace memscope
