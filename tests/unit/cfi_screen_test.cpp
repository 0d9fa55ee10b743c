// unsafe_fde_ranges on hand-built .eh_frame and .debug_frame bytes: the
// ranges of FDEs whose CFI (or their CIE's) fails the screen, and nothing
// when the table points outside the chain (cfi_screen.h); then the fuzzer's
// input through build_unwind_table.
#include <catch2/catch.hpp>

#include <dwarf.h>
#include <elf.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "unwind/cfi_screen.h"
#include "unwind/unwind_table.h"

using namespace memscope;

namespace {

using Bytes = std::vector<uint8_t>;

const Bytes kCieProgram = {DW_CFA_def_cfa, 7, 8, DW_CFA_offset | 16, 1};
const Bytes kFdeProgram = {DW_CFA_advance_loc | 1, DW_CFA_def_cfa_offset, 16, DW_CFA_offset | 6, 2};
const Bytes kBadRegister = {DW_CFA_advance_loc | 1, DW_CFA_same_value, 0xce, 0xb0, 0xf5, 0x78};

// A CFI section as a linker writes it (little-endian, 64-bit): entries, each
// a 4-byte length and its body.
class Section {
 public:
  Section(bool eh_frame, uint64_t vaddr) : eh_(eh_frame), vaddr_(vaddr) {
    ident_[EI_CLASS] = ELFCLASS64;
    ident_[EI_DATA] = ELFDATA2LSB;
  }

  // .eh_frame's CIE has augmentation "zR", FDE addresses pcrel sdata4, as
  // GCC writes; .debug_frame's "", plain 8-byte addresses.
  // `augmentation` replaces "zR" (its data stays R's byte).
  uint64_t cie(const Bytes& program, const std::string& augmentation = "zR") {
    const uint64_t at = begin();
    put(eh_ ? 0 : 0xffffffffu, 4);
    bytes_.push_back(1);  // version
    for (char c : eh_ ? augmentation : std::string()) bytes_.push_back(static_cast<uint8_t>(c));
    bytes_.insert(bytes_.end(), {0, 1, 0x78, 16});  // the string's NUL, code and data alignment, return address
    if (eh_) bytes_.insert(bytes_.end(), {1, DW_EH_PE_pcrel | DW_EH_PE_sdata4});
    return end(at, program);
  }
  uint64_t fde(uint64_t cie, uint64_t start, uint64_t length, const Bytes& program) {
    const uint64_t at = begin();
    put(eh_ ? bytes_.size() - cie : cie, 4);  // .eh_frame: back from this field
    if (eh_) {
      put(start - (vaddr_ + bytes_.size()), 4);
      put(length, 4);
      bytes_.push_back(0);  // augmentation size
    } else {
      put(start, 8);
      put(length, 8);
    }
    return end(at, program);
  }
  std::optional<std::vector<AddressRange>> screen(const std::vector<uint64_t>& table = {},
                                                  CfiScreenStats* stats = nullptr) {
    data_.d_buf = bytes_.data();
    data_.d_size = bytes_.size();
    return unsafe_fde_ranges({ident_, &data_, eh_, eh_ ? vaddr_ : 0}, table, stats);
  }
  Bytes& bytes() { return bytes_; }

 private:
  uint64_t begin() {
    put(0, 4);  // the length, filled in by end()
    return bytes_.size() - 4;
  }
  uint64_t end(uint64_t at, const Bytes& program) {
    bytes_.insert(bytes_.end(), program.begin(), program.end());
    while (bytes_.size() % 8 != 0) bytes_.push_back(DW_CFA_nop);
    const uint32_t length = static_cast<uint32_t>(bytes_.size() - at - 4);
    memcpy(&bytes_[at], &length, 4);
    return at;
  }
  void put(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) bytes_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }

  bool eh_;
  uint64_t vaddr_;
  unsigned char ident_[EI_NIDENT] = {};
  Bytes bytes_;
  Elf_Data data_{};
};

}  // namespace

