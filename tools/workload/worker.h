// Per-thread state of the measured phase, exact bookkeeping helpers, and the
// per-profile iteration entry points.
//
// Everything a worker needs during the phase lives in its ThreadCtx, which is
// mmap'ed before the phase: the hot path never allocates except through the
// site functions, and counts every such call in plain (per-thread) counters.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "options.h"
#include "rng.h"
#include "sites.h"

namespace memscope::workload {

struct SiteCounters {
    std::uint64_t calls = 0;
    std::uint64_t bytes = 0;      // requested bytes
    std::int64_t live_count = 0;  // blocks currently owned by this site
    std::int64_t live_bytes = 0;
};

// A tracked heap block: pointer, requested size, and the site that currently
// owns it (the site of the last malloc/calloc/realloc/... that returned it).
struct Block {
    void* ptr = nullptr;
    std::size_t size = 0;
    std::uint16_t site = SITE_NONE;
};

// Capacities of the preallocated per-thread pointer pools.
constexpr int kWebStrings = 6;
constexpr int kWebNodes = 10;
constexpr int kWebPoolSize = 8;
constexpr int kPipeChunks = 4;
constexpr int kPipeAlignedChunks = 2;
constexpr int kPipeTempArrays = 2;
constexpr int kGameMaxFrameObjects = 128;
constexpr int kGameRenderBuffers = 2;

struct alignas(64) ThreadCtx {
    unsigned index = 0;
    Profile profile = Profile::Web;
    bool leak = true;
    std::uint64_t begin = 0;  // global iteration range [begin, end)
    std::uint64_t end = 0;
    std::uint64_t churn = 0;  // short-lived threads that run this worker's iterations (0: it runs them)
    Rng rng;
    std::uint64_t hash = 0;  // content hash of this thread's work

    SiteCounters sites[SITE_COUNT];
    std::uint64_t free_calls = 0;
    std::uint64_t delete_calls = 0;        // operator delete
    std::uint64_t delete_array_calls = 0;  // operator delete[]
    // realloc()/reallocarray() calls with a NULL pointer (glibc forwards these
    // to malloc internally; reported separately for tracer debugging).
    std::uint64_t null_realloc_calls = 0;
    std::uint64_t null_realloc_bytes = 0;
    std::uint64_t null_reallocarray_calls = 0;
    std::uint64_t null_reallocarray_bytes = 0;

    // ---- web state
    std::uint64_t web_requests = 0;
    int web_pool_count = 0;
    Block web_pool[kWebPoolSize];
    Block web_strings[kWebStrings];
    Block web_nodes[kWebNodes];

    // ---- pipeline state
    std::uint64_t pipe_batches = 0;
    Block pipe_chunks[kPipeChunks];
    Block pipe_aligned[kPipeAlignedChunks];
    Block pipe_temps[kPipeTempArrays];

