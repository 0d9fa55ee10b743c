// ELF files a traced program brings (its executable, its libraries, anything
// it maps): read_elf must read any bytes without crashing, and either refuse
// them with Error or return what it found; the lookups on what it returns
// must agree with it. For the functions it finds, the probe site is then
// chosen from the file's bytes as the agent does before attaching
// (choose_probe_site by path and file offset).
#include <cstdlib>

#include "common/error.h"
#include "fuzz_file.h"
#include "targets/elf_file.h"
#include "targets/probe_placement.h"

using namespace memscope;

namespace {

void check(const ElfInfo& info, const std::string& path) {
  for (const ElfSegment& s : info.segments) {
    if (s.filesz == 0 || s.vaddr + s.filesz < s.vaddr || s.offset + s.filesz < s.offset) continue;
    // The first segment that holds an address gives its offset, and back.
    const auto offset = info.vaddr_to_offset(s.vaddr);
    if (!offset) abort();
    const auto vaddr = info.offset_to_vaddr(*offset);
    if (!vaddr) abort();
  }
  for (const ElfSymbol& f : info.functions) {
    if (f.name.empty() || f.name.find('@') != std::string::npos || f.value == 0) abort();
    const ElfSymbol* found = info.find_function(f.name, false);
    if (!found || found->name != f.name) abort();
    if (f.dynamic && !info.find_function(f.name, true)) abort();
  }
  if (info.interp.find('\0') != std::string::npos) abort();
  // What the agent does next with an allocator entry point; a few suffice.
  for (size_t i = 0; i < info.functions.size() && i < 4; ++i) {
    const ElfSymbol& f = info.functions[i];
    const auto offset = info.vaddr_to_offset(f.value);
    if (!offset) continue;
    try {
      const Placement p = choose_probe_site(path, *offset, f.value, 2, i % 2 == 1);
      if (p.reason.empty() || p.offset >= kPlacementMaxBytes) abort();
    } catch (const Error&) {
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::MemoryFile file(data, size);
  try {
    check(read_elf(file.path()), file.path());
  } catch (const Error&) {
    // Refused: not ELF, or unreadable. Anything else escapes and fails.
  }
  return 0;
}
