#include "symbolize/symbolizer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "common/clock.h"
#include "common/error.h"
#include "symbolize/object_symbols.h"
#include "targets/elf_file.h"
#include "targets/process.h"

namespace memscope {

struct Symbolizer::Module {
  ElfInfo elf;
  std::unique_ptr<ObjectSymbols> symbols;  // null when libdwfl could not read the file
  int fd = -1;                             // the file itself, held for libdwfl's lazy reads (debug info)
  ~Module() {
    symbols.reset();
    if (fd >= 0) close(fd);
  }
};

namespace {

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

// Whether `pid` sees files where the agent does: then the path it maps an
// object from is, for the agent too, the directory of its debuglink file,
// and stays so after the process is gone.
bool same_mount_namespace(pid_t pid) {
  struct stat self, other;
  const std::string ns = "/proc/" + std::to_string(pid) + "/ns/mnt";
  return stat("/proc/self/ns/mnt", &self) == 0 && stat(ns.c_str(), &other) == 0 && self.st_dev == other.st_dev &&
         self.st_ino == other.st_ino;
}

}  // namespace

Symbolizer::Symbolizer(std::string debuginfo_path) : debuginfo_path_(std::move(debuginfo_path)) {}
Symbolizer::~Symbolizer() = default;

bool Symbolizer::snapshot(pid_t pid) {
  const uint64_t taken = monotonic_ns();
  try {
    std::vector<Mapping> code;  // return addresses lie in executable mappings only
    for (Mapping& m : read_maps(pid))
      if (m.executable) code.push_back(std::move(m));
    if (!code.empty()) {
      for (const Mapping& m : code)
        if (!m.path.empty()) module_for(pid, m);
      maps_[pid].add(taken, std::move(code));
    }
  } catch (const Error&) {
  }
  return has_snapshot(pid);
}

bool Symbolizer::has_snapshot(pid_t pid) const {
  auto it = maps_.find(pid);
  return it != maps_.end() && !it->second.empty();
}

bool Symbolizer::snapshot_or_copy(pid_t pid, pid_t parent) {
  if (snapshot(pid)) return true;
  auto it = maps_.find(parent);
  if (it == maps_.end() || it->second.empty()) return false;
  maps_[pid].copy_latest(it->second);
  return true;
}

void Symbolizer::maps_changed(pid_t pid, uint64_t when_ns, MapsHistory::Change kind) {
  maps_[pid].changed(when_ns, kind);
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
  const std::string seen_path = same_mount_namespace(pid) ? map.path : proc_root(pid) + map.path;
  m->symbols = std::make_unique<ObjectSymbols>(open_path, std::filesystem::path(map.path).filename().string(),
                                               seen_path, debuginfo_path_);
  if (!m->symbols->ok()) m->symbols.reset();
  Module* raw = m.get();
  modules_[key] = std::move(m);
  return raw;
}

std::vector<Frame> Symbolizer::symbolize(pid_t pid, uint64_t address, uint64_t when_ns) {
  std::optional<MapsHistory::Found> found;
  if (auto mi = maps_.find(pid); mi != maps_.end()) found = mi->second.find(address, when_ns);
  if (!found) return resolve(pid, nullptr, address);
  auto key = std::make_tuple(pid, found->snapshot, address);
  if (auto it = resolved_.find(key); it != resolved_.end()) return it->second;
  return resolved_.emplace(key, resolve(pid, found->map, address)).first->second;
}

std::vector<Frame> Symbolizer::resolve(pid_t pid, const Mapping* map, uint64_t address) {
  Frame f;
  f.address = address;
  f.function = "[unknown]";
  f.module = "[anon]";
  if (!map || map->path.empty()) return {f};
  f.module = std::filesystem::path(map->path).filename().string();
  Module* mod = module_for(pid, *map);
  if (!mod) return {f};
  auto vaddr = mod->elf.offset_to_vaddr(address - map->start + map->offset);
  if (!vaddr) return {f};
  f.offset = *vaddr;
  // Code no table names is shown as where it is, never after a neighbour.
  f.function = f.module + "+" + hex(*vaddr);
  if (!mod->symbols) return {f};
  f.build_id = mod->symbols->build_id();
  // A return address points after the call; look up the call itself.
  const uint64_t pc = *vaddr > 0 ? *vaddr - 1 : *vaddr;
  const std::vector<SourceFrame>& found = mod->symbols->frames_at(pc);
  if (found.empty()) return {f};
  std::vector<Frame> frames;
  for (const SourceFrame& s : found) {
    Frame g = f;
    g.function = s.function;
    g.file = s.file;
    g.line = s.line;
    g.inlined = s.inlined;
    frames.push_back(std::move(g));
  }
  return frames;
}

}  // namespace memscope
