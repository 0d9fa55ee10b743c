#include "unwind/cfi_screen.h"

#include <dwarf.h>
#include <elfutils/libdw.h>

#include <algorithm>
#include <cstring>
#include <unordered_map>

#include "unwind/cfi_program.h"

namespace memscope {

namespace {

// Fails: libdw refuses the entry too, so never runs it. Unknown: libdw
// would read something not modelled here.
enum class Read { Ok, Fails, Unknown };

// The section's bytes, numbers in the ELF's byte order.
class Bytes {
 public:
  explicit Bytes(const CfiSection& c)
      : cfi_(c),
        base_(static_cast<const uint8_t*>(c.data->d_buf)),
        size_(c.data->d_size),
        msb_(c.e_ident[EI_DATA] == ELFDATA2MSB),
        address_size_(c.e_ident[EI_CLASS] == ELFCLASS32 ? 4 : 8) {}
  const CfiSection& cfi() const { return cfi_; }
  uint64_t size() const { return size_; }
  unsigned address_size() const { return address_size_; }
  uint64_t offset(const void* p) const { return static_cast<uint64_t>(static_cast<const uint8_t*>(p) - base_); }
  const uint8_t* at(uint64_t pos) const { return base_ + pos; }
  bool fits(uint64_t pos, uint64_t n) const { return pos <= size_ && n <= size_ - pos; }
  // n <= 8 bytes at pos, which fit.
  uint64_t number(uint64_t pos, unsigned n) const {
    uint64_t v = 0;
    for (unsigned i = 0; i < n; ++i) v |= uint64_t{base_[pos + (msb_ ? n - 1 - i : i)]} << (8 * i);
    return v;
  }

