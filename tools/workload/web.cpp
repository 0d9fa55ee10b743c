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
// The calls, bytes and shares of each site at the defaults are in
// docs/measurements.md#workload-ground-truth-at-the-defaults; the exact values
// of any run are in its --truth file.
// The only sites above 5% of the bytes are the response buffer (blocks up to
// 8 KiB) and the request buffer (4-16 KiB): the e2e tests' estimate check
// relies on that.
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
