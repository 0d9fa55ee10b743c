// Allocations whose stacks cannot be unwound whole (bad_frames_test.cpp):
//   - through nocfi_alloc, in a library with no CFI at all (argv[1]);
//   - through corrupt_alloc, in a copy of a library whose .eh_frame the
//     test overwrote with garbage (argv[2]);
//   - through unreadable_frame_alloc, whose CFI says its caller's frame is
//     in a page never touched: the kernel cannot read it without a fault.
//     It runs on a thread whose stack lies just below that page, so that
//     the frame is where a caller's frame could be (above the stack pointer).
// Between SIGUSR1 and "done" (or at once with --now as argv[3]); prints a
// checksum of what it computed, which tracing must not change.
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define ROUNDS 200

void* unreadable_frame_alloc(size_t size, void* untouched_page);
// push rbp; rbp = the untouched page; the CFI says CFA = rbp + 16 while
// malloc runs, so the caller's return address is read from that page.
__asm__(
    ".text\n"
    ".globl unreadable_frame_alloc\n"
    ".type unreadable_frame_alloc, @function\n"
    "unreadable_frame_alloc:\n"
    ".cfi_startproc\n"
    "  push %rbp\n"
    ".cfi_def_cfa_offset 16\n"
    ".cfi_offset %rbp, -16\n"
    "  mov %rsi, %rbp\n"
    ".cfi_def_cfa %rbp, 16\n"
    "  call malloc@PLT\n"
    "  pop %rbp\n"
    ".cfi_def_cfa %rsp, 8\n"
    "  ret\n"
    ".cfi_endproc\n"
    ".size unreadable_frame_alloc, .-unreadable_frame_alloc\n");

typedef void* (*alloc_fn)(size_t);

static alloc_fn open_fn(const char* lib, const char* name) {
  void* h = dlopen(lib, RTLD_NOW);
  alloc_fn fn = h ? (alloc_fn)dlsym(h, name) : NULL;
  if (!fn) {
    fprintf(stderr, "bad_frames: %s: %s\n", lib, dlerror());
    exit(2);
  }
  return fn;
}

static unsigned long use(unsigned char* p, size_t n) {
  unsigned long sum = 0;
  memset(p, (int)(n & 0xff), n);
  for (size_t i = 0; i < n; i += 7) sum += p[i] * (i + 1);
  free(p);
  return sum;
}

// A 1 MiB thread stack, then the untouched page the frame claims to be in.
#define STACK_BYTES (1 << 20)

struct unreadable_run {
  char* untouched;
  unsigned long sum;
};

static void* unreadable_thread(void* arg) {
  struct unreadable_run* run = arg;
  for (size_t i = 0; i < ROUNDS; ++i) run->sum += use(unreadable_frame_alloc(300 + i, run->untouched), 300 + i);
  return NULL;
}

static unsigned long run_unreadable(void) {
  char* area = mmap(NULL, STACK_BYTES + (1 << 16), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (area == MAP_FAILED) exit(2);
  struct unreadable_run run = {area + STACK_BYTES + (1 << 15), 0};
  pthread_attr_t attr;
  pthread_t thread;
  pthread_attr_init(&attr);
  pthread_attr_setstack(&attr, area, STACK_BYTES);
  if (pthread_create(&thread, &attr, unreadable_thread, &run) != 0) exit(2);
  pthread_join(thread, NULL);
  return run.sum;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: bad_frames NOCFI_LIB CORRUPT_LIB [--now]\n");
    return 2;
  }
  alloc_fn nocfi = open_fn(argv[1], "nocfi_alloc");
  alloc_fn corrupt = open_fn(argv[2], "corrupt_alloc");
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  sigprocmask(SIG_BLOCK, &set, NULL);
  const int now = argc > 3 && strcmp(argv[3], "--now") == 0;
  int sig = 0;
  fprintf(stderr, "ready\n");
  if (!now) sigwait(&set, &sig);
  unsigned long sum = 0;
  for (size_t i = 0; i < ROUNDS; ++i) {
    sum += use(nocfi(100 + i), 100 + i);
    sum += use(corrupt(200 + i), 200 + i);
  }
  sum += run_unreadable();
  fprintf(stderr, "checksum %lu\n", sum);
  fprintf(stderr, "done\n");
  if (!now) sigwait(&set, &sig);
  return 0;
}
