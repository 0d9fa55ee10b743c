// The seed ELF files of tests/fuzz/corpus (tests/fuzz/corpus/README.md).
extern void *ext_alloc(unsigned long n);
static inline __attribute__((always_inline)) int twice(int x) { return x * 2; }
__attribute__((noinline)) int leaf(int x) { return twice(x) + 1; }
int entry(int x) {
  int y = leaf(x);
  return y > 3 ? leaf(y) + (ext_alloc(16) != 0) : y;
}
