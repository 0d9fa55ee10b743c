// Unwind tables built from the CFI of ELF files a traced program brings
// (.eh_frame with its .eh_frame_hdr, or .debug_frame): build_unwind_table
// must take any bytes without crashing, and either refuse them with Error or
// return rows the BPF walk can binary-search: strictly ascending, each with
// a rule the walk knows, the last one a gap, and find_row giving each row for
// its own start.
#include <cstdlib>

#include "common/error.h"
#include "fuzz_file.h"
#include "unwind/unwind_table.h"

using namespace memscope;

namespace {

void check(const UnwindTable& t) {
  if (t.source.empty() != t.rows.empty()) abort();
  if (t.rows.empty()) return;
  if (t.source != ".eh_frame" && t.source != ".debug_frame") abort();
  if (t.rows.back().cfa_kind != MS_CFA_NONE) abort();
  for (size_t i = 0; i < t.rows.size(); ++i) {
    const ms_unwind_row& r = t.rows[i];
    if (r.cfa_kind > MS_CFA_UNKNOWN) abort();
    if (i > 0 && t.rows[i - 1].start >= r.start) abort();
    if (find_row(t.rows, r.start) != &r) abort();
  }
  if (t.rows.front().start > 0 && find_row(t.rows, t.rows.front().start - 1) != nullptr) abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::MemoryFile file(data, size);
  try {
    check(build_unwind_table(file.fd()));
  } catch (const Error&) {
    // Refused: not ELF. Anything else escapes and fails.
  }
  return 0;
}