TEST_CASE("CFI screen: an FDE naming a register above the bound is unsafe over its range, the others not") {
  Section s(true, 0x2000);
  const uint64_t cie = s.cie(kCieProgram);
  const uint64_t good = s.fde(cie, 0x1000, 0x10, kFdeProgram);
  const uint64_t bad = s.fde(cie, 0x1010, 0x20, kBadRegister);
  const uint64_t next = s.fde(cie, 0x1030, 0x10, kFdeProgram);
  const auto unsafe = s.screen({good, bad, next});
  REQUIRE(unsafe);
  REQUIRE(unsafe->size() == 1);
  CHECK((*unsafe)[0].start == 0x1010);
  CHECK((*unsafe)[0].end == 0x1030);
  CHECK(!in_ranges(*unsafe, 0x100f));
  CHECK(in_ranges(*unsafe, 0x1010));
  CHECK(in_ranges(*unsafe, 0x102f));
  CHECK(!in_ranges(*unsafe, 0x1030));
  // libdw reads an FDE only where the table points or on the chain: a table
  // pointing anywhere else leaves nothing safe to ask about.
  CHECK(!s.screen({good, bad + 4}));
}

TEST_CASE("CFI screen: a CIE that fails makes every FDE of it unsafe; FDEs libdw refuses are not listed") {
  Section s(true, 0x2000);
  const uint64_t cie = s.cie(kCieProgram);
  const uint64_t bad_cie = s.cie({DW_CFA_def_cfa, 7, 8, DW_CFA_undefined, 0x80, 0x80, 0x80, 0x01});
  s.fde(cie, 0x1000, 0x10, kFdeProgram);
  s.fde(bad_cie, 0x1010, 0x10, kFdeProgram);
  s.fde(bad_cie, 0x1020, 0x10, kFdeProgram);
  s.fde(cie, 0x1030, 0, kBadRegister);  // covers nothing: libdw never runs it
  const auto unsafe = s.screen();
  REQUIRE(unsafe);
  REQUIRE(unsafe->size() == 1);  // the two, merged
  CHECK((*unsafe)[0].start == 0x1010);
  CHECK((*unsafe)[0].end == 0x1030);
}

TEST_CASE("CFI screen: .debug_frame's format, and an operand past its FDE's end") {
  Section s(false, 0);
  const uint64_t cie = s.cie(kCieProgram);
  s.fde(cie, 0x401000, 0x40, kFdeProgram);
  s.fde(cie, 0x401040, 0x40, {DW_CFA_advance_loc | 4, DW_CFA_def_cfa_expression, 0x7f, DW_OP_breg7});
  const auto unsafe = s.screen();
  REQUIRE(unsafe);
  REQUIRE(unsafe->size() == 1);
  CHECK((*unsafe)[0].start == 0x401040);
  CHECK((*unsafe)[0].end == 0x401080);
}

TEST_CASE("CFI screen: a compiler's .eh_frame has nothing unsafe; garbage has no chain") {
  Section s(true, 0x2000);
  const uint64_t cie = s.cie(kCieProgram);
  std::vector<uint64_t> table;
  for (uint64_t f = 0; f < 100; ++f) table.push_back(s.fde(cie, 0x1000 + 0x10 * f, 0x10, kFdeProgram));
  const auto unsafe = s.screen(table);
  REQUIRE(unsafe);
  CHECK(unsafe->empty());
  std::fill(s.bytes().begin(), s.bytes().end(), 0xa5);  // what the e2e test writes over a library's
  CHECK(!s.screen(table));
  const auto no_table = s.screen();
  REQUIRE(no_table);
  CHECK(no_table->empty());
}

TEST_CASE("CFI screen: a CIE shared by 10k FDEs is read once; an augmentation string past 16 letters is refused") {
  // Unknown letters after "zR" are skipped (sized): libdw reads the FDEs.
  Section s(true, 0x2000);
  const uint64_t cie = s.cie(kCieProgram, "zR" + std::string(14, 'x'));
  for (uint64_t f = 0; f < 10000; ++f) s.fde(cie, 0x1000 + 0x10 * f, 0x10, f == 5000 ? kBadRegister : kFdeProgram);
  CfiScreenStats stats;
  const auto unsafe = s.screen({}, &stats);
  CHECK(stats.cies_read == 1);
  REQUIRE(unsafe);
  REQUIRE(unsafe->size() == 1);
  CHECK((*unsafe)[0].start == 0x1000 + 0x10 * 5000);

  // Re-read per FDE, one of 100k letters took seconds for 10k FDEs.
  for (size_t letters : {size_t{17}, size_t{100000}}) {
    Section l(true, 0x2000);
    const uint64_t long_cie = l.cie(kCieProgram, "zR" + std::string(letters - 2, 'x'));
    for (uint64_t f = 0; f < 10000; ++f) l.fde(long_cie, 0x1000 + 0x10 * f, 0x10, kFdeProgram);
    CfiScreenStats long_stats;
    CHECK(!l.screen({}, &long_stats));
    CHECK(long_stats.cies_read == 0);  // refused on the chain, before libdw reads it
  }
}

