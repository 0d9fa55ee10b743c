// Symbols of ELF files a traced program brings, read with libdwfl as the
// symbolizer does (symbol tables, DWARF lines and inlined subroutines):
// ObjectSymbols must take any bytes without crashing, and the frames it gives
// at an address must be shaped as the report needs: a named outermost frame
// last, and only inlined frames before it.
//
// The addresses looked up: every function the file's symbol tables define
// (read_elf), a byte inside it, and one taken from the input's last bytes.
// No search leaves the memory file: the debug-info path is a directory that
// does not exist, and debuginfod is not asked (DEBUGINFOD_URLS unset).
#include <cstdlib>
#include <cstring>

#include "common/error.h"
#include "fuzz_file.h"
#include "symbolize/object_symbols.h"
#include "targets/elf_file.h"

using namespace memscope;

namespace {

void check(const std::vector<SourceFrame>& frames) {
  for (size_t i = 0; i < frames.size(); ++i) {
    const bool last = i + 1 == frames.size();
    if (frames[i].inlined == last) abort();
    if (last && frames[i].function.empty()) abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  unsetenv("DEBUGINFOD_URLS");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::MemoryFile file(data, size);
  std::vector<uint64_t> pcs;
  try {
    for (const ElfSymbol& f : read_elf(file.path()).functions) {
      pcs.push_back(f.value);
      if (f.size > 1) pcs.push_back(f.value + f.size / 2);
      if (pcs.size() >= 64) break;
    }
  } catch (const Error&) {
  }
  if (size >= 8) {
    uint64_t pc;
    memcpy(&pc, data + size - 8, sizeof pc);
    pcs.push_back(pc);
  }
  ObjectSymbols symbols(file.path(), "fuzz", "/nonexistent/memscope-fuzz/object", "/nonexistent/memscope-fuzz");
  for (uint64_t pc : pcs) {
    check(symbols.frames_at(pc));
    (void)symbols.frames_at(pc);  // the cached answer
  }
  (void)symbols.build_id();
  return 0;
}