    // ---- game state
    std::uint64_t game_frames = 0;
    Block game_render[kGameRenderBuffers];
    Block game_texture;
    std::uint64_t game_texture_due = 0;  // free at the start of this frame number
    Block game_objects[kGameMaxFrameObjects];
};

// Fatal error inside the phase (allocation failure, broken invariant):
// write a line and _exit(3).  Never allocates.
[[noreturn]] void fatal(const char* what, std::uint16_t site);

// ---- bookkeeping: every site call is followed by exactly one of these -----

// A fresh block returned by a malloc/calloc/memalign/... site.
inline Block track_new(ThreadCtx& c, SiteId site, void* p, std::size_t bytes) {
    if (!p) fatal("allocation failed", site);
    SiteCounters& s = c.sites[site];
    s.calls += 1;
    s.bytes += bytes;
    s.live_count += 1;
    s.live_bytes += static_cast<std::int64_t>(bytes);
    return Block{p, bytes, site};
}

// b was passed to a realloc/reallocarray site (b.ptr may be NULL) which
// returned p with new requested size `bytes`.  Ownership moves to `site`.
inline void track_realloc(ThreadCtx& c, SiteId site, Block& b, void* p, std::size_t bytes) {
    if (!p) fatal("reallocation failed", site);
    if (b.ptr) {
        SiteCounters& old = c.sites[b.site];
        old.live_count -= 1;
        old.live_bytes -= static_cast<std::int64_t>(b.size);
    } else if (kSites[site].api == Api::Reallocarray) {
        c.null_reallocarray_calls += 1;
        c.null_reallocarray_bytes += bytes;
    } else {
        c.null_realloc_calls += 1;
        c.null_realloc_bytes += bytes;
    }
    SiteCounters& s = c.sites[site];
    s.calls += 1;
    s.bytes += bytes;
    s.live_count += 1;
    s.live_bytes += static_cast<std::int64_t>(bytes);
    b = Block{p, bytes, site};
}

// Hash the content of b into the thread hash (samples: size, first 8 bytes,
// last 8 bytes, one byte per 4 KiB).  Only reads bytes the program wrote.
inline void absorb(ThreadCtx& c, const void* ptr, std::size_t n) {
    const unsigned char* s = static_cast<const unsigned char*>(ptr);
    std::uint64_t h = hash_mix(c.hash, n);
    if (n >= 16) {
        std::uint64_t a, z;
        std::memcpy(&a, s, 8);
        std::memcpy(&z, s + n - 8, 8);
        h = hash_mix(h, a);
        h = hash_mix(h, z);
        for (std::size_t off = 4096; off < n; off += 4096) h = hash_mix(h, s[off]);
    } else {
        for (std::size_t i = 0; i < n; ++i) h = hash_mix(h, s[i]);
    }
    c.hash = h;
}

// Fill the whole block with PRNG-derived data (every byte is written).
inline void fill(ThreadCtx& c, const Block& b) {
    std::uint64_t r = c.rng.next();
    std::memset(b.ptr, static_cast<int>(r & 0xff), b.size);
    if (b.size >= 16) {
        std::uint64_t r2 = r * 0x2545f4914f6cdd1dULL;
        std::memcpy(b.ptr, &r, 8);
        std::memcpy(static_cast<unsigned char*>(b.ptr) + b.size - 8, &r2, 8);
    }
}

// Hash the block, then give it back the way it was allocated: operator
// delete / delete[] for the C++ sites, free() for the others.
inline void retire(ThreadCtx& c, Block& b) {
    if (!b.ptr) fatal("retire of an empty block", b.site);
    absorb(c, b.ptr, b.size);
    SiteCounters& s = c.sites[b.site];
    s.live_count -= 1;
    s.live_bytes -= static_cast<std::int64_t>(b.size);
    switch (kSites[b.site].api) {
        case Api::OperatorNew:
            c.delete_calls += 1;
            release_object(b.ptr, b.size);
            break;
        case Api::OperatorNewArray:
            c.delete_array_calls += 1;
            release_array(b.ptr);
            break;
        default:
            c.free_calls += 1;
            release_block(b.ptr);
    }
    b = Block{};
}

// Zero check for calloc'ed memory, folded into the hash.
inline void absorb_zeroed(ThreadCtx& c, const Block& b) {
    const unsigned char* s = static_cast<const unsigned char*>(b.ptr);
    unsigned char acc = 0;
    for (std::size_t i = 0; i < b.size; ++i) acc |= s[i];
    if (acc != 0) fatal("calloc returned non-zeroed memory", b.site);
    c.hash = hash_mix(c.hash, b.size);
}

inline void check_alignment(const Block& b, std::size_t alignment) {
    if (reinterpret_cast<std::uintptr_t>(b.ptr) % alignment != 0) fatal("misaligned block", b.site);
}

// ---- profiles: one iteration = one request / batch / frame ----------------
// `idx` is the profile-local iteration number (global iteration index for the
// single profiles, global index / 3 for mixed).
void web_iteration(ThreadCtx& c, std::uint64_t idx);
void web_finish(ThreadCtx& c);  // frees the connection pool
void pipeline_iteration(ThreadCtx& c, std::uint64_t idx);
void pipeline_finish(ThreadCtx& c);
void game_iteration(ThreadCtx& c, std::uint64_t idx);
void game_finish(ThreadCtx& c);  // frees render buffers and a pending texture

// Runs this thread's whole share of the measured phase (iterations, leak,
// end-of-phase cleanup).
void run_phase(ThreadCtx& c);
// The iterations [begin, end) alone, without the end-of-phase frees.
void run_iterations(ThreadCtx& c);

// Calls every allocation API once outside of the phase so that arenas,
// tcache and any lazy initialisation exist before the tracer starts counting.
void warm_up_allocator();

// --large-blocks: n blocks of 1 MiB + i * 64 KiB, held together so that
// glibc maps each with mmap whatever its threshold does when one is freed,
// and n heap blocks of 64 KiB, freed before the mapped ones (their free
// raises glibc's trim threshold) so that the break moves back. Counted
// under c, which must not run meanwhile.
void large_blocks_phase(ThreadCtx& c, unsigned n);
// --dlopen: the library opened, then its own malloc/free pairs (loaded_library.cpp).
void loaded_library_phase(ThreadCtx& c, const Options& o);

}  // namespace memscope::workload
