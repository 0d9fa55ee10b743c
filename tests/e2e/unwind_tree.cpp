// Allocates at the bottom of a known call tree, eight of its own frames
// deep, through malloc, new, std::vector growth, std::string appends and
// std::map inserts, between SIGUSR1 and "done":
//   main -> top -> mid_1 -> ... -> mid_5 -> leaf_<kind>
// An optional argument repeats the tree that many times (default once), for
// tools/unwind_designs/perf_dwarf.sh to time many calls in one run.
// Built with and without frame pointers; unwind_test.cpp checks every
// sampled stack against the chain this program prints on stderr, one
// "chain <leaf> <caller> ... main" line per kind. Every function does
// something after its call, so that no call becomes a jump (a tail call
// leaves no frame).
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#define FRAME __attribute__((noinline))

static volatile int after_call;
static void* volatile sink;

FRAME void leaf_malloc(int n) {
  for (int i = 0; i < n; ++i) {
    sink = malloc(64 + i);
    free(sink);
  }
  after_call = after_call + 1;
}
FRAME void leaf_new(int n) {
  for (int i = 0; i < n; ++i) {
    auto* p = new long[8 + i];
    sink = p;
    delete[] p;
  }
  after_call = after_call + 1;
}
FRAME void leaf_vector(int n) {
  std::vector<long> v;
  for (int i = 0; i < n * 16; ++i) v.push_back(i);
  sink = v.data();
  after_call = after_call + 1;
}
FRAME void leaf_string(int n) {
  std::string s;
  for (int i = 0; i < n * 16; ++i) s.append("abcdefghijklmnopqrstuvwxyz0123456789");
  sink = s.data();
  after_call = after_call + 1;
}
FRAME void leaf_map(int n) {
  std::map<int, long> m;
  for (int i = 0; i < n; ++i) m[i] = i;
  sink = &m;
  after_call = after_call + 1;
}

FRAME void mid_5(int kind, int n) {
  switch (kind) {
    case 0:
      leaf_malloc(n);
      break;
    case 1:
      leaf_new(n);
      break;
    case 2:
      leaf_vector(n);
      break;
    case 3:
      leaf_string(n);
      break;
    default:
      leaf_map(n);
      break;
  }
  after_call = after_call + 5;
}
FRAME void mid_4(int kind, int n) {
  mid_5(kind, n);
  after_call = after_call + 4;
}
FRAME void mid_3(int kind, int n) {
  mid_4(kind, n);
  after_call = after_call + 3;
}
FRAME void mid_2(int kind, int n) {
  mid_3(kind, n);
  after_call = after_call + 2;
}
FRAME void mid_1(int kind, int n) {
  mid_2(kind, n);
  after_call = after_call + 1;
}
FRAME void top(int n) {
  for (int kind = 0; kind < 5; ++kind) mid_1(kind, n);
  after_call = after_call + 1;
}

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? atoi(argv[1]) : 1;
  static const char* const leaves[] = {"leaf_malloc", "leaf_new", "leaf_vector", "leaf_string", "leaf_map"};
  for (const char* leaf : leaves) fprintf(stderr, "chain %s mid_5 mid_4 mid_3 mid_2 mid_1 top main\n", leaf);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  fprintf(stderr, "ready\n");
  int sig = 0;
  sigwait(&set, &sig);
  for (int r = 0; r < rounds; ++r) top(50);
  fprintf(stderr, "done\n");
  sigwait(&set, &sig);
  return 0;
}
