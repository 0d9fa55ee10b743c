/* One library of a pair built from this file with different names
 * (remap_libs.c): REMAP_PREFIX is "remap_a" or "remap_b", names of one
 * length, so that the two files have the same size and layout, their code
 * at the same offsets: loaded at the same address, the same return
 * addresses lie in remap_a_* in one and remap_b_* in the other. TAG is
 * the byte each fills its blocks with. */
#include <stdlib.h>
#include <string.h>

#define FRAME __attribute__((noinline, noipa, visibility("default")))
#define NAME2(p, s) p##s
#define NAME(p, s) NAME2(p, s)

FRAME void* NAME(REMAP_PREFIX, _alloc)(size_t n) {
  unsigned char* p = malloc(n);
  if (p) memset(p, TAG, n);
  return p;
}

/* `rounds` blocks of known sizes, each allocated through the function
 * above, summed and freed. */
FRAME unsigned long NAME(REMAP_PREFIX, _fill)(unsigned rounds) {
  unsigned long sum = 0;
  for (unsigned i = 0; i < rounds; ++i) {
    const size_t n = 64 + (size_t)i * 3;
    unsigned char* p = NAME(REMAP_PREFIX, _alloc)(n);
    if (!p) abort();
    for (size_t k = 0; k < n; k += 5) sum += p[k] * (k + i + 1);
    free(p);
  }
  return sum;
}