namespace {

// A 'z' CIE (version 1) whose augmentation data is empty, and nothing after.
Bytes cie_with_letters(const std::string& augmentation) {
  Bytes cie = {0, 0, 0, 0, 0, 0, 0, 0, 1};  // length, id 0 (.eh_frame), version
  for (char c : augmentation) cie.push_back(static_cast<uint8_t>(c));
  cie.insert(cie.end(), {0, 1, 0x78, 16, 0});  // NUL, alignments, return address, no augmentation data
  const uint32_t length = static_cast<uint32_t>(cie.size() - 4);
  memcpy(cie.data(), &length, 4);
  return cie;
}

}  // namespace

TEST_CASE("CFI screen: a CIE whose augmentation letters would make libdw read past the section is refused") {
  // libdw's dwarf_next_cfi reads a byte per L, R or P unchecked: "zLLL..."
  // ending the section made it read past it (SIGSEGV on a guard page).
  Section s(true, 0x2000);
  const uint64_t cie = s.cie(kCieProgram);
  s.fde(cie, 0x1000, 0x10, kFdeProgram);
  const Bytes at_end = cie_with_letters("z" + std::string(15, 'L'));
  s.bytes().insert(s.bytes().end(), at_end.begin(), at_end.end());
  CfiScreenStats stats;
  CHECK(!s.screen({}, &stats));
  CHECK(stats.cies_read == 0);  // refused while walking the chain

  // The same letters with their 15 bytes still in the section (the chain's
  // terminator after the CIE): read.
  Section t(true, 0x2000);
  t.fde(t.cie(kCieProgram), 0x1000, 0x10, kFdeProgram);
  const Bytes inside = cie_with_letters("z" + std::string(15, 'L'));
  t.bytes().insert(t.bytes().end(), inside.begin(), inside.end());
  t.bytes().resize(t.bytes().size() + 15, 0);
  const auto read = t.screen();
  REQUIRE(read);
  CHECK(read->empty());
}

TEST_CASE("CFI screen: a 64-bit .debug_frame FDE whose CIE pointer wraps libdw's bounds check is refused") {
  // libdw checks `off + 4 >= d_size`: 2^64 - 4 wraps it to 0 and it read 4
  // bytes before the section.
  Section s(false, 0);
  s.fde(s.cie(kCieProgram), 0x401000, 0x40, kFdeProgram);
  // 64-bit DWARF, 32 bytes; the CIE pointer; 0x402000, 0x40 bytes.
  Bytes fde = {0xff, 0xff, 0xff, 0xff, 32, 0, 0, 0, 0, 0, 0, 0};
  fde.insert(fde.end(), {0xfc, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff});
  fde.insert(fde.end(), {0x00, 0x20, 0x40, 0, 0, 0, 0, 0, 0x40, 0, 0, 0, 0, 0, 0, 0});
  fde.insert(fde.end(), kFdeProgram.begin(), kFdeProgram.end());
  fde.resize(fde.size() + 3, DW_CFA_nop);
  s.bytes().insert(s.bytes().end(), fde.begin(), fde.end());
  CfiScreenStats stats;
  CHECK(!s.screen({}, &stats));
  CHECK(stats.cies_read == 2);  // the good FDE's CIE, then the pointer, refused before libdw reads it
}

TEST_CASE("the fuzzer's input whose CFI made libdw allocate ~2 GB: that function is a gap, the others read") {
  // libdw grew its frame to DW_CFA_same_value's r253581390 in entry()'s FDE.
  const UnwindTable t = build_unwind_table(std::string(UNWIND_CORPUS "/oom-cfi-register"));
  CHECK(t.source == ".eh_frame");
  const ms_unwind_row* leaf = find_row(t.rows, 0x2f0);
  REQUIRE(leaf);
  CHECK(leaf->cfa_kind == MS_CFA_RSP);
  CHECK(leaf->cfa_off8 == 1);
  const ms_unwind_row* entry = find_row(t.rows, 0x2f6);
  REQUIRE(entry);
  CHECK(entry->start == 0x2f5);
  CHECK(entry->cfa_kind == MS_CFA_NONE);
  const ms_unwind_row* plt = find_row(t.rows, 0x2c0);
  REQUIRE(plt);
  CHECK(plt->cfa_kind != MS_CFA_NONE);
}
