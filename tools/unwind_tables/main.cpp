// Measures building unwind tables: for each ELF file named on the command
// line, the time to build its table (best of --repeat runs), its FDEs, rows
// and bytes in the kernel's rows array. Figures go to docs/unwinding.md.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "common/error.h"
#include "unwind/unwind_table.h"

int main(int argc, char** argv) {
  int repeat = 3;
  int first = 1;
  if (argc > 2 && strcmp(argv[1], "--repeat") == 0) {
    repeat = std::max(1, atoi(argv[2]));
    first = 3;
  }
  if (first >= argc) {
    fprintf(stderr, "usage: %s [--repeat N] ELF...\n", argv[0]);
    return 2;
  }
  printf("%-48s %10s %8s %9s %10s %9s\n", "object", "source", "FDEs", "rows", "bytes", "build ms");
  for (int i = first; i < argc; ++i) {
    try {
      double best = 1e300;
      memscope::UnwindTable t;
      for (int r = 0; r < repeat; ++r) {
        auto t0 = std::chrono::steady_clock::now();
        t = memscope::build_unwind_table(std::string(argv[i]));
        best = std::min(best, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      }
      printf("%-48s %10s %8llu %9zu %10zu %9.1f\n", argv[i], t.source.empty() ? "-" : t.source.c_str(),
             static_cast<unsigned long long>(t.fdes), t.rows.size(), t.rows.size() * sizeof(ms_unwind_row), best);
    } catch (const memscope::Error& e) {
      printf("%-48s error: %s\n", argv[i], e.what());
    }
  }
  return 0;
}