 private:
  const CfiSection& cfi_;
  const uint8_t* base_;
  uint64_t size_;
  bool msb_;
  unsigned address_size_;
};

// libdw's encoded_value_size: a value's bytes in `encoding`, 0 when it
// cannot tell. For a LEB128 it counts up to the first byte with the high
// bit set (sic), and that is what libdw skips.
uint64_t encoded_size(const Bytes& b, uint8_t encoding, const uint64_t* pos) {
  if (encoding == DW_EH_PE_omit) return 0;
  switch (encoding & 0x07) {
    case DW_EH_PE_udata2:
      return 2;
    case DW_EH_PE_udata4:
      return 4;
    case DW_EH_PE_udata8:
      return 8;
    case DW_EH_PE_absptr:
      return b.address_size();
    case DW_EH_PE_uleb128:
      if (pos)
        for (uint64_t e = *pos; e < b.size();)
          if (*b.at(e++) & 0x80) return e - *pos;
      return 0;
    default:
      return 0;
  }
}

// libdw's read_encoded_value at `pos`, bounded by the section's end as
// libdw's is (not by the entry's). Its text and data bases are 0.
Read read_encoded(const Bytes& b, uint8_t encoding, uint64_t& pos, uint64_t& result) {
  result = 0;
  switch (encoding & 0x70) {
    case DW_EH_PE_absptr:
    case DW_EH_PE_textrel:
    case DW_EH_PE_datarel:
    case DW_EH_PE_funcrel:
      break;
    case DW_EH_PE_pcrel:
      result = b.cfi().vaddr + pos;
      break;
    case DW_EH_PE_aligned: {
      const uint64_t size = encoded_size(b, encoding, &pos);
      if (size == 0) return Read::Fails;
      const uint64_t misaligned = (b.cfi().vaddr + pos) & (size - 1);
      if (misaligned) pos += size - misaligned;
      break;
    }
    default:
      return Read::Fails;
  }
  unsigned n = 0;
  switch (encoding & 0x0f) {
    case DW_EH_PE_udata2:
    case DW_EH_PE_sdata2:
      n = 2;
      break;
    case DW_EH_PE_udata4:
    case DW_EH_PE_sdata4:
      n = 4;
      break;
    case DW_EH_PE_udata8:
    case DW_EH_PE_sdata8:
      n = 8;
      break;
    case DW_EH_PE_absptr:
      n = b.address_size();
      break;
    case DW_EH_PE_uleb128:
    case DW_EH_PE_sleb128:
      return Read::Unknown;
    default:
      return Read::Fails;
  }
  if (!b.fits(pos, n)) return Read::Fails;
  uint64_t value = b.number(pos, n);
  pos += n;
  if ((encoding & 0x0f) == DW_EH_PE_sdata2) value = static_cast<uint64_t>(int64_t{static_cast<int16_t>(value)});
  if ((encoding & 0x0f) == DW_EH_PE_sdata4) value = static_cast<uint64_t>(int64_t{static_cast<int32_t>(value)});
  result += value;
  if (encoding & DW_EH_PE_indirect) {
    // A pointer in the section itself, at that address.
    if (result < b.cfi().vaddr) return Read::Fails;
    result -= b.cfi().vaddr;
    if (!b.fits(result, b.address_size())) return Read::Fails;
    result = b.number(result, b.address_size());
  }
  return Read::Ok;
}

// What libdw keeps of a CIE (cie.c, intern_new_cie): its FDEs' address
// encoding, whether they hold a sized augmentation, else its size.
struct CieView {
  uint8_t fde_encoding = DW_EH_PE_absptr;
  bool sized = false;
  uint64_t fde_augmentation_size = 0;
};

Read cie_view(const Bytes& b, const Dwarf_CIE& cie, CieView& v) {
  uint64_t pos = b.offset(cie.augmentation_data);
  for (const char* ap = cie.augmentation; *ap != '\0'; ++ap) {
    // libdw reads these bytes unchecked, past the CIE if its string says
    // so: past the section, there is no telling what it finds.
    if ((*ap == 'L' || *ap == 'R' || *ap == 'P') && pos >= b.size()) return Read::Unknown;
    switch (*ap) {
      case 'z':
        v.sized = true;
        continue;
      case 'S':
        continue;
      case 'L': {
        const uint8_t lsda = *b.at(pos++);
        if (!v.sized) v.fde_augmentation_size += encoded_size(b, lsda, nullptr);
        continue;
      }
      case 'R':
        v.fde_encoding = *b.at(pos++);
        continue;
      case 'P': {
        const uint8_t encoding = *b.at(pos++);
        pos += encoded_size(b, encoding, &pos);
        continue;
      }
      default:
        if (v.sized) continue;  // unknown, but sized: skipped
    }
    break;
  }
  if ((v.fde_encoding & 0x0f) == DW_EH_PE_absptr)
    v.fde_encoding |= b.address_size() == 8 ? DW_EH_PE_udata8 : DW_EH_PE_udata4;
  return Read::Ok;
}

// Real augmentation strings are a few letters ("zR", "zPLR", "zPLRB"); a
// longer one is refused before libdw walks it.
constexpr size_t kMaxAugmentation = 16;

// libdw's get_uleb128 (memory-access.h) at pos < end: the first byte, then
// up to `max` bytes in all before `end`; UINT64_MAX when they do not end it.
// (get_sleb128 reads the same bytes with max 9.)
uint64_t leb128(const Bytes& b, uint64_t& pos, uint64_t end, uint64_t max) {
  const uint64_t n = std::max<uint64_t>(1, std::min(max, end - pos));
  uint64_t value = 0;
  for (uint64_t i = 0; i < n; ++i) {
    const uint8_t byte = *b.at(pos++);
    value |= uint64_t{byte & 0x7fu} << (7 * i);
    if (!(byte & 0x80)) return value;
  }
  return UINT64_MAX;
}

// dwarf_next_cfi's reads of a CIE's fields from `pos` (past its id) to its
// augmentation data: all inside the entry, which ends at `limit`. Then, for
// a 'z' CIE, it reads a byte for each L, R and P letter unchecked, P's
// pointer skipped: past the section for "zLLLL..." at its end.
bool cie_reads_inside(const Bytes& b, uint64_t pos, uint64_t limit) {
  const uint8_t version = *b.at(pos++);
  if (version != 1 && (version < 3 || version > 4)) return true;  // libdw stops at once
  const char* ap = reinterpret_cast<const char*>(b.at(pos));
  const uint64_t letters = strnlen(ap, std::min<uint64_t>(limit - pos, kMaxAugmentation + 1));
  if (letters > kMaxAugmentation) return false;
  if (letters == limit - pos) return true;  // no NUL in the entry: libdw refuses it
  pos += letters + 1;
  if (version == 4) {
    if (limit - pos < 5 || *b.at(pos) != b.address_size() || *b.at(pos + 1) != 0) return true;
    pos += 2;
  }
  if (ap[0] == 'e' && ap[1] == 'h') {  // g++ 2's pointer after the string
    ap += 2;
    pos += b.address_size();
  }
  if (pos >= limit) return true;
  leb128(b, pos, limit, 10);  // code alignment
  if (pos >= limit) return true;
  leb128(b, pos, limit, 9);  // data alignment
  if (pos >= limit) return true;
  if (version >= 3) leb128(b, pos, limit, 10);  // the return address register
  else ++pos;
  if (*ap != 'z' || pos >= limit) return true;  // no walk, or libdw refuses it
  const uint64_t size = leb128(b, pos, limit, 10);
  if (limit - pos < size) return true;
  for (++ap; *ap == 'L' || *ap == 'R' || *ap == 'P' || *ap == 'S'; ++ap) {
    if (*ap == 'S') continue;
    if (pos >= b.size()) return false;
    const uint8_t encoding = *b.at(pos++);
    if (*ap == 'P') pos += encoded_size(b, encoding, &pos);
  }
  return true;
}

// Whether dwarf_next_cfi at `offset` reads only inside the section: it
// checks `off + 4 >= d_size`, which an offset near 2^64 (a 64-bit
// .debug_frame CIE pointer) wraps to read before the section, and not
// where a CIE's augmentation letters read. false: libdw must not read it.
bool next_cfi_reads_inside(const Bytes& b, uint64_t offset) {
  if (offset == UINT64_MAX) return true;      // libdw's end of the chain
  if (offset > UINT64_MAX - 4) return false;  // off + 4 wraps
  if (offset + 4 >= b.size()) return true;    // libdw reads nothing
  uint64_t pos = offset + 4, length = b.number(offset, 4);
  unsigned offset_size = 4;
  if (length == 0xffffffffu) {
    if (b.size() - pos < 8) return true;
    length = b.number(pos, 8);
    pos += 8;
    offset_size = 8;
  }
  if (length == 0 || b.size() - pos < length || length < offset_size + 1) return true;  // libdw reads no more
  const uint64_t id = b.number(pos, offset_size);
  const bool cie = b.cfi().eh_frame ? id == 0 : id == (offset_size == 4 ? 0xffffffffu : UINT64_MAX);
  return !cie || cie_reads_inside(b, pos + offset_size, pos + length);  // an FDE: read inside the entry
}

// A CIE as libdw keeps it, read once by its offset as libdw reads it once
// (cie.c, __libdw_find_cie) however many FDEs name it: re-reading it per FDE
// made one CIE with a long augmentation string shared by 20k FDEs take 12 s.
struct CieEntry {
  Read read = Read::Fails;
  Dwarf_CIE cie{};
  CieView format;
  bool passes = false;  // its initial instructions pass check_cfi_program
};

class CieCache {
 public:
  explicit CieCache(const Bytes& b) : b_(b) {}
  const CieEntry& at(uint64_t offset) {
    auto it = cies_.find(offset);
    if (it == cies_.end()) it = cies_.emplace(offset, read(offset)).first;
    return it->second;  // stable: unordered_map does not move its values
  }
  uint64_t reads() const { return cies_.size(); }

