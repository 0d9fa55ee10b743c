/* Thousands of short-lived children and threads (faults_storm_test.cpp). Between
 * SIGUSR1 and "done" (or at once with --now):
 *   - PARENT_BLOCKS blocks through parent_alloc;
 *   - CHILDREN children forked as fast as it can (reaped in batches of
 *     FORK_BATCH), each allocating CHILD_BLOCKS blocks through child_alloc
 *     and exiting with a byte of what it computed;
 *   - THREADS threads started THREAD_BATCH at a time, each allocating
 *     THREAD_BLOCKS blocks through thread_alloc.
 * Every block is freed. Block i is 24 + 5 i bytes wherever it is made.
 * Prints "ready PID" and "done PID" on stderr and, on stdout, a checksum
 * of what its children and threads computed, which tracing must not
 * change. CHILDREN and THREADS are argv[1] and argv[2] (default 2000). */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define FRAME __attribute__((noinline, noipa))
#define PARENT_BLOCKS 100
#define CHILD_BLOCKS 8
#define THREAD_BLOCKS 4
#define FORK_BATCH 100
#define THREAD_BATCH 50

static unsigned long fill(unsigned char* (*site)(size_t), unsigned blocks, unsigned seed) {
  unsigned long sum = 0;
  for (unsigned i = 0; i < blocks; ++i) {
    const size_t n = 24 + 5 * (size_t)i;
    unsigned char* p = site(n);
    if (!p) _exit(2);
    memset(p, (int)((seed + i) & 0xff), n);
    for (size_t k = 0; k < n; k += 3) sum += p[k] * (k + 1);
    free(p);
  }
  return sum;
}

FRAME unsigned char* parent_alloc(size_t n) { return malloc(n); }
FRAME unsigned char* child_alloc(size_t n) { return malloc(n); }
FRAME unsigned char* thread_alloc(size_t n) { return malloc(n); }

static void* thread_main(void* arg) {
  unsigned long* slot = arg;
  *slot = fill(thread_alloc, THREAD_BLOCKS, (unsigned)*slot);
  return NULL;
}

static unsigned long forks(unsigned children) {
  unsigned long sum = 0;
  for (unsigned k = 0; k < children; k += FORK_BATCH) {
    unsigned started = 0;
    for (unsigned j = k; j < children && j < k + FORK_BATCH; ++j, ++started) {
      const pid_t pid = fork();
      if (pid < 0) _exit(2);
      if (pid == 0) _exit((int)(fill(child_alloc, CHILD_BLOCKS, j) % 251));
    }
    for (unsigned j = 0; j < started; ++j) {
      int status = 0;
      if (wait(&status) < 0 || !WIFEXITED(status)) _exit(2);
      sum += (unsigned long)WEXITSTATUS(status);
    }
  }
  return sum;
}

static unsigned long threads(unsigned count) {
  unsigned long sum = 0, results[THREAD_BATCH];
  pthread_t ids[THREAD_BATCH];
  for (unsigned k = 0; k < count; k += THREAD_BATCH) {
    unsigned started = 0;
    for (unsigned j = k; j < count && j < k + THREAD_BATCH; ++j, ++started) {
      results[started] = j;
      if (pthread_create(&ids[started], NULL, thread_main, &results[started]) != 0) _exit(2);
    }
    for (unsigned j = 0; j < started; ++j) {
      pthread_join(ids[j], NULL);
      sum += results[j];
    }
  }
  return sum;
}

int main(int argc, char** argv) {
  int arg = 1;
  const int now = argc > 1 && strcmp(argv[1], "--now") == 0;
  if (now) ++arg;
  const unsigned children = arg < argc ? (unsigned)atoi(argv[arg]) : 2000;
  const unsigned thread_count = arg + 1 < argc ? (unsigned)atoi(argv[arg + 1]) : 2000;
  sigset_t set;
  int sig = 0;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  sigprocmask(SIG_BLOCK, &set, NULL);
  fprintf(stderr, "ready %d\n", (int)getpid());
  if (!now) sigwait(&set, &sig);
  const unsigned long parent = fill(parent_alloc, PARENT_BLOCKS, 7);
  const unsigned long from_children = forks(children);
  const unsigned long from_threads = threads(thread_count);
  char line[128]; /* not through stdout's buffer, which malloc would make */
  const int n = snprintf(line, sizeof line, "checksum %lu %lu %lu\n", parent, from_children, from_threads);
  if (write(1, line, (size_t)n) != n) return 2;
  fprintf(stderr, "done %d\n", (int)getpid());
  if (!now) sigwait(&set, &sig);
  return 0;
}
