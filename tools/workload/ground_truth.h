// Exact ground truth of the measured phase: aggregation of the per-thread
// counters and the non-allocating JSON writer.
#pragma once

#include <cstdint>

#include "options.h"
#include "sites.h"
#include "text_buffer.h"
#include "worker.h"

namespace memscope::workload {

struct ApiCounters {
    std::uint64_t calls = 0;
    std::uint64_t bytes = 0;
};

struct Truth {
    SiteCounters sites[SITE_COUNT];
    ApiCounters api[kApiCount];
    std::uint64_t alloc_calls = 0;  // all APIs except free and the deletes
    std::uint64_t alloc_bytes = 0;
    std::uint64_t free_calls = 0;  // free and the deletes
    std::uint64_t null_realloc_calls = 0;
    std::uint64_t null_realloc_bytes = 0;
    std::uint64_t null_reallocarray_calls = 0;
    std::uint64_t null_reallocarray_bytes = 0;
    std::uint64_t checksum = 0;
    std::uint64_t brk_start = 0;  // the program break before the phase
    std::uint64_t brk_end = 0;    // and after it
};

// Sums per-thread counters (and combines per-thread hashes in thread-index
// order into the checksum).  No allocation.
void aggregate(const ThreadCtx* ctxs, unsigned count, Truth& out);

// Formats the truth JSON (schema memscope-workload/truth/v1) into `out`.
// Returns false if the buffer was too small.
bool format_truth(const Truth& t, const Options& o, long pid, TextBuffer& out);

// open/write/close; returns false on error.
bool write_file(const char* path, const TextBuffer& content);

}  // namespace memscope::workload
