// Profile "web": one iteration = one HTTP-like request.
//
// Per request:
//   site_web_request_buffer     malloc   1x       4-16 KiB   freed at request end
//   site_web_header_string      malloc   6x       8-200 B    freed at request end
//   site_web_json_node          calloc   10x      1 x 48-96 B freed at request end
//   site_web_response_buffer    realloc  3x       realloc(NULL, 512) -> 2048 -> 8192, freed
//   site_web_header_table       calloc   1 in 8   8 x 32 B
//   site_web_header_table_grow  reallocarray (same 1 in 8) 16-64 x 32 B, freed
//   site_web_connection_pool    posix_memalign(64, 2-4 KiB), first 8 requests of
//                               each thread; kept until the end of the phase
// (+ site_leak_session_cache every 4th iteration, see worker.cpp)
//
// Measured at the defaults (--scale 1000 --threads 2 --seed 1); other seeds
// differ by a few percent in bytes, calls are fixed by scale/threads.  The
// exact values of any run are in its --truth file.
//   site                         calls      bytes   share   block sizes
//   site_web_response_buffer      3000   10752000   46.4%   512, 2048, 8192 (1000 each)
//   site_web_request_buffer       1000   10227754   44.1%   4-16 KiB (avg ~10 KiB)
//   site_web_json_node           10000     718910    3.1%   48-96 B
//   site_leak_session_cache        250     637933    2.8%   1-4 KiB, all still live
//   site_web_header_string        6000     620520    2.7%   8-200 B
//   site_web_header_table_grow     125     158912    0.7%   512-2048 B
//   site_web_connection_pool        16      49050    0.2%   2-4 KiB (8 per thread)
//   site_web_header_table          125      32000    0.1%   256 B
//   free                         18141
// Total: 20516 allocation calls (+1000 NULL-pointer reallocs that glibc
// forwards to malloc internally) + 18141 frees = 38657 calls, 23197079 bytes.
// The only sites above 5% of the bytes are the response buffer (3000 calls,
// blocks up to 8 KiB) and the request buffer (1000 calls of 4-16 KiB).
#include "worker.h"

namespace memscope::workload {

namespace {

constexpr std::size_t kPoolAlignment = 64;

void open_connection(ThreadCtx& c) {
    std::size_t n = c.rng.range(2048, 4096);
    void* p = site_web_connection_pool(kPoolAlignment, n);
    Block b = track_new(c, SITE_WEB_CONNECTION_POOL, p, n);
    check_alignment(b, kPoolAlignment);
    fill(c, b);
    c.web_pool[c.web_pool_count++] = b;
}

}  // namespace

void web_iteration(ThreadCtx& c, std::uint64_t idx) {
    // Long-lived connection pool, created by the first requests of the thread.
    if (c.web_pool_count < kWebPoolSize) open_connection(c);
    Block& conn = c.web_pool[c.web_requests % static_cast<std::uint64_t>(c.web_pool_count)];

    // Request buffer.
    std::size_t req_size = c.rng.range(4096, 16384);
    Block req = track_new(c, SITE_WEB_REQUEST_BUFFER, site_web_request_buffer(req_size), req_size);
    fill(c, req);

    // Header strings.
    for (int i = 0; i < kWebStrings; ++i) {
        std::size_t n = c.rng.range(8, 200);
        c.web_strings[i] = track_new(c, SITE_WEB_HEADER_STRING, site_web_header_string(n), n);
        fill(c, c.web_strings[i]);
    }

    // Parsed JSON document.
    for (int i = 0; i < kWebNodes; ++i) {
        std::size_t n = c.rng.range(48, 96);
        c.web_nodes[i] = track_new(c, SITE_WEB_JSON_NODE, site_web_json_node(1, n), n);
        absorb_zeroed(c, c.web_nodes[i]);
        fill(c, c.web_nodes[i]);
    }

    // Occasionally: a header table grown with reallocarray.
    if (idx % 8 == 3) {
        Block table = track_new(c, SITE_WEB_HEADER_TABLE, site_web_header_table(8, 32), 8 * 32);
        absorb_zeroed(c, table);
        fill(c, table);
        std::size_t entries = c.rng.range(16, 64);
        void* p = site_web_header_table_grow(table.ptr, entries, 32);
        std::size_t old = table.size;
        track_realloc(c, SITE_WEB_HEADER_TABLE_GROW, table, p, entries * 32);
        absorb(c, table.ptr, old);
        fill(c, table);
        retire(c, table);
    }

    // Response buffer grown with realloc: NULL -> 512 -> 2 KiB -> 8 KiB.
    Block resp;
    static constexpr std::size_t kResponseSizes[3] = {512, 2048, 8192};
    for (std::size_t n : kResponseSizes) {
        std::size_t old = resp.size;
        void* p = site_web_response_buffer(resp.ptr, n);
        track_realloc(c, SITE_WEB_RESPONSE_BUFFER, resp, p, n);
        if (old) absorb(c, resp.ptr, old);  // content preserved by realloc
        fill(c, resp);
    }

    // "Send" the response on the connection.
    std::memcpy(conn.ptr, resp.ptr, 16);
    c.hash = hash_mix(c.hash, *static_cast<const std::uint64_t*>(conn.ptr));

    for (int i = 0; i < kWebNodes; ++i) retire(c, c.web_nodes[i]);
    for (int i = 0; i < kWebStrings; ++i) retire(c, c.web_strings[i]);
    retire(c, resp);
    retire(c, req);
    c.web_requests += 1;
}

void web_finish(ThreadCtx& c) {
    for (int i = 0; i < c.web_pool_count; ++i) retire(c, c.web_pool[i]);
    c.web_pool_count = 0;
}

}  // namespace memscope::workload
