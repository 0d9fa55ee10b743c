#include "symbolize/object_symbols.h"

#include <dwarf.h>
#include <elfutils/libdw.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "common/elf_handle.h"
#include "symbolize/debuginfo_search.h"
#include "symbolize/demangle.h"
#include "symbolize/string_tables.h"

namespace memscope {
namespace {

std::string hex_bytes(const unsigned char* bytes, int n) {
  static const char kDigits[] = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < n; ++i) {
    s += kDigits[bytes[i] >> 4];
    s += kDigits[bytes[i] & 15];
  }
  return s;
}

// The linkage name, demangled, gives the qualified C++ name the symbol
// tables give; C functions have only DW_AT_name. An inlined instance keeps
// its names in its abstract origin, which dwarf_attr_integrate follows.
std::string function_name(Dwarf_Die* die) {
  Dwarf_Attribute attr;
  const char* name = nullptr;
  if (dwarf_attr_integrate(die, DW_AT_linkage_name, &attr) || dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr))
    name = dwarf_formstring(&attr);
  if (!name && dwarf_attr_integrate(die, DW_AT_name, &attr)) name = dwarf_formstring(&attr);
  return name ? demangle(name) : std::string();
}

// Where the caller of an inlined instance called it: its DW_AT_call_file
// (an index into the CU's file table) and DW_AT_call_line.
void call_site(Dwarf_Die* inlined, Dwarf_Files* files, std::string* file, int* line) {
  Dwarf_Attribute attr;
  Dwarf_Word value = 0;
  file->clear();
  *line = 0;
  if (files && dwarf_formudata(dwarf_attr(inlined, DW_AT_call_file, &attr), &value) == 0)
    if (const char* f = dwarf_filesrc(files, value, nullptr, nullptr)) *file = f;
  if (dwarf_formudata(dwarf_attr(inlined, DW_AT_call_line, &attr), &value) == 0) *line = static_cast<int>(value);
}

// The source line of the instruction at `pc` (a DWARF address of `unit`).
void line_at(Dwarf_Die* unit, uint64_t pc, std::string* file, int* line) {
  Dwarf_Line* l = unit ? dwarf_getsrc_die(unit, pc) : nullptr;
  const char* f = l ? dwarf_linesrc(l, nullptr, nullptr) : nullptr;
  if (f && dwarf_lineno(l, line) == 0) {
    *file = f;
  } else {
    *line = 0;
  }
}

// The name of the symbol that contains `pc`, or null. libdwfl falls back to
// the nearest preceding symbol, even sizeless or already ended, which would
// name code that belongs to no symbol (stripped, hand-written) after
// whatever precedes it: only a symbol whose extent holds `pc` names it.
const char* containing_symbol(Dwfl_Module* mod, uint64_t pc) {
  GElf_Off offset = 0;
  GElf_Sym sym;
  const char* name = dwfl_module_addrinfo(mod, pc, &offset, &sym, nullptr, nullptr, nullptr);
  if (!name || sym.st_size == 0 || offset >= sym.st_size) return nullptr;
  return name;
}

// The module's range: libdwfl's own for a file reported at base 0 (from the
// first loadable segment, aligned down, to the end of the last), so that
// module addresses are the file's virtual addresses. False without one.
bool load_range(Elf* elf, GElf_Addr* start, GElf_Addr* end) {
  size_t n = 0;
  if (elf_getphdrnum(elf, &n) != 0) return false;
  bool found = false;
  for (size_t i = 0; i < n; ++i) {
    GElf_Phdr ph;
    if (!gelf_getphdr(elf, static_cast<int>(i), &ph)) break;
    if (ph.p_type != PT_LOAD) continue;
    if (!found) *start = ph.p_vaddr & -ph.p_align;
    found = true;
    *end = std::max<GElf_Addr>(*end, ph.p_vaddr + ph.p_memsz);
  }
  return found && *start < *end;
}

}  // namespace

