/* A process that execs another program which allocates (faults_exec_test.cpp).
 * Built twice from this file: memscope_exec_chain (EXEC_STAGE 1) and
 * memscope_exec_next (EXEC_STAGE 2), whose allocating functions are named
 * apart (before_exec_alloc, after_exec_alloc), so a site names the
 * program it was in.
 *   memscope_exec_chain NEXT [ARGS...]: prints "ready PID" on stderr and
 *     waits for SIGUSR1 (not with --now as its first argument), allocates
 *     BEFORE_BLOCKS blocks, prints "exec PID" and execs NEXT ARGS...;
 *   memscope_exec_next [NEXT [ARGS...]]: allocates AFTER_BLOCKS blocks at
 *     once, prints "done PID" and waits for SIGUSR1 (not with --now), then
 *     execs NEXT ARGS... if given, else exits 0.
 * Each prints a checksum of what it computed on stdout, which tracing must
 * not change. Nothing here uses stdio buffers, so that the only calls to
 * the allocator besides the loader's are those counted here. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FRAME __attribute__((noinline, noipa))
#define BEFORE_BLOCKS 400
#define AFTER_BLOCKS 700

#if EXEC_STAGE == 1
#define STAGE_ALLOC before_exec_alloc
#define STAGE_BLOCKS BEFORE_BLOCKS
#define STAGE_NAME "before"
#else
#define STAGE_ALLOC after_exec_alloc
#define STAGE_BLOCKS AFTER_BLOCKS
#define STAGE_NAME "after"
#endif

static void say(int fd, const char* text, unsigned long value) {
  char line[128];
  const int n = snprintf(line, sizeof line, "%s %lu\n", text, value);
  if (write(fd, line, (size_t)n) != n) _exit(2);
}

FRAME unsigned char* STAGE_ALLOC(size_t n) {
  unsigned char* p = malloc(n);
  if (!p) _exit(2);
  memset(p, (int)(n & 0xff), n);
  return p;
}

/* Block i is 32 + 7 i bytes; all are freed. */
static unsigned long stage(void) {
  unsigned long sum = 0;
  for (unsigned i = 0; i < STAGE_BLOCKS; ++i) {
    const size_t n = 32 + 7 * (size_t)i;
    unsigned char* p = STAGE_ALLOC(n);
    for (size_t k = 0; k < n; k += 3) sum += p[k] * (k + i + 1);
    free(p);
  }
  return sum;
}

int main(int argc, char** argv) {
  int arg = 1;
  const int now = argc > 1 && strcmp(argv[1], "--now") == 0;
  if (now) ++arg;
  sigset_t set;
  int sig = 0;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  sigprocmask(SIG_BLOCK, &set, NULL);
#if EXEC_STAGE == 1
  if (arg >= argc) {
    say(2, "usage: memscope_exec_chain [--now] NEXT [ARGS...]; pid", (unsigned long)getpid());
    return 2;
  }
  say(2, "ready", (unsigned long)getpid());
  if (!now) sigwait(&set, &sig);
#endif
  say(1, "checksum " STAGE_NAME, stage());
#if EXEC_STAGE == 1
  say(2, "exec", (unsigned long)getpid());
  execv(argv[arg], argv + arg);
  say(2, "exec failed", (unsigned long)getpid());
  return 2;
#else
  say(2, "done", (unsigned long)getpid());
  if (!now) sigwait(&set, &sig);
  if (arg < argc) {
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    execv(argv[arg], argv + arg);
    return 2;
  }
  return 0;
#endif
}
