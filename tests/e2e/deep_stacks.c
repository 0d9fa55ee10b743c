/* Allocates at the bottom of frame-pointer chains of known depth, on the
 * main thread and on a thread glibc started (whose chain ends at a saved
 * rbp that is neither 0 nor mapped), between SIGUSR1 and "done":
 *   main thread: main -> descend(20): 21 frames -> leaf_main      (10 blocks)
 *   thread:      thread_main -> descend(30): 31 frames -> leaf_thread  (10 blocks)
 *   thread:      thread_main -> descend(100): 101 frames -> leaf_deep  (10 blocks)
 *   thread:      thread_main -> padded -> outer_gap -> gap -> leaf_cut (1 block)
 *                                                        -> leaf_after (1 block)
 * leaf_cut allocates while the page that holds gap's frame record is
 * PROT_NONE (a page a probe cannot read, but mapped: as if swapped out);
 * leaf_after allocates from the same frames once it is readable again.
 * The expected frames are in deep_stacks_test.cpp. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define FRAME __attribute__((noinline, noipa))
static void* volatile sink;

FRAME void leaf_main(void) {
  for (int i = 0; i < 10; ++i) {
    sink = malloc(100 + i);
    free(sink);
  }
}
FRAME void leaf_thread(void) {
  for (int i = 0; i < 10; ++i) {
    sink = malloc(200 + i);
    free(sink);
  }
}
FRAME void leaf_deep(void) {
  for (int i = 0; i < 10; ++i) {
    sink = malloc(300 + i);
    free(sink);
  }
}

/* Not a tail call: the asm after the call keeps the frame. */
FRAME void descend(int left, void (*leaf)(void)) {
  if (left == 0) leaf();
  else descend(left - 1, leaf);
  __asm__ volatile("" ::: "memory");
}

FRAME void leaf_cut(void* page) {
  mprotect(page, 4096, PROT_NONE);
  sink = malloc(400);
  mprotect(page, 4096, PROT_READ | PROT_WRITE);
  free(sink);
}
FRAME void leaf_after(void) {
  sink = malloc(500);
  free(sink);
}

/* 12 KiB of locals put the leaves' frames pages below gap's frame record. */
FRAME void gap(void) {
  volatile char pad[12288];
  pad[0] = 0;
  void* page = (void*)((uintptr_t)__builtin_frame_address(0) & ~(uintptr_t)4095);
  leaf_cut(page);
  leaf_after();
  __asm__ volatile("" ::: "memory");
}
FRAME void outer_gap(void) {
  gap();
  __asm__ volatile("" ::: "memory");
}
/* And these keep that page clear of the thread's first frames and of the
 * thread's control block above them. */
FRAME void padded(void) {
  volatile char pad[12288];
  pad[0] = 0;
  outer_gap();
  __asm__ volatile("" ::: "memory");
}

FRAME void* thread_main(void* arg) {
  (void)arg;
  descend(30, leaf_thread);
  descend(100, leaf_deep);
  padded();
  __asm__ volatile("" ::: "memory");
  return NULL;
}

int main(void) {
  sigset_t s;
  int sig;
  pthread_t t;
  sigemptyset(&s);
  sigaddset(&s, SIGUSR1);
  sigprocmask(SIG_BLOCK, &s, NULL);
  write(2, "ready\n", 6);
  sigwait(&s, &sig);
  descend(20, leaf_main);
  pthread_create(&t, NULL, thread_main, NULL);
  pthread_join(t, NULL);
  write(2, "done\n", 5);
  sigwait(&s, &sig);
  return 0;
}
