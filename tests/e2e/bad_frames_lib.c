// One allocating function, named by the build (BAD_FRAMES_FN): built once
// without any CFI (no .eh_frame, no .debug_frame) and once with it, for the
// test to copy and corrupt. The work after malloc keeps the call a call.
#include <stdlib.h>
#include <string.h>

__attribute__((noinline)) void* BAD_FRAMES_FN(size_t n) {
  void* p = malloc(n);
  if (p) memset(p, 0x5a, n);
  return p;
}
