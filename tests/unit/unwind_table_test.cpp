#include <catch2/catch.hpp>

#include <dlfcn.h>
#include <dwarf.h>

#include <algorithm>

#include "unwind/cfa_rule.h"
#include "unwind/unwind_table.h"

using namespace memscope;

namespace {

// Built with frame pointers (the unit tests are): push %rbp; mov %rsp,%rbp.
// Under clang's UBSan (the sanitizer build) functions start with a jump over
// -fsanitize=function's type signature instead: not for this one.
#ifdef __clang__
#define FRAMED_AS_BUILT __attribute__((no_sanitize("function")))
#else
#define FRAMED_AS_BUILT
#endif
__attribute__((noinline)) FRAMED_AS_BUILT int framed_function(int x) {
  volatile int v = x;
  asm volatile("" ::: "memory");
  return v + 1;
}

std::string object_of(const void* addr, uint64_t& vaddr) {
  Dl_info info{};
  REQUIRE(dladdr(addr, &info));
  vaddr = reinterpret_cast<uint64_t>(addr) - reinterpret_cast<uint64_t>(info.dli_fbase);
  return info.dli_fname;
}

}  // namespace

TEST_CASE("CFA rules: rsp and rbp offsets, the PLT expression, anything else unknown") {
  ms_unwind_row row{};
  Dwarf_Op rsp8[] = {{DW_OP_breg7, 8, 0, 0}};
  set_cfa_rule(row, rsp8, 1);
  CHECK(row.cfa_kind == MS_CFA_RSP);
  CHECK(row.cfa_off8 == 1);
  Dwarf_Op rbp16[] = {{DW_OP_bregx, 6, 16, 0}};  // how libdw writes DW_CFA_def_cfa
  set_cfa_rule(row, rbp16, 1);
  CHECK(row.cfa_kind == MS_CFA_RBP);
  CHECK(row.cfa_off8 == 2);
  Dwarf_Op plt[] = {{DW_OP_breg7, 8, 0, 0}, {DW_OP_breg16, 0, 0, 0}, {DW_OP_lit15, 0, 0, 0},
                    {DW_OP_and, 0, 0, 0},   {DW_OP_lit11, 0, 0, 0},  {DW_OP_ge, 0, 0, 0},
                    {DW_OP_lit3, 0, 0, 0},  {DW_OP_shl, 0, 0, 0},    {DW_OP_plus, 0, 0, 0}};
  set_cfa_rule(row, plt, 9);
  CHECK(row.cfa_kind == MS_CFA_PLT);
  CHECK(row.cfa_off8 == 1);
  CHECK(row.rbp == 11);
  plt[2].atom = DW_OP_lit7;  // another mask: not the PLT
  set_cfa_rule(row, plt, 9);
  CHECK(row.cfa_kind == MS_CFA_UNKNOWN);
  Dwarf_Op deref[] = {{DW_OP_breg6, 0, 0, 0}, {DW_OP_deref, 0, 0, 0}};
  set_cfa_rule(row, deref, 2);
  CHECK(row.cfa_kind == MS_CFA_UNKNOWN);
  Dwarf_Op rbx[] = {{DW_OP_breg3, 8, 0, 0}};
  set_cfa_rule(row, rbx, 1);
  CHECK(row.cfa_kind == MS_CFA_UNKNOWN);
}

