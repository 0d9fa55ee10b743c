#include "targets/entry_calls.h"

#include <capstone/capstone.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>

#include <map>
#include <vector>

#include "common/elf_handle.h"
#include "targets/api_names.h"

namespace memscope {
namespace {

struct Section {
  uint64_t addr = 0;
  std::vector<uint8_t> bytes;
  bool contains(uint64_t a) const { return a >= addr && a < addr + bytes.size(); }
};

struct ObjectCode {
  std::vector<Section> text;                // executable sections, PLT ones included
  std::vector<Section> plt;                 // .plt, .plt.sec, .plt.got
  std::map<uint64_t, std::string> got;      // GOT slot -> symbol its relocation names
  std::map<std::string, uint64_t> defined;  // global function symbols -> address
  std::map<std::string, uint64_t> sizes;
};

ObjectCode read_code(const std::string& path) {
  ObjectCode out;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  ElfHandle handle = read_elf_handle(fd);
  Elf* elf = handle.get();
  size_t shstrndx = 0;
  if (!elf || elf_getshdrstrndx(elf, &shstrndx) != 0) {
    handle.reset();
    close(fd);
    return out;
  }
  std::vector<std::string> dynsym_names;
  Elf_Scn* scn = nullptr;
  // Pass 1: symbols, so relocations can be named; the symbol table too
  // (sizes and aliases of a static executable's allocator).
  while ((scn = elf_nextscn(elf, scn)) != nullptr) {
    GElf_Shdr sh;
    if (!gelf_getshdr(scn, &sh) || (sh.sh_type != SHT_DYNSYM && sh.sh_type != SHT_SYMTAB) || !sh.sh_entsize) continue;
    const bool dynamic = sh.sh_type == SHT_DYNSYM;
    Elf_Data* d = elf_getdata(scn, nullptr);
    for (size_t i = 0; d && i < sh.sh_size / sh.sh_entsize; ++i) {
      GElf_Sym sym;
      // The count is the header's, which may lie: stop at the first entry
      // libelf cannot give (past the section's data).
      if (!gelf_getsym(d, static_cast<int>(i), &sym)) break;
      const char* n = elf_strptr(elf, sh.sh_link, sym.st_name);
      std::string name = n ? n : "";
      if (auto at = name.find('@'); at != std::string::npos) name.resize(at);
      if (dynamic) dynsym_names.push_back(name);
      else if (GELF_ST_BIND(sym.st_info) == STB_LOCAL) continue;  // a file's own helper, not an entry point
      if (sym.st_shndx != SHN_UNDEF && GELF_ST_TYPE(sym.st_info) == STT_FUNC && !name.empty()) {
        out.defined[name] = sym.st_value;
        out.sizes[name] = sym.st_size;
      }
    }
  }
  // Pass 2: code sections and PLT relocations.
  scn = nullptr;
  while ((scn = elf_nextscn(elf, scn)) != nullptr) {
    GElf_Shdr sh;
    if (!gelf_getshdr(scn, &sh)) continue;
    const char* n = elf_strptr(elf, shstrndx, sh.sh_name);
    const std::string name = n ? n : "";
    if (sh.sh_type == SHT_PROGBITS && (sh.sh_flags & SHF_EXECINSTR)) {
      Elf_Data* d = elf_getdata(scn, nullptr);
      if (!d || !d->d_buf) continue;
      Section s;
      s.addr = sh.sh_addr;
      const auto* b = static_cast<const uint8_t*>(d->d_buf);
      s.bytes.assign(b, b + d->d_size);
      if (name.rfind(".plt", 0) == 0) out.plt.push_back(s);
      out.text.push_back(std::move(s));
    } else if (sh.sh_type == SHT_RELA && sh.sh_entsize) {
      Elf_Data* d = elf_getdata(scn, nullptr);
      for (size_t i = 0; d && i < sh.sh_size / sh.sh_entsize; ++i) {
        GElf_Rela r;
        if (!gelf_getrela(d, static_cast<int>(i), &r)) break;  // as for symbols
        const size_t sym = GELF_R_SYM(r.r_info);
        if (sym && sym < dynsym_names.size()) out.got[r.r_offset] = dynsym_names[sym];
      }
    }
  }
  handle.reset();
  close(fd);
  return out;
}

const Section* section_of(const std::vector<Section>& secs, uint64_t addr) {
  for (const auto& s : secs)
    if (s.contains(addr)) return &s;
  return nullptr;
}

// The symbol a PLT stub at `stub` jumps to: its `jmp [rip + disp]` reads a
// GOT slot whose relocation names the symbol.
std::string plt_target(csh cs, const ObjectCode& code, const Section& sec, uint64_t stub) {
  const uint8_t* p = sec.bytes.data() + (stub - sec.addr);
  size_t left = sec.bytes.size() - (stub - sec.addr);
  uint64_t addr = stub;
  cs_insn* insn = cs_malloc(cs);
  std::string out;
  for (int i = 0; i < 3 && cs_disasm_iter(cs, &p, &left, &addr, insn); ++i) {
    if (insn->id != X86_INS_JMP) continue;
    const cs_x86& x = insn->detail->x86;
    if (x.op_count == 1 && x.operands[0].type == X86_OP_MEM && x.operands[0].mem.base == X86_REG_RIP) {
      const uint64_t slot = insn->address + insn->size + x.operands[0].mem.disp;
      if (auto it = code.got.find(slot); it != code.got.end()) out = it->second;
    }
    break;
  }
  cs_free(insn, 1);
  return out;
}

}  // namespace

namespace {

// One object: its sites that can reach another entry point of the same
// object directly or through its PLT (calls to another object go through
// the PLT by name, so names cover them too).
void analyse(const std::string& open_path, const std::vector<const ProbeSite*>& sites,
             const std::set<std::string>& all_names, std::set<unsigned>& out) {
  const ObjectCode code = read_code(open_path);
  if (code.text.empty()) return;
  csh cs;
  if (cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK) return;
  cs_option(cs, CS_OPT_DETAIL, CS_OPT_ON);

  // Every address and name under which an entry point can be reached.
  std::map<uint64_t, unsigned> entry_at;
  std::set<std::string> entry_names = all_names;
  for (const ProbeSite* site : sites) entry_at[site->vaddr] = site->api;
  for (const auto& [name, addr] : code.defined)
    if (entry_at.count(addr)) entry_names.insert(name);  // aliases such as tc_memalign

  for (const ProbeSite* site : sites) {
    auto size_it = code.sizes.find(site->symbol);
    const uint64_t size = size_it != code.sizes.end() && size_it->second ? size_it->second : 256;
    const Section* sec = section_of(code.text, site->vaddr);
    if (!sec) continue;
    const uint8_t* p = sec->bytes.data() + (site->vaddr - sec->addr);
    size_t left = std::min<uint64_t>(size, sec->bytes.size() - (site->vaddr - sec->addr));
    uint64_t addr = site->vaddr;
    cs_insn* insn = cs_malloc(cs);
    bool enters = false;
    while (!enters && cs_disasm_iter(cs, &p, &left, &addr, insn)) {
      if (insn->id != X86_INS_CALL && insn->id != X86_INS_JMP) continue;
      const cs_x86& x = insn->detail->x86;
      if (x.op_count != 1 || x.operands[0].type != X86_OP_IMM) continue;
      const uint64_t to = static_cast<uint64_t>(x.operands[0].imm);
      // Another probed address, even of the same entry point (libstdc++'s
      // nothrow operator new calls the plain one).
      if (entry_at.count(to) && to != site->vaddr) enters = true;
      if (const Section* plt = section_of(code.plt, to)) {
        const std::string sym = plt_target(cs, code, *plt, to);
        if (!sym.empty() && entry_names.count(sym) && sym != site->symbol) enters = true;
      }
    }
    cs_free(insn, 1);
    if (enters) out.insert(site->api);
  }
  cs_close(&cs);
}

}  // namespace

std::set<unsigned> apis_entering_others(const AllocatorTarget& target, const std::set<std::string>& also) {
  std::set<unsigned> out;
  std::map<std::string, std::vector<const ProbeSite*>> by_object;
  std::set<std::string> names = also;
  for (const auto& site : target.sites) {
    by_object[site.open_path.empty() ? target.open_path : site.open_path].push_back(&site);
    names.insert(site.symbol);
  }
  for (const auto& [path, sites] : by_object) analyse(path, sites, names, out);
  return out;
}

}  // namespace memscope
