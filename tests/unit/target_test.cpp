#include <catch2/catch.hpp>

#include <dlfcn.h>
#include <unistd.h>

#include "common/error.h"
#include "targets/allocator.h"
#include "targets/api_names.h"
#include "targets/elf_file.h"
#include "targets/linker_hook.h"
#include "targets/process.h"
#include "targets/proc_maps.h"
#include "targets/process_memory.h"

using namespace memscope;

TEST_CASE("maps lines parse into file mappings") {
  auto maps = parse_maps(
      "55d0a0000000-55d0a0001000 r--p 00000000 fe:01 1234 /usr/bin/prog\n"
      "55d0a0001000-55d0a0005000 r-xp 00001000 fe:01 1234 /usr/bin/prog\n"
      "7f0000000000-7f0000021000 rw-p 00000000 00:00 0 \n"
      "7f1000000000-7f1000100000 r-xp 00028000 fe:01 99 /lib/libc.so.6 (deleted)\n");
  REQUIRE(maps.size() == 4);
  CHECK(maps[1].executable);
  CHECK(maps[1].offset == 0x1000);
  CHECK(maps[2].path.empty());
  CHECK(maps[3].path == "/lib/libc.so.6");
  CHECK(find_mapping(maps, 0x55d0a0002000) == &maps[1]);
  CHECK(find_mapping(maps, 0x1) == nullptr);
  CHECK(mapped_files(maps) == std::vector<std::string>{"/usr/bin/prog", "/lib/libc.so.6"});
}

TEST_CASE("maps lines not in the kernel's format are skipped, not thrown on") {
  auto maps = parse_maps(
      "zz-1000 r--p 00000000 fe:01 1234 /a\n"                // not hex
      "1000-2000 r--p 00000000 fe:01 12x4 /b\n"              // inode not whole
      "1000-2000 r--p 0 fe:01 99999999999999999999999 /c\n"  // out of range
      "- r--p 0 fe:01 1 /d\n"                                // no numbers
      "3000-4000 r-xp 00001000 fe:01 7 /lib/ok.so\n");
  REQUIRE(maps.size() == 1);
  CHECK(maps[0].path == "/lib/ok.so");
  CHECK(maps[0].start == 0x3000);
}

TEST_CASE("this process is read from /proc, kernel threads and missing PIDs are refused") {
  auto self = read_process(getpid());
  CHECK(self.pid == getpid());
  CHECK(!self.exe.empty());
  CHECK_THROWS_WITH(read_process(999999999), Catch::Contains("no process with PID"));
  // PID 2 is kthreadd on Linux.
  CHECK_THROWS_WITH(read_process(2), Catch::Contains("kernel thread"));
}

TEST_CASE("the PID a process sees is the innermost of NSpid, and never 0") {
  CHECK(innermost_ns_pid("Name:\tsh\nNSpid:\t4242\t7\nNSsid:\t1\n", 4242) == 7);
  CHECK(innermost_ns_pid("Name:\tsh\nNSpid:\t4242\n", 4242) == 4242);
  // A process reaped while its status was read (seen in CI with /bin/true
  // run by a traced shell).
  CHECK(innermost_ns_pid("Name:\ttrue\nNSpid:\t0\n", 4242) == 4242);
  CHECK(innermost_ns_pid("", 4242) == 4242);
}

// [libc-malloc]: the case needs this process's malloc to be glibc's. Under
// ASan (the sanitizer build, tools/sanitize.sh, which leaves them out) the
// executable itself defines malloc, free and the C++ operators, and the agent
// rightly finds them there.
TEST_CASE("the allocator serving this process is libc, found through its maps", "[libc-malloc]") {
  auto self = read_process(getpid());
  AllocatorTarget t = find_allocator(getpid(), self.exe);
  REQUIRE(!t.sites.empty());
  CHECK(t.path.find("libc.so") != std::string::npos);
  // The uprobe offset of malloc is where this process's malloc sits in the file.
  Dl_info info;
  void* malloc_addr = dlsym(RTLD_DEFAULT, "malloc");
  REQUIRE(dladdr(malloc_addr, &info));
  auto it = std::find_if(t.sites.begin(), t.sites.end(), [](const ProbeSite& s) { return s.api == MS_API_MALLOC; });
  REQUIRE(it != t.sites.end());
  auto maps = read_maps(getpid());
  const Mapping* m = find_mapping(maps, reinterpret_cast<uint64_t>(malloc_addr));
  REQUIRE(m);
  CHECK(it->offset == reinterpret_cast<uint64_t>(malloc_addr) - m->start + m->offset);
}

