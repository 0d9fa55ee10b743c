// Worker loop of the measured phase and the deliberate leak.
//
// The leak (all profiles, unless --no-leak):
//   site_leak_session_cache   malloc   every 4th global iteration (k % 4 == 0),
//                                      1-4 KiB, never freed (not even at exit)
// Every block it makes is still live at the end of the phase (figures at the
// defaults: docs/measurements.md#workload-ground-truth-at-the-defaults).
#include <cstdlib>
#include <malloc.h>
#include <stdlib.h>
#include <unistd.h>

#include "text_buffer.h"
#include "worker.h"

namespace memscope::workload {

[[noreturn]] void fatal(const char* what, std::uint16_t site) {
    char buf[256];
    TextBuffer t(buf, sizeof buf);
    t.append("memscope-workload: fatal: ").append(what);
    if (site < SITE_COUNT) t.append(" at ").append(kSites[site].function);
    t.append("\n");
    write_all(2, t.data(), t.size());
    _exit(3);
}

namespace {

void leak_session_cache(ThreadCtx& c) {
    std::size_t n = c.rng.range(1024, 4096);
    Block b = track_new(c, SITE_LEAK_SESSION_CACHE, site_leak_session_cache(n), n);
    fill(c, b);
    absorb(c, b.ptr, b.size);
    // Deliberately dropped: the block stays allocated forever.
}

}  // namespace

// Iterations [begin, end) of this thread.  "mixed" interleaves the three
// profiles on every thread: global iteration k runs web (k%3==0), pipeline
// (k%3==1) or game (k%3==2) with profile-local index k/3.  At the defaults
// mixed makes 44441 allocation calls + 42149 frees (free and the deletes) = 86590 calls,
// 294786904 bytes.
void run_iterations(ThreadCtx& c) {
    for (std::uint64_t k = c.begin; k < c.end; ++k) {
        switch (c.profile) {
            case Profile::Web:
                web_iteration(c, k);
                break;
            case Profile::Pipeline:
                pipeline_iteration(c, k);
                break;
            case Profile::Game:
                game_iteration(c, k);
                break;
            case Profile::Mixed:
                switch (k % 3) {
                    case 0:
                        web_iteration(c, k / 3);
                        break;
                    case 1:
                        pipeline_iteration(c, k / 3);
                        break;
                    default:
                        game_iteration(c, k / 3);
                        break;
                }
                break;
        }
        if (c.leak && k % 4 == 0) leak_session_cache(c);
    }
}

void run_phase(ThreadCtx& c) {
    run_iterations(c);
    web_finish(c);
    pipeline_finish(c);
    game_finish(c);
}

void large_blocks_phase(ThreadCtx& c, unsigned n) {
    Block mapped[kMaxLargeBlocks], heap[kMaxLargeBlocks];
    for (unsigned i = 0; i < n; ++i) {
        std::size_t size = (std::size_t{1} << 20) + i * (std::size_t{64} << 10);
        mapped[i] = track_new(c, SITE_LARGE_MAPPED_BLOCK, site_large_mapped_block(size), size);
        fill(c, mapped[i]);  // resident: the RSS shows it
    }
    for (unsigned i = 0; i < n; ++i) {
        std::size_t size = std::size_t{64} << 10;
        heap[i] = track_new(c, SITE_LARGE_HEAP_BLOCK, site_large_heap_block(size), size);
        fill(c, heap[i]);
    }
    for (unsigned i = n; i-- > 0;) retire(c, heap[i]);
    for (unsigned i = 0; i < n; ++i) retire(c, mapped[i]);
}

void warm_up_allocator() {
    // Runs before the phase (not counted): initialises this thread's arena and
    // tcache and touches every entry point once.
    void* volatile sink;
    void* a = malloc(64);
    void* b = calloc(4, 16);
    void* r = realloc(nullptr, 100);
    r = realloc(r, 5000);
    void* ra = reallocarray(nullptr, 4, 8);
    ra = reallocarray(ra, 64, 8);
    void* pm = nullptr;
    if (posix_memalign(&pm, 64, 256) != 0) pm = nullptr;
    void* al = aligned_alloc(64, 256);
    void* ma = memalign(128, 256);
    void* va = valloc(4096);
    void* pv = pvalloc_usable() ? pvalloc(100) : nullptr;
    void* all[] = {a, b, r, ra, pm, al, ma, va, pv};
    for (void* p : all) {
        sink = p;
        if (p) free(p);
    }
    void* obj = ::operator new(64);
    sink = obj;
    ::operator delete(obj, 64);
    unsigned char* arr = new unsigned char[64];
    sink = arr;
    delete[] arr;
    (void)sink;
}

}  // namespace memscope::workload