 private:
  CieEntry read(uint64_t offset) const {
    Elf_Data* data = const_cast<Elf_Data*>(b_.cfi().data);  // libdw's API, which only reads it
    CieEntry e;
    Dwarf_CFI_Entry entry;
    Dwarf_Off next = 0;
    if (!next_cfi_reads_inside(b_, offset)) {
      e.read = Read::Unknown;
      return e;
    }
    if (dwarf_next_cfi(b_.cfi().e_ident, data, b_.cfi().eh_frame, offset, &next, &entry) != 0 ||
        !dwarf_cfi_cie_p(&entry))
      return e;
    e.cie = entry.cie;
    e.read = cie_view(b_, e.cie, e.format);
    const auto* begin = static_cast<const uint8_t*>(e.cie.initial_instructions);
    const auto* end = static_cast<const uint8_t*>(e.cie.initial_instructions_end);
    e.passes = check_cfi_program(begin, end, e.format.fde_encoding) == CfiProgramCheck::Ok;
    return e;
  }

  const Bytes& b_;
  std::unordered_map<uint64_t, CieEntry> cies_;
};

// An FDE as libdw runs it: its range, its CIE, its instructions.
struct FdeView {
  AddressRange range{};
  const CieEntry* cie = nullptr;
  const uint8_t* begin = nullptr;
  const uint8_t* end = nullptr;
};

// libdw's intern_fde (fde.c) on the entry at `offset`.
Read fde_view(const Bytes& b, uint64_t offset, CieCache& cies, FdeView& v) {
  Elf_Data* data = const_cast<Elf_Data*>(b.cfi().data);  // libdw's API, which only reads it
  Dwarf_CFI_Entry fde;
  Dwarf_Off next = 0;
  if (dwarf_next_cfi(b.cfi().e_ident, data, b.cfi().eh_frame, offset, &next, &fde) != 0 || dwarf_cfi_cie_p(&fde))
    return Read::Fails;
  v.cie = &cies.at(fde.fde.CIE_pointer);
  if (v.cie->read != Read::Ok) return v.cie->read;
  const CieView& format = v.cie->format;
  uint64_t pos = b.offset(fde.fde.start), start = 0, length = 0;
  if (const Read r = read_encoded(b, format.fde_encoding, pos, start); r != Read::Ok) return r;
  if (const Read r = read_encoded(b, format.fde_encoding & 0x0f, pos, length); r != Read::Ok) return r;
  v.range = {start, start + length};
  if (v.range.start >= v.range.end) return Read::Fails;  // libdw skips an FDE that covers nothing
  const uint64_t end = b.offset(fde.fde.end);
  if (format.sized) {
    // A ULEB128 length and that many bytes. libdw reads the length's first
    // byte even at the end.
    if (pos >= end) return Read::Unknown;
    const uint64_t size = leb128(b, pos, end, 10);
    if (end - pos < size) return Read::Fails;
    pos += size;
  } else {
    pos += format.fde_augmentation_size;  // past the end: libdw runs nothing
  }
  v.begin = b.at(std::min(pos, end));
  v.end = b.at(end);
  return Read::Ok;
}

// The chain of entries libdw's linear search reads (fde.c,
// __libdw_find_fde): from offset 0, on past an entry it cannot read while
// it can tell where the next one starts. The offsets of its FDEs; nullopt
// when libdw would read one of its entries outside the section.
std::optional<std::vector<uint64_t>> chain_fdes(const Bytes& b) {
  Elf_Data* data = const_cast<Elf_Data*>(b.cfi().data);
  std::vector<uint64_t> fdes;
  Dwarf_Off offset = 0;
  for (;;) {
    Dwarf_Off next = offset;
    Dwarf_CFI_Entry entry;
    if (!next_cfi_reads_inside(b, offset)) return std::nullopt;
    const int r = dwarf_next_cfi(b.cfi().e_ident, data, b.cfi().eh_frame, offset, &next, &entry);
    if (r > 0 || (r < 0 && next == offset)) break;
    if (r == 0 && !dwarf_cfi_cie_p(&entry)) fdes.push_back(offset);
    offset = next;
  }
  return fdes;
}

std::vector<AddressRange> merged(std::vector<AddressRange> ranges) {
  std::sort(ranges.begin(), ranges.end(),
            [](const AddressRange& a, const AddressRange& c) { return a.start < c.start; });
  std::vector<AddressRange> out;
  for (const AddressRange& r : ranges) {
    if (!out.empty() && r.start <= out.back().end) out.back().end = std::max(out.back().end, r.end);
    else out.push_back(r);
  }
  return out;
}

}  // namespace

std::optional<std::vector<AddressRange>> unsafe_fde_ranges(const CfiSection& cfi,
                                                           const std::vector<uint64_t>& table_offsets,
                                                           CfiScreenStats* stats) {
  const Bytes b(cfi);
  const std::optional<std::vector<uint64_t>> chain = chain_fdes(b);  // ascending
  if (!chain) return std::nullopt;
  for (uint64_t offset : table_offsets)
    if (!std::binary_search(chain->begin(), chain->end(), offset)) return std::nullopt;

  CieCache cies(b);
  std::vector<AddressRange> unsafe;
  for (uint64_t offset : *chain) {
    FdeView fde;
    const Read r = fde_view(b, offset, cies, fde);
    if (stats) stats->cies_read = cies.reads();
    if (r == Read::Unknown) return std::nullopt;
    if (r == Read::Fails) continue;
    if (!fde.cie->passes || check_cfi_program(fde.begin, fde.end, fde.cie->format.fde_encoding) != CfiProgramCheck::Ok)
      unsafe.push_back(fde.range);
  }
  return merged(std::move(unsafe));
}

bool in_ranges(const std::vector<AddressRange>& ranges, uint64_t addr) {
  auto it = std::upper_bound(ranges.begin(), ranges.end(), addr,
                             [](uint64_t a, const AddressRange& r) { return a < r.start; });
  return it != ranges.begin() && addr < (it - 1)->end;
}

}  // namespace memscope
