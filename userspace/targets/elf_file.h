// The parts of an ELF file the tracer needs, read with libelf: defined
// function symbols (dynamic and static tables), loadable segments to turn
// virtual addresses into file offsets for uprobes, and the dynamic section.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace memscope {

struct ElfSymbol {
  std::string name;    // without version suffix
  uint64_t value = 0;  // virtual address in the file's own address space
  uint64_t size = 0;
  bool dynamic = false;
};

struct ElfSegment {
  uint64_t vaddr = 0, offset = 0, filesz = 0, memsz = 0;
  bool executable = false;
};

struct ElfInfo {
  bool is_dyn = false;  // ET_DYN (shared object or PIE)
  std::string soname;
  std::string interp;  // PT_INTERP, empty for static executables
  std::vector<std::string> needed;
  std::vector<ElfSegment> segments;
  std::vector<ElfSymbol> functions;  // defined functions (FUNC, IFUNC)
  bool has_symtab = false;           // .symtab present (not stripped)

  // File offset of a virtual address, for uprobe attachment.
  std::optional<uint64_t> vaddr_to_offset(uint64_t vaddr) const;
  // Virtual address of a file offset, for symbolizing a mapped address.
  std::optional<uint64_t> offset_to_vaddr(uint64_t offset) const;
  // The defined function named `name`, preferring the dynamic table.
  const ElfSymbol* find_function(const std::string& name, bool dynamic_only) const;
};

// Throws Error if the file cannot be opened or is not ELF.
ElfInfo read_elf(const std::string& path);

}  // namespace memscope