// libdwfl's dwfl_report_elf maps the file it opens (ELF_C_READ_MMAP_PRIVATE),
// and a mapping of a file that its owner truncates faults (SIGBUS) in the
// agent. A module reported by its range takes the ELF handle its find_elf
// callback gives instead: one libelf reads with pread (common/elf_handle.h).
ObjectSymbols::ObjectSymbols(const std::string& open_path, const std::string& name, std::string seen_path,
                             std::string debuginfo_path)
    : seen_path_(std::move(seen_path)), debuginfo_path_(std::move(debuginfo_path)) {
  callbacks_.find_elf = &ObjectSymbols::find_elf;
  callbacks_.find_debuginfo = &ObjectSymbols::find_debuginfo;
  callbacks_.section_address = dwfl_offline_section_address;
  callbacks_.debuginfo_path = &debuginfo_path_ptr_;
  open_path_ = open_path;
  pending_fd_ = open(open_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (pending_fd_ < 0) return;
  pending_elf_ = read_elf_handle(pending_fd_);
  GElf_Addr start = 0, end = 0;
  if (!pending_elf_ || elf_kind(pending_elf_.get()) != ELF_K_ELF || !load_range(pending_elf_.get(), &start, &end))
    return;
  // A corrupt object gets no names at all, rather than names read past
  // the end of a table.
  if (!string_tables_terminated(pending_elf_.get())) return;
  dwfl_ = dwfl_begin(&callbacks_);
  if (!dwfl_) return;
  dwfl_report_begin(dwfl_);
  mod_ = dwfl_report_module(dwfl_, name.c_str(), start, end);
  dwfl_report_end(dwfl_, nullptr, nullptr);
  if (!mod_) return;
  // The callbacks need this object (its handle, the path it is mapped
  // from): the module's user data carries it there.
  void** userdata = nullptr;
  dwfl_module_info(mod_, &userdata, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr);
  if (userdata) *userdata = this;
  Dwarf_Addr bias = 0;
  if (!dwfl_module_getelf(mod_, &bias)) {
    mod_ = nullptr;
    return;
  }
  const unsigned char* bits = nullptr;
  GElf_Addr vaddr = 0;
  const int n = dwfl_module_build_id(mod_, &bits, &vaddr);
  if (n > 0) build_id_ = hex_bytes(bits, n);
}

ObjectSymbols::~ObjectSymbols() {
  if (dwfl_) dwfl_end(dwfl_);
  pending_elf_.reset();  // not handed to libdwfl
  if (pending_fd_ >= 0) close(pending_fd_);
}

// The handle and its descriptor, once: libdwfl owns them from here (it ends
// and closes them with the module).
int ObjectSymbols::find_elf(Dwfl_Module*, void** userdata, const char*, Dwarf_Addr, char** file_name, Elf** elfp) {
  auto* self = userdata ? static_cast<ObjectSymbols*>(*userdata) : nullptr;
  if (!self || !self->pending_elf_) return -1;
  *elfp = self->pending_elf_.release();
  *file_name = strdup(self->open_path_.c_str());
  return std::exchange(self->pending_fd_, -1);
}

// The object is read through /proc/self/fd, whose directory says nothing of
// where its debuglink file lies: search beside the path it is mapped from.
int ObjectSymbols::find_debuginfo(Dwfl_Module* mod, void** userdata, const char* modname, Dwarf_Addr base,
                                  const char* file_name, const char* debuglink_file, GElf_Word debuglink_crc,
                                  char** debuginfo_file_name) {
  auto* self = userdata ? static_cast<ObjectSymbols*>(*userdata) : nullptr;
  if (!self) return -1;
  const char* path = !self->seen_path_.empty() ? self->seen_path_.c_str() : file_name;
  // libdwfl maps the debug file it finds: only where no one but root can
  // change it (debuginfo_search.h). It reads the path through the pointer
  // the callbacks hold, during this call.
  std::string trusted = trusted_debuginfo_path(self->debuginfo_path_, path ? path : "", debuglink_file);
  self->debuginfo_path_ptr_ = trusted.data();
  const int fd = dwfl_standard_find_debuginfo(mod, userdata, modname, base, path, debuglink_file, debuglink_crc,
                                              debuginfo_file_name);
  self->debuginfo_path_ptr_ = nullptr;
  return fd;
}

const std::vector<SourceFrame>& ObjectSymbols::frames_at(uint64_t pc) {
  auto it = cache_.find(pc);
  if (it == cache_.end()) it = cache_.emplace(pc, lookup(pc)).first;
  return it->second;
}

// The compile unit whose code holds `pc`. libdwfl finds it through
// .debug_aranges, which clang (14, and later by default) does not emit, and
// elfutils 0.188 does not look further: objects built by clang would get no
// file, line or inlined frame. Then every unit's own ranges are searched.
Dwarf_Die* ObjectSymbols::unit_at(uint64_t pc, Dwarf_Addr* bias) {
  if (Dwarf_Die* unit = dwfl_module_addrdie(mod_, pc, bias)) return unit;
  if (!units_indexed_) {
    units_indexed_ = true;
    Dwarf_Addr b = 0;
    for (Dwarf_Die* unit = nullptr; (unit = dwfl_module_nextcu(mod_, unit, &b)) != nullptr;) {
      Dwarf_Addr base = 0, lo = 0, hi = 0;
      for (ptrdiff_t at = 0; (at = dwarf_ranges(unit, at, &base, &lo, &hi)) > 0;)
        if (lo < hi) units_.push_back({lo + b, hi + b, unit, b});
    }
    std::sort(units_.begin(), units_.end(), [](const UnitRange& a, const UnitRange& c) { return a.lo < c.lo; });
  }
  auto it = std::upper_bound(units_.begin(), units_.end(), pc, [](uint64_t a, const UnitRange& r) { return a < r.lo; });
  if (it == units_.begin() || pc >= std::prev(it)->hi) return nullptr;
  *bias = std::prev(it)->bias;
  return std::prev(it)->unit;
}

std::vector<SourceFrame> ObjectSymbols::lookup(uint64_t pc) {
  std::vector<SourceFrame> frames;
  if (!mod_) return frames;
  Dwarf_Addr bias = 0;
  if (!dwarf_loaded_) {
    dwfl_module_getdwarf(mod_, &bias);  // finds the debug info, once
    dwarf_loaded_ = true;
  }
  Dwarf_Die* cu = unit_at(pc, &bias);
  std::string file;
  int line = 0;
  line_at(cu, pc - bias, &file, &line);

  // The scopes around `pc`, innermost first: each inlined subroutine is a
  // frame at the current location, and its call site is the location in
  // the frame that follows; the first subprogram contains them all.
  std::string subprogram;
  if (cu) {
    Dwarf_Die* scopes = nullptr;
    const int found = dwarf_getscopes(cu, pc - bias, &scopes);
    Dwarf_Die innermost;
    // dwarf_getscopes continues an inlined instance into its abstract
    // origin; the chain of callers is the innermost DIE's own parents.
    const bool chained = found > 0 && dwarf_offdie(dwfl_module_getdwarf(mod_, &bias), dwarf_dieoffset(&scopes[0]),
                                                   &innermost) != nullptr;
    free(scopes);
    scopes = nullptr;
    const int n = chained ? dwarf_getscopes_die(&innermost, &scopes) : 0;
    Dwarf_Files* files = nullptr;
    if (n > 0 && dwarf_getsrcfiles(cu, &files, nullptr) != 0) files = nullptr;
    for (int i = 0; i < n; ++i) {
      const int tag = dwarf_tag(&scopes[i]);
      if (tag == DW_TAG_inlined_subroutine) {
        frames.push_back({function_name(&scopes[i]), file, line, true});
        call_site(&scopes[i], files, &file, &line);
      } else if (tag == DW_TAG_subprogram) {
        subprogram = function_name(&scopes[i]);
        break;
      }
    }
    free(scopes);
  }

  // The symbol table names the containing function as the linker knows it
  // (foo.cold, foo.part.0); DWARF names it where the tables do not.
  const char* symbol = containing_symbol(mod_, pc);
  std::string function = symbol ? demangle(symbol) : subprogram;
  if (function.empty()) {
    // Neither table covers `pc`: whatever the line table says belongs to
    // code that precedes it, not to this.
    frames.clear();
    return frames;
  }
  frames.push_back({std::move(function), file, line, false});
  return frames;
}

}  // namespace memscope
