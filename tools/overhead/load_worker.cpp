#include "load_worker.h"

#include <time.h>

#include <cstdio>
#include <cstdlib>

namespace memscope::overhead {
namespace {

// Blocks stay live for kRing steps: enough that successive calls do not just
// hand one block back and forth through the tcache, few enough that the
// working set stays in cache whatever the tracer does.
constexpr unsigned kRing = 16;
// Steps between clock reads: the clock read (~20 ns, vDSO) is then noise
// even untraced, and the window overshoots by at most a few ms when every
// call traps.
constexpr unsigned kChunk = 16;

[[noreturn]] void out_of_memory() {
  fputs("memscope-overhead-load: allocation failed\n", stderr);
  _Exit(3);
}

class Stepper {
 public:
  explicit Stepper(const std::vector<Op>& ops) : ops_(ops), mask_(ops.size() - 1) {}
  ~Stepper() {
    for (void* p : slots_) free(p);
  }
  Stepper(const Stepper&) = delete;
  Stepper& operator=(const Stepper&) = delete;

  void chunk(CallCounts& c) {
    for (unsigned k = 0; k < kChunk; ++k) step(c);
  }

 private:
  void step(CallCounts& c) {
    const Op& op = ops_[next_ & mask_];
    void*& slot = slots_[next_ % kRing];
    ++next_;
    if (slot) {
      free(slot);
      ++c.free;
    }
    void* p = nullptr;
    switch (op.kind) {
      case OpKind::Malloc:
        p = malloc(op.a);
        ++c.malloc;
        break;
      case OpKind::Calloc:
        p = calloc(op.a, op.b);
        ++c.calloc;
        break;
      case OpKind::Realloc: {
        p = malloc(op.a);
        ++c.malloc;
        if (!p) out_of_memory();
        static_cast<volatile char*>(p)[0] = 1;
        void* q = realloc(p, op.b);
        ++c.realloc;
        if (q) p = q;
        break;
      }
    }
    if (!p) out_of_memory();
    // Use the block, as a program would; the allocator calls themselves are
    // kept by -fno-builtin-* (see CMakeLists.txt).
    static_cast<volatile char*>(p)[0] = 1;
    slot = p;
  }

  const std::vector<Op>& ops_;
  size_t mask_;
  size_t next_ = 0;
  void* slots_[kRing] = {};
};

}  // namespace

uint64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

uint64_t thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

void prime_allocator(const std::vector<Op>& ops) {
  Stepper s(ops);
  CallCounts ignored;
  for (size_t i = 0; i < ops.size(); i += kChunk) s.chunk(ignored);
}

WorkerResult run_measured(const std::vector<Op>& ops, uint64_t warmup_ns, uint64_t measure_ns) {
  Stepper s(ops);
  CallCounts ignored;
  const uint64_t warm_end = monotonic_ns() + warmup_ns;
  while (monotonic_ns() < warm_end) s.chunk(ignored);

  WorkerResult r;
  const uint64_t c0 = thread_cpu_ns(), t0 = monotonic_ns(), end = t0 + measure_ns;
  uint64_t t1;
  do {
    s.chunk(r.calls);
    t1 = monotonic_ns();
  } while (t1 < end);
  r.cpu_ns = thread_cpu_ns() - c0;
  r.elapsed_ns = t1 - t0;
  return r;
}

}  // namespace memscope::overhead
