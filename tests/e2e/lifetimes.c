/* Blocks held for known times, between SIGUSR1 and "done", each group from
 * its own function (the site's innermost frame):
 *   lifetime_long       10 blocks, allocated first and freed HOLD_MS later
 *                       (argv[1], default 2200: in [1 s, 10 s))
 *   lifetime_temporary 300 blocks, each freed at once
 *   lifetime_5ms        20 blocks held together ~5 ms
 *   lifetime_30ms       20 blocks held ~30 ms
 *   lifetime_300ms      20 blocks held ~300 ms
 *   lifetime_never      10 blocks still allocated at "done"
 * The program times each call itself (CLOCK_MONOTONIC, the probes' clock):
 * a block's allocation record is taken between the readings around its
 * malloc, its free record between those around its free, and record times
 * are ns >> 10, so the traced lifetime lies within [free start - malloc end
 * - 1024 ns, free end - malloc start + 1024 ns]. A block whose bounds fall in
 * one bucket is "known" there; one whose bounds straddle buckets is "maybe"
 * in each of them. Before "done" it prints per group:
 *   lifetimes NAME BLOCKS known K0..K5 maybe M0..M5
 * (buckets [0,1ms) [1ms,10ms) [10ms,100ms) [100ms,1s) [1s,10s) [10s,...)). */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define FRAME __attribute__((noinline, noipa))
#define ESCAPE(p) __asm__ volatile("" : : "r"(p) : "memory")
#define BUCKETS 6
#define MAX_BLOCKS 300

static const uint64_t bounds[BUCKETS - 1] = {1000000ull, 10000000ull, 100000000ull, 1000000000ull, 10000000000ull};

struct group {
  const char* name;
  int blocks;
  int known[BUCKETS], maybe[BUCKETS];
  uint64_t t0[MAX_BLOCKS], t1[MAX_BLOCKS];
  void* p[MAX_BLOCKS];
};

static uint64_t now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static void sleep_until(uint64_t when) {
  const struct timespec t = {(time_t)(when / 1000000000ull), (long)(when % 1000000000ull)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) != 0) {
  }
}

static int bucket(uint64_t ns) {
  int b = 0;
  while (b < BUCKETS - 1 && ns >= bounds[b]) ++b;
  return b;
}

FRAME void* lifetime_long(size_t n) {
  void* p = malloc(n);
  ESCAPE(p);
  return p;
}
FRAME void* lifetime_temporary(size_t n) {
  void* p = malloc(n);
  ESCAPE(p);
  return p;
}
FRAME void* lifetime_5ms(size_t n) {
  void* p = malloc(n);
  ESCAPE(p);
  return p;
}
FRAME void* lifetime_30ms(size_t n) {
  void* p = malloc(n);
  ESCAPE(p);
  return p;
}
FRAME void* lifetime_300ms(size_t n) {
  void* p = malloc(n);
  ESCAPE(p);
  return p;
}
FRAME void* lifetime_never(size_t n) {
  void* p = malloc(n);
  ESCAPE(p);
  return p;
}

static void allocate(struct group* g, int i, void* (*site)(size_t)) {
  g->t0[i] = now();
  g->p[i] = site(64 + (size_t)i);
  g->t1[i] = now();
  if (!g->p[i]) abort();
}

static void release(struct group* g, int i) {
  const uint64_t t2 = now();
  free(g->p[i]);
  const uint64_t t3 = now();
  const uint64_t lo = t2 - g->t1[i] > 1024 ? t2 - g->t1[i] - 1024 : 0, hi = t3 - g->t0[i] + 1024;
  const int a = bucket(lo), b = bucket(hi);
  if (a == b) g->known[a]++;
  else
    for (int k = a; k <= b; ++k) g->maybe[k]++;
}

/* `blocks` blocks from `site`, all allocated, held `hold_ns`, all freed. */
static void hold(struct group* g, void* (*site)(size_t), uint64_t hold_ns) {
  for (int i = 0; i < g->blocks; ++i) allocate(g, i, site);
  sleep_until(g->t1[g->blocks - 1] + hold_ns);
  for (int i = 0; i < g->blocks; ++i) release(g, i);
}

static void print(const struct group* g) {
  fprintf(stderr, "lifetimes %s %d known", g->name, g->blocks);
  for (int b = 0; b < BUCKETS; ++b) fprintf(stderr, " %d", g->known[b]);
  fprintf(stderr, " maybe");
  for (int b = 0; b < BUCKETS; ++b) fprintf(stderr, " %d", g->maybe[b]);
  fprintf(stderr, "\n");
}

static struct group glong = {"lifetime_long", 10}, gtemp = {"lifetime_temporary", 300}, g5 = {"lifetime_5ms", 20},
                    g30 = {"lifetime_30ms", 20}, g300 = {"lifetime_300ms", 20}, gnever = {"lifetime_never", 10};

int main(int argc, char** argv) {
  const uint64_t hold_ms = argc > 1 ? strtoull(argv[1], NULL, 10) : 2200;
  sigset_t set;
  int sig = 0;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  sigprocmask(SIG_BLOCK, &set, NULL);
  fprintf(stderr, "ready\n");
  sigwait(&set, &sig);

  for (int i = 0; i < glong.blocks; ++i) allocate(&glong, i, lifetime_long);
  for (int i = 0; i < gtemp.blocks; ++i) {
    allocate(&gtemp, i, lifetime_temporary);
    release(&gtemp, i);
  }
  hold(&g5, lifetime_5ms, 5000000ull);
  hold(&g30, lifetime_30ms, 30000000ull);
  hold(&g300, lifetime_300ms, 300000000ull);
  sleep_until(glong.t1[glong.blocks - 1] + hold_ms * 1000000ull);
  for (int i = 0; i < glong.blocks; ++i) release(&glong, i);
  for (int i = 0; i < gnever.blocks; ++i) allocate(&gnever, i, lifetime_never);

  const struct group* groups[] = {&glong, &gtemp, &g5, &g30, &g300};
  for (size_t k = 0; k < sizeof groups / sizeof *groups; ++k) print(groups[k]);
  fprintf(stderr, "lifetimes %s %d live\n", gnever.name, gnever.blocks);
  fprintf(stderr, "done\n");
  sigwait(&set, &sig);
  return 0;
}
