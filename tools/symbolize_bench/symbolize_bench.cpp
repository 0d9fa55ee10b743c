// Measures symbolizing the sites of large C++ objects, in this process:
// addresses spread over every function of an object (as the sites of a
// program that allocates everywhere would be) resolved cold (a new
// Symbolizer: the object opened, its symbol tables and DWARF read), warm
// (the per-process cache), and for a second process mapping the same file
// (the per-object cache). Usage:
//   memscope-symbolize-bench [--max N] [OBJECT...]
// OBJECTs are shared libraries, dlopen'ed; without any: libstdc++ (symbol
// tables only, as Debian ships it) and this executable (-O2 -g, DWARF).
#include <dlfcn.h>
#include <link.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "symbolize/symbolizer.h"
#include "targets/elf_file.h"

using namespace memscope;

namespace {

struct Object {
  std::string path;   // as loaded
  uint64_t bias = 0;  // runtime address - file virtual address
  bool found = false;
};

int find_bias(dl_phdr_info* info, size_t, void* data) {
  auto* o = static_cast<Object*>(data);
  // The loader names a library by the path it found it at (/lib or
  // /usr/lib): compare the files.
  std::error_code ec;
  const bool same = info->dlpi_name[0] == '\0' ? o->path == "/proc/self/exe"
                                               : std::filesystem::equivalent(o->path, info->dlpi_name, ec);
  if (same) {
    o->bias = info->dlpi_addr;
    o->found = true;
    return 1;
  }
  return 0;
}

// About `max` addresses inside the object's functions, each somewhere in
// the middle of one, as a return address is.
std::vector<uint64_t> addresses_in(const Object& o, size_t max) {
  const ElfInfo elf = read_elf(o.path);
  std::vector<uint64_t> all;
  for (const ElfSymbol& f : elf.functions)
    if (f.size > 4) all.push_back(o.bias + f.value + f.size / 2);
  std::vector<uint64_t> picked;
  const size_t step = all.size() > max ? all.size() / max : 1;
  for (size_t i = 0; i < all.size() && picked.size() < max; i += step) picked.push_back(all[i]);
  return picked;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

struct Pass {
  double ns_per_address = 0;
  size_t frames = 0, inlined = 0, unnamed = 0;
};

Pass resolve_all(Symbolizer& s, pid_t pid, const std::vector<uint64_t>& addrs) {
  Pass p;
  const auto t0 = std::chrono::steady_clock::now();
  for (uint64_t a : addrs) {
    const auto frames = s.symbolize(pid, a);
    p.frames += frames.size();
    for (const Frame& f : frames) {
      p.inlined += f.inlined;
      p.unnamed += f.function.find("+0x") != std::string::npos || f.function == "[unknown]";
    }
  }
  p.ns_per_address = seconds_since(t0) * 1e9 / static_cast<double>(addrs.size());
  return p;
}

void bench(Object o, size_t max) {
  if (o.path != "/proc/self/exe" && !dlopen(o.path.c_str(), RTLD_LAZY | RTLD_LOCAL)) {
    fprintf(stderr, "symbolize-bench: %s: %s\n", o.path.c_str(), dlerror());
    return;
  }
  dl_iterate_phdr(find_bias, &o);
  if (!o.found) {
    fprintf(stderr, "symbolize-bench: %s is not loaded\n", o.path.c_str());
    return;
  }
  const std::vector<uint64_t> addrs = addresses_in(o, max);
  if (addrs.empty()) return;
  const pid_t self = getpid();
  Symbolizer s;
  auto t0 = std::chrono::steady_clock::now();
  s.snapshot(self);
  const double snapshot_ms = seconds_since(t0) * 1e3;
  const Pass cold = resolve_all(s, self, addrs);
  const Pass warm = resolve_all(s, self, addrs);
  // A process that is not there, standing for one more mapping the same
  // files: its snapshot is a copy of ours, its addresses new to the
  // per-process cache, its objects already read.
  const pid_t other = 0x3fffffff;
  s.snapshot_or_copy(other, self);
  const Pass shared = resolve_all(s, other, addrs);
  printf("%s\n  %zu addresses, %zu frames (%zu inlined, %zu without a name); snapshot %.1f ms\n", o.path.c_str(),
         addrs.size(), cold.frames, cold.inlined, cold.unnamed, snapshot_ms);
  printf("  cold %.0f ns/address, warm %.0f ns/address, other process (object cache) %.0f ns/address\n",
         cold.ns_per_address, warm.ns_per_address, shared.ns_per_address);
}

}  // namespace

int main(int argc, char** argv) {
  size_t max = 20000;
  std::vector<std::string> paths;
  for (int i = 1; i < argc; ++i) {
    if (!strcmp(argv[i], "--max") && i + 1 < argc) {
      max = std::stoul(argv[++i]);
    } else {
      paths.push_back(argv[i]);
    }
  }
  if (paths.empty()) paths = {"/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/proc/self/exe"};
  for (const std::string& p : paths) {
    try {
      bench(Object{p}, max);
    } catch (const std::exception& e) {
      fprintf(stderr, "symbolize-bench: %s: %s\n", p.c_str(), e.what());
    }
  }
  return 0;
}