TEST_CASE("entry points sharing an address are probed once and counted under the first name") {
  auto self = read_process(getpid());
  AllocatorTarget t = find_allocator(getpid(), self.exe);
  ElfInfo libc = read_elf(t.open_path);
  const ElfSymbol* a = libc.find_function("aligned_alloc", true);
  const ElfSymbol* m = libc.find_function("memalign", true);
  REQUIRE(a);
  REQUIRE(m);
  if (a->value == m->value) {
    CHECK(t.counted_as.at(MS_API_MEMALIGN) == MS_API_ALIGNED_ALLOC);
    CHECK(std::count_if(t.sites.begin(), t.sites.end(), [](auto& s) { return s.api == MS_API_MEMALIGN; }) == 0);
  } else {
    CHECK(t.counted_as.at(MS_API_MEMALIGN) == MS_API_MEMALIGN);
  }
}

TEST_CASE("an object that defines no malloc is passed over", "[libc-malloc]") {
  // The first object in scope without malloc (this test binary) is skipped.
  auto self = read_process(getpid());
  AllocatorTarget libc = find_allocator(getpid(), self.exe);
  AllocatorTarget t = pick_allocator({{"/proc/self/exe", "/proc/self/exe"}, {libc.path, libc.open_path}});
  CHECK(t.path == libc.path);
  CHECK(pick_allocator({{"/proc/self/exe", "/proc/self/exe"}}).sites.empty());
}

TEST_CASE("a command's allocator comes from the dynamic linker's own load order") {
  extern char** environ;
  AllocatorTarget t = find_allocator_for_command("/bin/true", environ);
  CHECK(t.path.find("libc.so") != std::string::npos);
}

TEST_CASE("ELF reading rejects non-ELF files") {
  CHECK_THROWS_AS(read_elf("/proc/self/status"), Error);
  CHECK(api_from_name("posix_memalign") == MS_API_POSIX_MEMALIGN);
  CHECK(api_name(MS_API_REALLOCARRAY) == "reallocarray");
}

TEST_CASE("smart placement moves glibc's free past its NULL check and keeps return-probed sites at stack delta 0",
          "[libc-malloc]") {
  auto self = read_process(getpid());
  const AllocatorTarget original = find_allocator(getpid(), self.exe);
  AllocatorTarget entry = original, smart = original;
  place_probes(smart, PlacementMode::Smart);
  place_probes(entry, PlacementMode::Entry);
  for (size_t i = 0; i < smart.sites.size(); ++i) {
    const ProbeSite& s = smart.sites[i];
    INFO(s.symbol << ": " << s.placement);
    CHECK(entry.sites[i].offset == original.sites[i].offset);  // entry placement leaves offsets alone
    CHECK(s.offset >= entry.sites[i].offset);
    CHECK(s.offset < entry.sites[i].offset + 64);
    if (s.api != MS_API_FREE) CHECK(s.stack_delta == 0);
    CHECK(!s.placement.empty());
    if (s.api == MS_API_FREE) CHECK(s.offset > entry.sites[i].offset);
  }
}

