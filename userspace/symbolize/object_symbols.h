// The symbols of one object file, read with elfutils' libdwfl: ELF .symtab
// and .dynsym, DWARF lines and inlined subroutines, from the file itself or
// from a separate debug file that libdwfl's standard search finds (by build
// id under the debuginfo path's /usr/lib/debug/.build-id, by .gnu_debuglink
// beside the object, in its .debug/ or under /usr/lib/debug/<dir>, and from
// a debuginfod server when DEBUGINFOD_URLS is set). Lookups are cached per
// address: one object is shared by every process that maps it.
#pragma once
#include <elfutils/libdwfl.h>

#include "common/elf_handle.h"

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace memscope {

// One function at an address, before it is placed in a process.
struct SourceFrame {
  std::string function;  // demangled
  std::string file;      // where this function is at the address; empty without debug info
  int line = 0;
  bool inlined = false;  // inlined into the frame after it
};

class ObjectSymbols {
 public:
  // `open_path`: where the file is read (a /proc/self/fd link holds it);
  // `name`: the module's name; `seen_path`: the object's path as the agent
  // sees it, whose directory is searched for its .gnu_debuglink file;
  // `debuginfo_path`: libdwfl's search path, empty for its default
  // (":.debug:/usr/lib/debug").
  ObjectSymbols(const std::string& open_path, const std::string& name, std::string seen_path,
                std::string debuginfo_path);
  ~ObjectSymbols();
  ObjectSymbols(const ObjectSymbols&) = delete;
  ObjectSymbols& operator=(const ObjectSymbols&) = delete;

  bool ok() const { return mod_ != nullptr; }
  const std::string& build_id() const { return build_id_; }  // hex, empty when the file has none

  // The functions at `pc` (a virtual address of the file, inside a call
  // instruction), innermost first: inlined ones, then the one containing
  // them. Empty when no symbol and no DWARF subprogram covers `pc`.
  const std::vector<SourceFrame>& frames_at(uint64_t pc);

 private:
  std::vector<SourceFrame> lookup(uint64_t pc);
  Dwarf_Die* unit_at(uint64_t pc, Dwarf_Addr* bias);
  static int find_elf(Dwfl_Module* mod, void** userdata, const char* modname, Dwarf_Addr base, char** file_name,
                      Elf** elfp);
  static int find_debuginfo(Dwfl_Module* mod, void** userdata, const char* modname, Dwarf_Addr base,
                            const char* file_name, const char* debuglink_file, GElf_Word debuglink_crc,
                            char** debuginfo_file_name);

  std::string open_path_;
  ElfHandle pending_elf_;  // the file, read with pread, until libdwfl takes it
  int pending_fd_ = -1;
  std::string seen_path_;
  std::string debuginfo_path_;
  char* debuginfo_path_ptr_ = nullptr;  // libdwfl reads the search path through a char**, set per search
  Dwfl_Callbacks callbacks_{};
  Dwfl* dwfl_ = nullptr;
  Dwfl_Module* mod_ = nullptr;
  bool dwarf_loaded_ = false;
  // Every compile unit's address ranges (module addresses), sorted: built on
  // the first address libdwfl's .debug_aranges lookup does not place.
  struct UnitRange {
    uint64_t lo = 0, hi = 0;
    Dwarf_Die* unit = nullptr;  // libdwfl's, alive as long as the module
    Dwarf_Addr bias = 0;
  };
  bool units_indexed_ = false;
  std::vector<UnitRange> units_;
  std::string build_id_;
  std::unordered_map<uint64_t, std::vector<SourceFrame>> cache_;
};

}  // namespace memscope
