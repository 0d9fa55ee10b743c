/* Calls every glibc entry point in the ways glibc defines specially, at
 * known sites, between two SIGUSR1s: realloc(NULL, n) and realloc(p, 0),
 * free(NULL), overflowing calloc/reallocarray, a failing posix_memalign,
 * a 5 GiB request, and three leaked blocks. The expected counts are in
 * api_semantics_test.cpp. */
#define _GNU_SOURCE
#include <malloc.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SITE __attribute__((noinline, noipa))
static void* volatile sink;

SITE void* site_malloc_then_realloc_zero(void) { return malloc(100); }
SITE void* site_realloc_to_zero(void* p) { return realloc(p, 0); }
SITE void* site_realloc_null(void) { return realloc(NULL, 300); }
SITE void* site_realloc_grow(void* p) { return realloc(p, 5000); }
SITE void* site_reallocarray_base(void) { return malloc(64); }
SITE void* site_reallocarray_overflow(void* p) { return reallocarray(p, SIZE_MAX / 2, 4); }
SITE void* site_reallocarray_ok(void* p) { return reallocarray(p, 10, 20); }
SITE void* site_calloc_overflow(void) { return calloc(SIZE_MAX / 2, 4); }
SITE void* site_calloc_ok(void) { return calloc(7, 9); }
SITE int site_posix_memalign_bad(void** p) { return posix_memalign(p, 3, 100); }
SITE int site_posix_memalign_ok(void** p) { return posix_memalign(p, 64, 1000); }
SITE void* site_memalign(void) { return memalign(128, 256); }
SITE void* site_valloc(void) { return valloc(5000); }
SITE void* site_pvalloc(void) { return pvalloc(5000); }
SITE void* site_huge(void) { return malloc(5ull << 30); }
SITE void* site_leaky(void) { return malloc(777); }
SITE void release(void* p) { free(p); }

static void wait_usr1(void) {
  sigset_t s;
  int sig;
  sigemptyset(&s);
  sigaddset(&s, SIGUSR1);
  sigwait(&s, &sig);
}

int main(void) {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGUSR1);
  sigprocmask(SIG_BLOCK, &s, NULL);
  write(2, "ready\n", 6);
  wait_usr1();

  void* p = site_malloc_then_realloc_zero();
  sink = site_realloc_to_zero(p); /* frees p, returns NULL */
  void* q = site_realloc_null();  /* counted once, as realloc */
  q = site_realloc_grow(q);
  void* r = site_reallocarray_base();
  sink = site_reallocarray_overflow(r); /* NULL, r untouched */
  r = site_reallocarray_ok(r);
  sink = site_calloc_overflow(); /* NULL */
  void* c = site_calloc_ok();
  void* a = NULL;
  int bad = site_posix_memalign_bad(&a); /* EINVAL, nothing allocated */
  int ok = site_posix_memalign_ok(&a);
  void* m = site_memalign();
  void* v = site_valloc();
  void* pv = site_pvalloc();
  void* h = site_huge();
  for (int i = 0; i < 5; ++i) free(NULL); /* no-ops: not counted */
  for (int i = 0; i < 3; ++i) sink = site_leaky();
  release(q);
  release(r);
  release(c);
  release(a);
  release(m);
  release(v);
  release(pv);
  release(h);

  char line[64];
  int n = snprintf(line, sizeof line, "done %d %d %d\n", bad != 0, ok == 0, h != NULL);
  write(2, line, n);
  wait_usr1();
  return 0;
}
