/* The layout shared by the BPF programs and the C++ agent: the 32-byte
 * ring-buffer record, the sampling configuration, the exact counters and the
 * site table. Plain C so that clang -target bpf and g++ both read it; every
 * struct has a static size check so that the two sides can never disagree. */
#ifndef MEMSCOPE_RECORD_H
#define MEMSCOPE_RECORD_H

#ifdef __bpf__
/* vmlinux.h already provides the __u* types. */
#else
#include <linux/types.h>
#endif

#ifdef __cplusplus
#define MS_STATIC_ASSERT(c, m) static_assert(c, m)
#else
#define MS_STATIC_ASSERT(c, m) _Static_assert(c, m)
#endif

/* Allocator entry points. The order is the report's order; where two entry
 * points share one address (glibc's aligned_alloc and memalign) the earlier
 * one here takes the calls. The C++ operators come after C's: each stands for
 * all its mangled variants (sized, nothrow, align_val_t); new takes its size
 * as malloc does, delete its pointer as free does. */
enum ms_api {
	MS_API_MALLOC = 0,
	MS_API_CALLOC,
	MS_API_REALLOC,
	MS_API_REALLOCARRAY,
	MS_API_FREE,
	MS_API_POSIX_MEMALIGN,
	MS_API_ALIGNED_ALLOC,
	MS_API_MEMALIGN,
	MS_API_VALLOC,
	MS_API_PVALLOC,
	MS_API_NEW, /* operator new */
	MS_API_NEW_ARRAY, /* operator new[] */
	MS_API_DELETE, /* operator delete */
	MS_API_DELETE_ARRAY, /* operator delete[] */
	MS_API_COUNT
};
MS_STATIC_ASSERT(MS_API_COUNT <= 64, "the record packs the api in 6 bits");

/* Entry points that release a block (and request no bytes). */
static inline int ms_api_frees(__u32 api)
{
	return api == MS_API_FREE || api == MS_API_DELETE || api == MS_API_DELETE_ARRAY;
}

/* Entry points that can release a sampled block: their probes stay attached
 * between allocation windows (release windows of their own under
 * --max-overhead without --leaks: bpf/duty_window.bpf.h). */
static inline int ms_api_releases(__u32 api)
{
	return ms_api_frees(api) || api == MS_API_REALLOC || api == MS_API_REALLOCARRAY;
}

/* Size tiers. MS_TIER_FORCED marks a call taken by the "one in every N"
 * guarantee: it was certain to be sampled, so its weight is 1. */
enum ms_tier {
	MS_TIER_SMALL = 0,
	MS_TIER_MEDIUM = 1,
	MS_TIER_LARGE = 2,
	MS_TIER_FORCED = 3,
	MS_TIER_COUNT = 3 /* real tiers; FORCED is a marker */
};

enum ms_kind {
	MS_KIND_ALLOC = 0, /* a block came into being (malloc, new block of realloc, ...) */
	MS_KIND_FREE = 1, /* a sampled block went away (free, old block of realloc) */
};

/* log2 size classes: class k holds sizes in [2^k, 2^(k+1)), class 0 also
 * holds size 0. 64 classes cover every size_t. */
#define MS_SIZE_CLASSES 64

/* Config slots: the agent writes a whole new slot, then publishes its index
 * in ms_config_epoch; records carry the slot index (6 bits) so that the
 * agent weights each record by the rates in force when it was chosen. */
#define MS_CONFIG_SLOTS 64
#define MS_EPOCH_MASK (MS_CONFIG_SLOTS - 1)

/* Probability 1.0 as a threshold: a call is sampled when
 * (u64)bpf_get_prandom_u32() < threshold, so 2^32 means always. */
#define MS_RATE_ONE (1ULL << 32)

enum ms_sampling_mode {
	MS_SAMPLE_TIERS = 0, /* per-tier probability, plus the guarantee */
	MS_SAMPLE_BYTES = 1, /* Poisson on bytes: size s sampled with p = 1 - exp(-s / byte_interval) */
};

struct ms_config {
	__u64 medium_min; /* sizes >= medium_min are medium (default 1024) */
	__u64 large_min; /* sizes >= large_min are large (default 8193) */
	__u64 threshold[3]; /* per-tier sampling threshold out of 2^32 */
	__u32 guarantee; /* sample at least one call in every `guarantee` (0: off) */
	__u32 epoch; /* slot index, echoed into records */
	__u32 mode; /* enum ms_sampling_mode */
	__u32 pad;
	__u64 byte_interval; /* mean bytes between samples in MS_SAMPLE_BYTES */
	__u64 always_min; /* tiers mode: sizes >= always_min are always sampled (0: off) */
};
MS_STATIC_ASSERT(sizeof(struct ms_config) == 72, "ms_config layout");

/* The ring-buffer record: exactly 32 bytes. */
struct ms_record {
	__u64 ptr; /* block address (0 for a failed allocation is never sent) */
	__u32 size_lo; /* requested size, low 32 bits */
	__u16 size_hi; /* bits 32..47: user blocks are < 2^47 bytes */
	__u8 kind_api; /* kind << 6 | api */
	__u8 tier_epoch; /* tier << 6 | config slot */
	__u32 tgid; /* process (host PID) */
	__u32 tid; /* thread (host TID), full 32 bits */
	__u32 site_id; /* index into ms_sites; MS_NO_SITE for frees */
	__u32 time; /* CLOCK_MONOTONIC ns >> 10, wraps every ~73 min */
};
MS_STATIC_ASSERT(sizeof(struct ms_record) == 32, "ms_record must be 32 bytes");

