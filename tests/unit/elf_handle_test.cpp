// Files the traced programs bring, truncated by their owner while the agent
// reads them: reads fail, nothing faults (a mapping of the file would raise
// SIGBUS and end the test binary, as it ended the agent).
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <gelf.h>
#include <unistd.h>

#include <filesystem>
#include <vector>

#include "common/elf_handle.h"
#include "symbolize/object_symbols.h"
#include "symfix.h"
#include "targets/elf_file.h"

using namespace memscope;
using namespace memscope::test;

TEST_CASE("an ELF file truncated after it is opened gives read errors, not a fault") {
  TempDir dir;
  const std::string path = dir.path + "/libc.so.6";
  std::filesystem::copy_file("/lib/x86_64-linux-gnu/libc.so.6", path);
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  ElfHandle elf = read_elf_handle(fd);
  REQUIRE(elf);
  REQUIRE(elf_kind(elf.get()) == ELF_K_ELF);
  // The section headers are read, as every reader does first; then the
  // file loses all but its first page.
  std::vector<Elf_Scn*> sections;
  for (Elf_Scn* scn = elf_nextscn(elf.get(), nullptr); scn; scn = elf_nextscn(elf.get(), scn)) {
    GElf_Shdr shdr;
    if (gelf_getshdr(scn, &shdr) && shdr.sh_type != SHT_NOBITS) sections.push_back(scn);
  }
  REQUIRE(sections.size() > 20);
  REQUIRE(truncate(path.c_str(), 4096) == 0);

  size_t read = 0;
  for (Elf_Scn* scn : sections) {
    Elf_Data* data = elf_getdata(scn, nullptr);
    if (!data || !data->d_buf) continue;
    // Every byte libelf hands out is readable.
    const auto* p = static_cast<const volatile unsigned char*>(data->d_buf);
    unsigned sum = 0;
    for (size_t i = 0; i < data->d_size; ++i) sum += p[i];
    (void)sum;
    ++read;
  }
  CHECK(read < sections.size());  // those past 4 KiB are gone
  elf.reset();
  close(fd);
}

TEST_CASE("the symbolizer's object truncated after it is opened gives no frames, not a fault") {
  TempDir dir;
  const std::string path = dir.path + "/libfix.so";
  std::filesystem::copy_file(SYMFIX_LIB, path);
  const ElfSymbol* outer = nullptr;
  const ElfInfo info = read_elf(path);
  for (const ElfSymbol& f : info.functions)
    if (f.name == "fixture_outer") outer = &f;
  REQUIRE(outer);
  TempDir no_debug;
  ObjectSymbols symbols(path, "libfix.so", path, no_debug.path);
  REQUIRE(symbols.ok());
  // Its DWARF and symbol tables are read at the first lookup, after this.
  REQUIRE(truncate(path.c_str(), 0) == 0);
  const auto& frames = symbols.frames_at(outer->value + 1);
  for (const SourceFrame& f : frames) CHECK(f.line == 0);  // no line table could be read
}
