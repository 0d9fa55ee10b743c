// libelf handles on the files the traced programs bring (their executables
// and libraries). libelf reads them with pread, never through a mapping: a
// mapping of a file that its owner truncates while we read it faults
// (SIGBUS) in the agent, which runs as root beside production services. The
// cost, measured against mmap and against a sealed in-memory copy: docs/safety.md.
#pragma once
#include <libelf.h>

#include <memory>

namespace memscope {

struct ElfEnd {
  void operator()(Elf* e) const { elf_end(e); }
};
using ElfHandle = std::unique_ptr<Elf, ElfEnd>;

// `fd` read by libelf (ELF_C_READ): headers now, each section's data when it
// is first asked for. Reads past a shrunk end fail (null data, a libelf
// error) instead of faulting. `fd` must stay open as long as the handle.
// Null when libelf cannot begin (any file kind is given, as elf_begin does).
ElfHandle read_elf_handle(int fd);

}  // namespace memscope