#define MS_NO_SITE 0xffffffffu
#define MS_TIME_SHIFT 10

static inline __u8 ms_pack_kind_api(__u32 kind, __u32 api)
{
	return (__u8)((kind << 6) | (api & 0x3f));
}
static inline __u32 ms_record_kind(const struct ms_record *r)
{
	return r->kind_api >> 6;
}
static inline __u32 ms_record_api(const struct ms_record *r)
{
	return r->kind_api & 0x3f;
}
static inline __u8 ms_pack_tier_epoch(__u32 tier, __u32 epoch)
{
	return (__u8)((tier << 6) | (epoch & MS_EPOCH_MASK));
}
static inline __u32 ms_record_tier(const struct ms_record *r)
{
	return r->tier_epoch >> 6;
}
static inline __u32 ms_record_epoch(const struct ms_record *r)
{
	return r->tier_epoch & MS_EPOCH_MASK;
}
static inline __u64 ms_record_size(const struct ms_record *r)
{
	return ((__u64)r->size_hi << 32) | r->size_lo;
}

/* Exact counters: one per (api, size class), per CPU, for every call. */
struct ms_count {
	__u64 calls;
	__u64 bytes;
};
MS_STATIC_ASSERT(sizeof(struct ms_count) == 16, "ms_count layout");
#define MS_COUNT_SLOTS (MS_API_COUNT * MS_SIZE_CLASSES)

/* Per-CPU health counters, indexes into the ms_stats array. */
enum ms_stat {
	MS_STAT_SAMPLED = 0, /* records submitted */
	MS_STAT_DROPPED, /* records lost: ring buffer full */
	MS_STAT_LIVE_FULL, /* sampled allocations whose free cannot be matched: live map full */
	MS_STAT_STACK_ERRORS, /* stacks that could not be stored: stack table full (frames beyond the caller
				 lost) */
	MS_STAT_SITE_FULL, /* site table full: record attributed to no site */
	MS_STAT_NESTED, /* calls made by the allocator itself, counted once as the outer call */
	MS_STAT_STALE_PENDING, /* entry state left by a call whose return was never seen */
	MS_STAT_WALK_CUT, /* stack walks cut at a frame whose page or mapping could not be read then */
	MS_STAT_DROPPED_FREES, /* of MS_STAT_DROPPED, the free records (the rest are allocations) */
	MS_STAT_COUNT
};

#define MS_MAX_STACK_DEPTH 64

/* A stack as the probes walk it: the probed instruction, then the return
 * address of each frame the walk unwound, innermost first. */
struct ms_stack {
	__u32 depth; /* entries of ips in use */
	__u32 stop; /* why the walk stopped: enum ms_walk_stop (memscope/unwind.h) */
	__u64 ips[MS_MAX_STACK_DEPTH];
};

/* A call site: the process, the frame-pointer stack (by the hash that keys
 * it in the stack table) and the immediate caller, which the frame-pointer
 * walk misses at a function's entry because the return address is still at
 * the stack pointer. */
struct ms_site_key {
	__u32 tgid;
	__u32 has_stack; /* 0: no stack beyond the caller (stack table full) */
	__u64 stack; /* hash of the stack: its key in the stack table */
	__u64 caller; /* return address at the stack pointer on entry */
};
MS_STATIC_ASSERT(sizeof(struct ms_site_key) == 24, "ms_site_key layout");

/* Key of the kernel's table of sampled live blocks. */
struct ms_live_key {
	__u32 tgid;
	__u32 pad;
	__u64 ptr;
};
MS_STATIC_ASSERT(sizeof(struct ms_live_key) == 16, "ms_live_key layout");

/* The attach cookie of every probe: which entry point it is, and how many
 * bytes the function has pushed before the probed instruction. */
#define MS_COOKIE_KEEP_RETURN (1ULL << 24) /* the entry point may enter another one */
static inline __u64 ms_cookie(__u32 api, __u32 stack_delta, int keep_return)
{
	return (__u64)(api & 0xff) | ((__u64)(stack_delta & 0xffff) << 8) |
	       (keep_return ? MS_COOKIE_KEEP_RETURN : 0);
}

/* The probed process's slot in the per-process arrays (1..MS_PROC_SLOTS-1;
 * 0: none, counted through the per-process hash instead). Links filtered to
 * one process carry it, so its counters cost an array index, not a hash
 * lookup, on every call. */
#define MS_PROC_SLOTS 16
#define MS_COOKIE_SLOT_SHIFT 32
static inline __u64 ms_cookie_with_slot(__u64 cookie, __u32 slot)
{
	return cookie | ((__u64)(slot < MS_PROC_SLOTS ? slot : 0) << MS_COOKIE_SLOT_SHIFT);
}
static inline __u32 ms_cookie_slot(__u64 cookie)
{
	return (__u32)(cookie >> MS_COOKIE_SLOT_SHIFT) & 0xffff;
}

/* Attach types of kernels newer than the build machine's uapi headers. */
#define MS_BPF_TRACE_UPROBE_MULTI 48
#define MS_BPF_TRACE_UPROBE_SESSION 57

#endif