TEST_CASE("C++ operators: every variant probed in libstdc++, and each keeps its return since it enters malloc or free",
          "[libc-malloc]") {
  auto self = read_process(getpid());
  AllocatorTarget t = find_allocator(getpid(), self.exe);
  size_t cxx_sites = 0;
  for (unsigned api : {MS_API_NEW, MS_API_NEW_ARRAY, MS_API_DELETE, MS_API_DELETE_ARRAY}) {
    INFO(api_name(api));
    CHECK(t.counted_as[api] == api);
    CHECK(std::find(t.missing.begin(), t.missing.end(), api) == t.missing.end());
    for (const ProbeSite& s : t.sites) {
      if (s.api != api) continue;
      INFO(s.symbol);
      ++cxx_sites;
      CHECK(s.path.find("libstdc++.so") != std::string::npos);
      CHECK(s.keep_return);
      const auto& variants = api_symbols(api);
      CHECK(std::find(variants.begin(), variants.end(), s.symbol) != variants.end());
    }
  }
  CHECK(cxx_sites == 20);  // libstdc++ 12 defines all 4 + 4 + 6 + 6 variants
  CHECK(api_name(MS_API_DELETE_ARRAY) == "operator delete[]");
  CHECK(!api_allocates(MS_API_DELETE));
  CHECK(api_allocates(MS_API_NEW_ARRAY));
}

TEST_CASE("this process's resident memory and program break are read from /proc") {
  void* volatile touched = malloc(64);  // the heap exists
  auto rss = read_resident_memory(getpid());
  REQUIRE(rss);
  CHECK(rss->rss_bytes > 0);
  CHECK(rss->rss_anon_bytes <= rss->rss_bytes);
  auto brk = read_program_break(getpid());
  REQUIRE(brk);
  CHECK(brk->start > 0);
  CHECK(brk->current >= brk->start);
  CHECK(brk->current == reinterpret_cast<uintptr_t>(sbrk(0)));  // glibc keeps the break page-aligned
  free(touched);
  CHECK(!read_resident_memory(999999999));
}

TEST_CASE("a library loaded later is probed for the entry points it exports with or without malloc") {
  auto has = [](const AllocatorTarget& t, unsigned api) {
    for (const auto& s : t.sites)
      if (s.api == api) return true;
    return false;
  };
  const std::string jemalloc = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2";
  if (access(jemalloc.c_str(), R_OK) == 0) {
    AllocatorTarget je = object_entry_points(jemalloc, jemalloc);
    CHECK(je.path == jemalloc);
    CHECK(has(je, MS_API_MALLOC));
    CHECK(has(je, MS_API_FREE));
    for (const auto& s : je.sites) CHECK(s.open_path == jemalloc);
  }
  // libstdc++ brings the C++ operators only.
  std::string libstdcxx;
  for (const auto& m : read_maps(getpid()))
    if (m.path.find("libstdc++.so") != std::string::npos) libstdcxx = m.path;
  REQUIRE(!libstdcxx.empty());
  AllocatorTarget cxx = object_entry_points(libstdcxx, libstdcxx);
  CHECK(!has(cxx, MS_API_MALLOC));
  CHECK(has(cxx, MS_API_NEW));
  // They enter glibc's malloc and free through the PLT: each keeps its
  // return, so that the inner call is counted once.
  for (const auto& s : cxx.sites) {
    INFO(s.symbol);
    CHECK(s.keep_return);
  }
  // An object that is no allocator brings nothing.
  CHECK(
      object_entry_points("/usr/lib/x86_64-linux-gnu/libz.so.1", "/usr/lib/x86_64-linux-gnu/libz.so.1").sites.empty());
  CHECK_THROWS_AS(object_entry_points("/etc/hostname", "/etc/hostname"), Error);
}

TEST_CASE("the dynamic linker's debugger hook and its state are found in this process") {
  auto hook = find_linker_hook(getpid());
  REQUIRE(hook);
  CHECK(hook->path.find("ld-linux") != std::string::npos);
  ElfInfo ld = read_elf(hook->open_path);
  const ElfSymbol* sym = ld.find_function("_dl_debug_state", true);
  REQUIRE(sym);
  CHECK(hook->offset == ld.vaddr_to_offset(sym->value));
  // Its state is read from this process's own _r_debug: started long ago.
  CHECK(hook->r_debug_address != 0);
  CHECK(linker_started(getpid(), *hook));
}