TEST_CASE("rbp rules: same value, saved below the CFA, lost") {
  ms_unwind_row row{};
  set_rbp_rule(row, nullptr, 0);
  CHECK(row.rbp == MS_RBP_SAME);
  Dwarf_Op saved[] = {{DW_OP_call_frame_cfa, 0, 0, 0}, {DW_OP_plus_uconst, static_cast<Dwarf_Word>(-16), 0, 0}};
  set_rbp_rule(row, saved, 2);
  CHECK(row.rbp == -2);
  Dwarf_Op mem[3];
  set_rbp_rule(row, mem, 0);  // undefined
  CHECK(row.rbp == MS_RBP_LOST);
  Dwarf_Op value[] = {{DW_OP_call_frame_cfa, 0, 0, 0}, {DW_OP_plus_uconst, 8, 0, 0}, {DW_OP_stack_value, 0, 0, 0}};
  set_rbp_rule(row, value, 3);
  CHECK(row.rbp == MS_RBP_LOST);
  CHECK(return_address_rule(saved, 1, mem) == ReturnAddress::Other);
  Dwarf_Op ra[] = {{DW_OP_call_frame_cfa, 0, 0, 0}, {DW_OP_plus_uconst, static_cast<Dwarf_Word>(-8), 0, 0}};
  CHECK(return_address_rule(ra, 2, mem) == ReturnAddress::AtCfaMinus8);
  CHECK(return_address_rule(mem, 0, mem) == ReturnAddress::Undefined);
}

TEST_CASE("a framed function's rows: rsp+8 at entry, rbp saved after the push, rbp-based after the mov") {
  uint64_t vaddr = 0;
  const std::string path = object_of(reinterpret_cast<const void*>(&framed_function), vaddr);
  UnwindTable t = build_unwind_table(path);
  CHECK(t.source == ".eh_frame");
  REQUIRE(t.rows.size() > 3);
  CHECK(std::is_sorted(t.rows.begin(), t.rows.end(),
                       [](const ms_unwind_row& a, const ms_unwind_row& b) { return a.start < b.start; }));
  CHECK(t.rows.back().cfa_kind == MS_CFA_NONE);
  // Consecutive rows never say the same thing.
  for (size_t i = 1; i < t.rows.size(); ++i) CHECK(t.rows[i].start > t.rows[i - 1].start);

  const ms_unwind_row* entry = find_row(t.rows, vaddr);
  REQUIRE(entry);
  CHECK(entry->start == vaddr);
  CHECK(entry->cfa_kind == MS_CFA_RSP);
  CHECK(entry->cfa_off8 == 1);
  CHECK(entry->rbp == MS_RBP_SAME);
  const ms_unwind_row* pushed = find_row(t.rows, vaddr + 1);  // after push %rbp (1 byte)
  REQUIRE(pushed);
  CHECK(pushed->cfa_kind == MS_CFA_RSP);
  CHECK(pushed->cfa_off8 == 2);
  CHECK(pushed->rbp == -2);
  const ms_unwind_row* body = find_row(t.rows, vaddr + 4);  // after mov %rsp,%rbp (3 bytes)
  REQUIRE(body);
  CHECK(body->cfa_kind == MS_CFA_RBP);
  CHECK(body->cfa_off8 == 2);
  CHECK(body->rbp == -2);
}

TEST_CASE("libc's table: its PLT and its thread start, and no CFI below its first FDE") {
  uint64_t vaddr = 0;
  const std::string libc = object_of(dlsym(RTLD_DEFAULT, "malloc"), vaddr);
  UnwindTable t = build_unwind_table(libc);
  CHECK(t.source == ".eh_frame");
  REQUIRE(t.fdes > 1000);
  const ms_unwind_row* m = find_row(t.rows, vaddr);
  REQUIRE(m);
  CHECK(m->cfa_kind == MS_CFA_RSP);
  CHECK(m->cfa_off8 == 1);
  CHECK(find_row(t.rows, t.rows.front().start - 1) == nullptr);
  auto has = [&](uint8_t kind) {
    return std::any_of(t.rows.begin(), t.rows.end(), [&](const ms_unwind_row& r) { return r.cfa_kind == kind; });
  };
  CHECK(has(MS_CFA_PLT));  // glibc's .plt has the binutils expression
  CHECK(has(MS_CFA_END));  // clone3's child marks the outermost frame
  CHECK(has(MS_CFA_NONE));
}

TEST_CASE("a file that is not ELF is refused, and a table build never returns rows out of order") {
  CHECK_THROWS(build_unwind_table(std::string("/proc/self/status")));
  CHECK_THROWS(build_unwind_table(std::string("/nonexistent/file")));
}
