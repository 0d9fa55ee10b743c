#include "ground_truth.h"

#include <fcntl.h>
#include <unistd.h>

namespace memscope::workload {

void aggregate(const ThreadCtx* ctxs, unsigned count, Truth& t) {
    t = Truth{};
    std::uint64_t h = 0x6d656d73636f7065ULL;  // "memscope"
    std::uint64_t free_calls = 0, delete_calls = 0, delete_array_calls = 0;
    for (unsigned i = 0; i < count; ++i) {
        const ThreadCtx& c = ctxs[i];
        for (unsigned s = 0; s < SITE_COUNT; ++s) {
            t.sites[s].calls += c.sites[s].calls;
            t.sites[s].bytes += c.sites[s].bytes;
            t.sites[s].live_count += c.sites[s].live_count;
            t.sites[s].live_bytes += c.sites[s].live_bytes;
        }
        free_calls += c.free_calls;
        delete_calls += c.delete_calls;
        delete_array_calls += c.delete_array_calls;
        t.null_realloc_calls += c.null_realloc_calls;
        t.null_realloc_bytes += c.null_realloc_bytes;
        t.null_reallocarray_calls += c.null_reallocarray_calls;
        t.null_reallocarray_bytes += c.null_reallocarray_bytes;
        h = hash_mix(h, i);
        h = hash_mix(h, c.hash);
    }
    for (unsigned s = 0; s < SITE_COUNT; ++s) {
        ApiCounters& a = t.api[static_cast<unsigned>(kSites[s].api)];
        a.calls += t.sites[s].calls;
        a.bytes += t.sites[s].bytes;
        t.alloc_calls += t.sites[s].calls;
        t.alloc_bytes += t.sites[s].bytes;
    }
    t.api[static_cast<unsigned>(Api::Free)].calls = free_calls;
    t.api[static_cast<unsigned>(Api::OperatorDelete)].calls = delete_calls;
    t.api[static_cast<unsigned>(Api::OperatorDeleteArray)].calls = delete_array_calls;
    t.free_calls = free_calls + delete_calls + delete_array_calls;
    t.checksum = hash_mix(h, t.alloc_calls);
}

namespace {

void calls_bytes(TextBuffer& b, std::uint64_t calls, std::uint64_t bytes) {
    b.append("{\"calls\": ").append_u64(calls).append(", \"bytes\": ").append_u64(bytes).append("}");
}

}  // namespace

bool format_truth(const Truth& t, const Options& o, long pid, TextBuffer& b) {
    b.clear();
    b.append("{\n");
    b.append("  \"schema\": \"memscope-workload/truth/v1\",\n");
    b.append("  \"pid\": ").append_i64(pid).append(",\n");
    b.append("  \"profile\": ").append_json_string(profile_name(o.profile)).append(",\n");
    b.append("  \"scale\": ").append_u64(o.scale).append(",\n");
    b.append("  \"threads\": ").append_u64(o.threads).append(",\n");
    b.append("  \"seed\": ").append_u64(o.seed).append(",\n");
    b.append("  \"leak_enabled\": ").append(o.leak ? "true" : "false").append(",\n");
    b.append("  \"large_blocks\": ").append_u64(o.large_blocks).append(",\n");
    b.append("  \"dlopen_calls\": ").append_u64(o.dlopen_path ? o.dlopen_calls : 0).append(",\n");
    b.append("  \"child\": ").append_u64(o.child).append(",\n");
    b.append("  \"brk_start\": ").append_u64(t.brk_start).append(",\n");
    b.append("  \"brk_end\": ").append_u64(t.brk_end).append(",\n");

    b.append("  \"by_api\": {\n");
    for (unsigned a = 0; a < kApiCount; ++a) {
        b.append("    ").append_json_string(api_name(static_cast<Api>(a))).append(": ");
        calls_bytes(b, t.api[a].calls, t.api[a].bytes);
        b.append(a + 1 < kApiCount ? ",\n" : "\n");
    }
    b.append("  },\n");

    b.append("  \"totals\": {\"alloc_calls\": ").append_u64(t.alloc_calls);
    b.append(", \"alloc_bytes\": ").append_u64(t.alloc_bytes);
    b.append(", \"free_calls\": ").append_u64(t.free_calls);
    b.append(", \"calls\": ").append_u64(t.alloc_calls + t.free_calls);
    b.append("},\n");

    // glibc implements realloc(NULL, n) as an internal call to malloc and
    // reallocarray() as an internal call to realloc: a raw uprobe on malloc /
    // realloc also fires for these nested calls.  Exact counts for reference.
    b.append("  \"null_ptr_reallocs\": {\"realloc\": ");
    calls_bytes(b, t.null_realloc_calls, t.null_realloc_bytes);
    b.append(", \"reallocarray\": ");
    calls_bytes(b, t.null_reallocarray_calls, t.null_reallocarray_bytes);
    b.append("},\n");

    b.append("  \"sites\": [");
    bool first = true;
    for (unsigned s = 0; s < SITE_COUNT; ++s) {
        const SiteCounters& sc = t.sites[s];
        if (sc.calls == 0) continue;
        b.append(first ? "\n" : ",\n");
        first = false;
        b.append("    {\"function\": ").append_json_string(kSites[s].function);
        b.append(", \"api\": ").append_json_string(api_name(kSites[s].api));
        b.append(", \"calls\": ").append_u64(sc.calls);
        b.append(", \"bytes\": ").append_u64(sc.bytes);
        b.append(", \"live_count\": ").append_i64(sc.live_count);
        b.append(", \"live_bytes\": ").append_i64(sc.live_bytes);
        b.append("}");
    }
    b.append(first ? "],\n" : "\n  ],\n");

    const SiteCounters& leak = t.sites[SITE_LEAK_SESSION_CACHE];
    b.append("  \"leak\": {\"function\": ").append_json_string(kSites[SITE_LEAK_SESSION_CACHE].function);
    b.append(", \"live_count\": ").append_i64(leak.live_count);
    b.append(", \"live_bytes\": ").append_i64(leak.live_bytes);
    b.append("},\n");

    b.append("  \"checksum\": \"").append_hex16(t.checksum).append("\"\n");
    b.append("}\n");
    return !b.overflowed();
}

bool write_file(const char* path, const TextBuffer& content) {
    int fd = ::open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return false;
    bool ok = write_all(fd, content.data(), content.size());
    if (::close(fd) != 0) ok = false;
    return ok;
}

}  // namespace memscope::workload
