/* What tracing adds to dlopen: N dlopen+dlclose of a library that is no
 * allocator (libz), timed. Build: cc -O2 -o dlopen_loop dlopen_loop.c
 * Run untraced, then as `memscope-bpf -- ./dlopen_loop N`. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char** argv) {
  const int n = argc > 1 ? atoi(argv[1]) : 2000;
  const char* lib = argc > 2 ? argv[2] : "libz.so.1";
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (int i = 0; i < n; i++) {
    void* h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      fprintf(stderr, "dlopen_loop: %s\n", dlerror());
      return 1;
    }
    dlclose(h);
  }
  clock_gettime(CLOCK_MONOTONIC, &b);
  printf("%d dlopen+dlclose of %s: %.1f us each\n", n, lib,
         ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / 1e3 / n);
  return 0;
}
