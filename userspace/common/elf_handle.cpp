#include "common/elf_handle.h"

namespace memscope {

ElfHandle read_elf_handle(int fd) {
  elf_version(EV_CURRENT);
  return ElfHandle(elf_begin(fd, ELF_C_READ, nullptr));
}

}  // namespace memscope
