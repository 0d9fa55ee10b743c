#include "throughput_loop.h"

#include <cstdlib>

#include "phase_control.h"
#include "text_buffer.h"

namespace memscope::workload {
namespace {

// Blocks stay live for kRing steps: enough that successive calls do not just
// hand one block back and forth through the tcache, few enough that the
// working set stays in cache whatever the tracer does.
constexpr unsigned kRing = 16;
// Steps between clock reads: the clock read (a vDSO call) is then noise
// even untraced, and the window overshoots by at most a few ms when every
// call traps.
constexpr unsigned kChunk = 16;

[[noreturn]] void out_of_memory() {
    static const char kMessage[] = "memscope-workload: allocation failed\n";
    write_all(2, kMessage, sizeof kMessage - 1);
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
        // Use the block, as a program would; the allocator calls themselves
        // are kept by -fno-builtin-* (see CMakeLists.txt).
        static_cast<volatile char*>(p)[0] = 1;
        slot = p;
    }

    const std::vector<Op>& ops_;
    std::size_t mask_;
    std::size_t next_ = 0;
    void* slots_[kRing] = {};
};

}  // namespace

void prime_allocator(const std::vector<Op>& ops) {
    Stepper s(ops);
    CallCounts ignored;
    for (std::size_t i = 0; i < ops.size(); i += kChunk) s.chunk(ignored);
}

WindowResult run_window(const std::vector<Op>& ops, std::uint64_t warmup_ns, std::uint64_t measure_ns) {
    Stepper s(ops);
    CallCounts ignored;
    const std::uint64_t warm_end = monotonic_ns() + warmup_ns;
    while (monotonic_ns() < warm_end) s.chunk(ignored);

    WindowResult r;
    const std::uint64_t c0 = thread_cpu_ns(), t0 = monotonic_ns(), end = t0 + measure_ns;
    std::uint64_t t1;
    do {
        s.chunk(r.calls);
        t1 = monotonic_ns();
    } while (t1 < end);
    r.cpu_ns = thread_cpu_ns() - c0;
    r.elapsed_ns = t1 - t0;
    return r;
}

}  // namespace memscope::workload
