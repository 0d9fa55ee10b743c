/* A traced library unmapped and another mapped at the same address
 * (faults_remap_test.cpp). Between SIGUSR1 and "done" (or at once with --now
 * as the first argument):
 *   - dlopen LIB_A, A_ROUNDS blocks through remap_a_fill -> remap_a_alloc;
 *   - a pause, so that the tracer has seen LIB_A mapped (it reads a
 *     process's mappings when told of a dlopen or of new sites; pauses
 *     after each dlopen too, for it to load the library's unwind table);
 *   - dlclose LIB_A, checked unmapped in /proc/self/maps;
 *   - dlopen LIB_B, the same size and layout, checked mapped where LIB_A
 *     was (the kernel gives the hole LIB_A left to the next mapping of its
 *     size); then B_ROUNDS blocks through remap_b_fill -> remap_b_alloc.
 * Both are called from the same instruction in main: the same return
 * addresses, all of them, lie in remap_a_* while LIB_A is mapped and in
 * remap_b_* after. Prints the start address of both on stderr and a
 * checksum of what it computed, which tracing must not change; exits 3
 * when LIB_A stays mapped or LIB_B lands elsewhere. LIB_B stays loaded. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define A_ROUNDS 200
#define B_ROUNDS 300

typedef unsigned long (*fill_fn)(unsigned);

/* The lowest start address of a mapping of `path` in /proc/self/maps; 0: none. */
static unsigned long mapped_at(const char* path) {
  FILE* maps = fopen("/proc/self/maps", "r");
  char line[4096];
  unsigned long lowest = 0;
  if (!maps) exit(2);
  while (fgets(line, sizeof line, maps)) {
    unsigned long start = 0;
    char* name = strchr(line, '/');
    if (!name) continue;
    name[strcspn(name, "\n")] = 0;
    if (strcmp(name, path) != 0 || sscanf(line, "%lx-", &start) != 1) continue;
    if (!lowest || start < lowest) lowest = start;
  }
  fclose(maps);
  return lowest;
}

static void* open_lib(const char* path, const char* symbol, fill_fn* fn) {
  void* h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  *fn = h ? (fill_fn)dlsym(h, symbol) : NULL;
  if (!*fn) {
    fprintf(stderr, "remap_libs: %s: %s\n", path, dlerror());
    exit(2);
  }
  return h;
}

/* Library k (0: A, 1: B) loaded, checked where it should be, and used;
 * the one before it (in *loaded) unloaded first, checked gone. 0 when a
 * check failed. */
__attribute__((noinline, noipa)) static unsigned long use_library(int k, const char* const* paths, unsigned long* at,
                                                                  void** loaded) {
  static const char* const fills[2] = {"remap_a_fill", "remap_b_fill"};
  static const unsigned rounds[2] = {A_ROUNDS, B_ROUNDS};
  const struct timespec pause = {0, 300 * 1000 * 1000};
  if (*loaded) {
    nanosleep(&pause, NULL);
    dlclose(*loaded);
    if (mapped_at(paths[k - 1])) {
      fprintf(stderr, "remap_libs: %s still mapped after dlclose\n", paths[k - 1]);
      return 0;
    }
  }
  fill_fn fill;
  *loaded = open_lib(paths[k], fills[k], &fill);
  at[k] = mapped_at(paths[k]);
  if (k && (!at[0] || at[0] != at[k])) {
    fprintf(stderr, "remap_libs: %s was not mapped where %s was\n", paths[k], paths[0]);
    return 0;
  }
  nanosleep(&pause, NULL);
  return fill(rounds[k]);
}

/* Waits for SIGUSR1 (blocked from the start) unless `now`. */
static void await_signal(int now) {
  sigset_t usr1;
  int sig = 0;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  if (!now) sigwait(&usr1, &sig);
}

int main(int argc, char** argv) {
  const int now = argc > 1 && strcmp(argv[1], "--now") == 0;
  if (argc < 3 + now) {
    fprintf(stderr, "usage: remap_libs [--now] LIB_A LIB_B\n");
    return 2;
  }
  char a_path[4096], b_path[4096];
  if (!realpath(argv[1 + now], a_path) || !realpath(argv[2 + now], b_path)) return 2;
  const char* paths[2] = {a_path, b_path};
  sigset_t usr1;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  sigprocmask(SIG_BLOCK, &usr1, NULL);  // before "ready": a signal sent then waits for sigwait
  fprintf(stderr, "ready\n");
  await_signal(now);

  // One call instruction in main, and one in use_library, for both
  // libraries (a loop the compiler cannot unroll).
  volatile int libraries = 2;
  unsigned long at[2] = {0, 0}, sum[2] = {0, 0};
  void* loaded = NULL;  // B stays loaded
  for (int k = 0; k < libraries; ++k) sum[k] = use_library(k, paths, at, &loaded);
  fprintf(stderr, "mapped %s at 0x%lx, then %s at 0x%lx\n", a_path, at[0], b_path, at[1]);
  if (!sum[0] || !sum[1]) return 3;
  fprintf(stderr, "checksum %lu %lu\n", sum[0], sum[1]);
  fprintf(stderr, "done\n");
  await_signal(now);
  return 0;
}
