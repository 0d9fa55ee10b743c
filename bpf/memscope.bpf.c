// SPDX-License-Identifier: GPL-2.0
/* Allocator probes. Every call is counted exactly (per API and log2 size
 * class, per CPU); a size-tiered random draw, plus a "one in every N"
 * guarantee, decides which calls also get a stack and a 32-byte record in the
 * ring buffer. Sampled blocks are remembered by (process, pointer) so that
 * their frees, and only theirs, produce records. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "memscope/record.h"
#include "memscope/sampling_math.h"

char LICENSE[] SEC("license") = "GPL";

/* Written by the agent through the skeleton's mmap of .bss: the agent fills
 * a whole slot, then publishes its index; readers never see a torn config. */
struct ms_config configs[MS_CONFIG_SLOTS];
volatile __u32 current_epoch;
/* Duty cycle, one word so that a probe reads a consistent pair:
 * window number << 1 | closed. Closed between windows: the allocating
 * probes are detached then, and the flag covers the moments around attach
 * and detach, so that exactly the calls between the agent's readings are
 * counted (which is what scales the estimates); realloc stays attached and
 * only releases its old block. The number rises as each window closes: a
 * pending call of an allocating entry point from an earlier window lost its
 * return with its probes, and must not make the thread's next calls look
 * nested. */
volatile __u32 window_state;
static __always_inline int state_closed(__u32 state)
{
	return state & 1;
}
static __always_inline __u16 state_window(__u32 state)
{
	return (__u16)(state >> 1);
}
/* Set before load when every call is recorded (--sample-all, never
 * windowed): every block then has a record, so every free is recorded
 * without looking it up in `live`, which stays empty. The agent matches the
 * frees, and counts those of blocks allocated before the attach as
 * unmatched. Saves a hash insert and a hash delete per block. */
const volatile __u8 record_every_free;
__u32 next_site_id;
__u32 max_sites;
__u32 live_filter_mask; /* live_filter slots - 1 (a power of two) */

/* Thread-local state between an allocation's entry and its return. Task
 * storage is keyed by the thread itself and goes away with it. */
struct pending {
	__u64 sp; /* stack pointer at the outer entry */
	__u64 size;
	__u64 arg; /* realloc: old block; posix_memalign: out-parameter */
	__s64 bytes_left; /* bytes mode: bytes until this thread's next sample */
	__u32 site_id;
	__u8 api;
	__u8 depth; /* >1 while the allocator calls its own entry points */
	__u8 armed; /* bytes_left holds a draw */
	__u8 sampled;
	__u8 tier_epoch;
	__u16 window; /* window_gen at the outer entry */
	__u8 inner_windowed; /* nested calls of windowed entry points awaiting their return */
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct pending);
} pending SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MS_COUNT_SLOTS);
	__type(key, __u32);
	__type(value, struct ms_count);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MS_STAT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

/* Each CPU's draws: its random state, and its calls since its last sampled
 * call (for the guarantee). */
struct draw_state {
	__u64 rng;
	__u32 since;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct draw_state);
} draws SEC(".maps");

/* This CPU's draw state, seeded on its first use. */
static __always_inline struct draw_state *cpu_draws(void)
{
	__u32 zero = 0;
	struct draw_state *d = bpf_map_lookup_elem(&draws, &zero);

	if (d && !d->rng)
		d->rng = ((__u64)bpf_get_prandom_u32() << 32) | bpf_get_prandom_u32() | 1;
	return d;
}

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20); /* resized by the agent before load */
} events SEC(".maps");

/* Stacks of the sites, by hash. Written once per new site. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 16384); /* resized by the agent before load */
	__type(key, __u64);
	__type(value, struct ms_stack);
} stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536); /* resized by the agent before load */
	__type(key, struct ms_site_key);
	__type(value, __u32);
} sites SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1 << 20); /* resized by the agent before load */
	__type(key, struct ms_live_key);
	__type(value, __u8);
} live SEC(".maps");

/* How many blocks in `live` hash to each slot: a free whose slot is 0 was
 * never sampled, and skips the hash delete (a bucket lock and a search that
 * cost more than the rest of the free probe together). Counts, not bits,
 * so that a slot empties again when its blocks are freed. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1 << 20); /* resized by the agent before load */
	__type(key, __u32);
	__type(value, __u32);
} live_filter SEC(".maps");

static __always_inline __u32 *live_slot(const struct ms_live_key *key)
{
	__u64 h = (key->ptr ^ ((__u64)key->tgid << 40)) * 0x9E3779B97F4A7C15ULL;
	__u32 idx = (__u32)(h >> 32) & live_filter_mask;

	return bpf_map_lookup_elem(&live_filter, &idx);
}

static __always_inline void stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);
	if (v)
		*v += 1;
}

#include "stack_walk.bpf.h"
#include "processes.bpf.h"

/* n * size overflows 64 bits; written without the 128-bit multiply that
 * clang would emit for __builtin_mul_overflow. */
static __always_inline int mul_overflows(__u64 n, __u64 size)
{
	__u64 nh = n >> 32, nl = n & 0xffffffff, sh = size >> 32, sl = size & 0xffffffff;
	__u64 cross, low;

	if (nh && sh)
		return 1;
	cross = nh * sl + nl * sh; /* one of the two terms is 0 */
	if (cross >> 32)
		return 1;
	low = nl * sl;
	return low + (cross << 32) < low;
}

static __always_inline void count_call(__u32 api, __u64 size, const struct hit *hit)
{
	__u32 idx = api * MS_SIZE_CLASSES + size_class(size);
	struct ms_count *c;

	if (idx >= MS_COUNT_SLOTS)
		return;
	c = bpf_map_lookup_elem(&counts, &idx);
	if (c) {
		c->calls += 1;
		c->bytes += size;
	}
	proc_count(api, size, hit);
}

/* Bytes mode, as heapprofd and tcmalloc sample: each thread counts down an
 * exponentially distributed number of bytes; the allocation that crosses
 * zero is sampled and a fresh draw starts. By memorylessness a block of s
 * bytes is sampled with probability 1 - exp(-s / interval). */
static __always_inline int decide_bytes(struct pending *p, struct ms_config *cfg, __u64 size)
{
	__u64 interval = cfg->byte_interval ? cfg->byte_interval : 1;
	struct draw_state *d;

	if (!p)
		return 0;
	if (p->armed) {
		p->bytes_left -= (__s64)size;
		if (p->bytes_left > 0)
			return 0;
	}
	d = cpu_draws();
	if (!d)
		return 0;
	p->bytes_left = (__s64)((interval * neg_ln_uniform_q16(ms_next_draw(&d->rng))) >> 16);
	if (!p->armed) {
		/* The first draw starts the countdown this call takes part in. */
		p->armed = 1;
		p->bytes_left -= (__s64)size;
		if (p->bytes_left > 0)
			return 0;
		p->bytes_left = (__s64)((interval * neg_ln_uniform_q16(ms_next_draw(&d->rng))) >> 16);
	}
	return 1;
}

/* Returns 1 when this call is sampled, with the tier (or FORCED) and the
 * config slot it was chosen under. */
static __always_inline int decide(struct pending *p, __u64 size, __u8 *tier_epoch)
{
	__u32 epoch = current_epoch & MS_EPOCH_MASK;
	struct ms_config *cfg = &configs[epoch];
	__u32 tier;
	struct draw_state *d;

	if (size >= cfg->large_min)
		tier = MS_TIER_LARGE;
	else if (size >= cfg->medium_min)
		tier = MS_TIER_MEDIUM;
	else
		tier = MS_TIER_SMALL;

	if (cfg->mode == MS_SAMPLE_BYTES) {
		*tier_epoch = ms_pack_tier_epoch(tier, epoch);
		return decide_bytes(p, cfg, size);
	}

	d = cpu_draws();
	/* Huge blocks are rare and each matters: never left to chance,
	 * whatever rate the optimizer gives their tier. Weight 1. */
	if (cfg->always_min && size >= cfg->always_min) {
		*tier_epoch = ms_pack_tier_epoch(MS_TIER_FORCED, epoch);
		return 1;
	}
	if (d) {
		int how = ms_draw_with_guarantee(&d->since, cfg->guarantee, ms_next_draw(&d->rng),
						 cfg->threshold[tier]);

		*tier_epoch = ms_pack_tier_epoch(how == 2 ? MS_TIER_FORCED : tier, epoch);
		return how != 0;
	}
	*tier_epoch = ms_pack_tier_epoch(tier, epoch);
	return (__u64)bpf_get_prandom_u32() < cfg->threshold[tier];
}

static __always_inline __u32 site_of(struct pt_regs *ctx, struct task_struct *task, __u32 tgid, __u64 sp)
{
	struct ms_site_key key = {.tgid = tgid};
	struct walk_state *ws = bpf_task_storage_get(&walks, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	__u32 *id, nid;
	long err;

	if (ws) {
		key.has_stack = 1;
		key.stack = walk_stack(ctx, ws);
	} else {
		stat_inc(MS_STAT_STACK_ERRORS); /* no room for the thread's walk state */
	}
	bpf_probe_read_user(&key.caller, sizeof(key.caller), (void *)sp);

	id = bpf_map_lookup_elem(&sites, &key);
	if (id)
		return *id;
	/* A new site: its stack is stored first (the agent reads a site's
	 * stack by its hash); with the stack table full it keeps its caller
	 * only. */
	if (ws) {
		err = bpf_map_update_elem(&stacks, &key.stack, &ws->stack, BPF_NOEXIST);
		if (err && err != -17 /* EEXIST: another site's */) {
			stat_inc(MS_STAT_STACK_ERRORS);
			key.has_stack = 0;
			key.stack = 0;
			id = bpf_map_lookup_elem(&sites, &key);
			if (id)
				return *id;
		}
	}
	nid = __sync_fetch_and_add(&next_site_id, 1);
	if (nid >= max_sites) {
		stat_inc(MS_STAT_SITE_FULL);
		return MS_NO_SITE;
	}
	if (bpf_map_update_elem(&sites, &key, &nid, BPF_NOEXIST) == 0)
		return nid;
	/* Another CPU inserted the same site first; its id wins. */
	id = bpf_map_lookup_elem(&sites, &key);
	if (id)
		return *id;
	stat_inc(MS_STAT_SITE_FULL);
	return MS_NO_SITE;
}

static __always_inline void emit(const struct hit *hit, __u32 kind, __u32 api, __u64 ptr, __u64 size,
				 __u32 site_id, __u8 tier_epoch)
{
	struct ms_record *r;

	r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);
	if (!r) {
		stat_inc(MS_STAT_DROPPED);
		return;
	}
	r->ptr = ptr;
	r->size_lo = (__u32)size;
	r->size_hi = (__u16)(size >> 32);
	r->kind_api = ms_pack_kind_api(kind, api);
	r->tier_epoch = tier_epoch;
	r->tgid = hit->tgid;
	r->tid = hit->tid;
	r->site_id = site_id;
	r->time = (__u32)(bpf_ktime_get_ns() >> MS_TIME_SHIFT);
	/* No wake-up: a wake-up is another trap in the traced thread; the agent
	 * drains on its own timer. */
	bpf_ringbuf_submit(r, BPF_RB_NO_WAKEUP);
	stat_inc(MS_STAT_SAMPLED);
}

/* Only a block whose allocation was sampled (and recorded) is in `live`, so
 * only those frees cost a record. */
static __always_inline void release(const struct hit *hit, __u32 api, __u64 ptr)
{
	struct ms_live_key key = {.tgid = hit->tgid, .ptr = ptr};
	__u32 *slot;

	if (record_every_free) {
		emit(hit, MS_KIND_FREE, api, ptr, 0, MS_NO_SITE, 0);
		return;
	}
	slot = live_slot(&key);
	if (slot && !*slot)
		return;
	if (bpf_map_delete_elem(&live, &key) == 0) {
		if (slot)
			__sync_fetch_and_sub(slot, 1);
		emit(hit, MS_KIND_FREE, api, ptr, 0, MS_NO_SITE, 0);
	}
}

/* A block that is already in `live` is one whose free was never seen (the
 * pointer came back): it is replaced and its slot already counts it. */
static __always_inline void remember(const struct hit *hit, __u64 ptr)
{
	struct ms_live_key key = {.tgid = hit->tgid, .ptr = ptr};
	__u8 one = 1;
	__u32 *slot;
	long err;

	err = bpf_map_update_elem(&live, &key, &one, BPF_NOEXIST);
	if (err == -17 /* EEXIST */)
		return;
	if (err) {
		stat_inc(MS_STAT_LIVE_FULL);
		return;
	}
	slot = live_slot(&key);
	if (slot)
		__sync_fetch_and_add(slot, 1);
}

/* True when this entry is the allocator calling one of its own entry points
 * (realloc(NULL, n) -> malloc): the stack pointer is at or below the outer
 * call's. A higher one means the outer call's return was never seen. */
static __always_inline int nested(struct pending *p, __u64 sp, __u16 window)
{
	if (!p || !p->depth)
		return 0;
	if (sp <= p->sp && (p->window == window || ms_api_releases(p->api)))
		return 1;
	stat_inc(MS_STAT_STALE_PENDING);
	p->depth = 0;
	return 0;
}

/* The attach cookie says which entry point fired and how many bytes the
 * function had pushed before the probed instruction (a probe placed past
 * the entry), so that the entry stack pointer and the return address at it
 * are found wherever the probe sits. */
static __always_inline __u32 cookie_api(__u64 cookie)
{
	return cookie & 0xff;
}
static __always_inline __u64 entry_sp(struct pt_regs *ctx, __u64 cookie)
{
	return PT_REGS_SP(ctx) + ((cookie >> 8) & 0xffff);
}

/* Returns 1 when the call needs nothing at its return (a session probe then
 * skips the return trap), 0 when its return must be seen. */
static __always_inline int on_entry(struct pt_regs *ctx, const struct hit *hit, int can_skip)
{
	struct task_struct *task = hit->task;
	__u64 cookie = hit->cookie;
	__u32 api = cookie_api(cookie);
	__u64 sp = entry_sp(ctx, cookie);
	__u64 a0 = PT_REGS_PARM1(ctx), a1 = PT_REGS_PARM2(ctx), a2 = PT_REGS_PARM3(ctx);
	__u64 size = 0, arg = 0;
	int overflow = 0, tracked_old = 0;
	struct pending *p;
	const __u32 state = window_state;
	const __u16 window = state_window(state);
	__u8 tier_epoch = 0;
	int sampled;

	switch (api) {
	case MS_API_MALLOC:
	case MS_API_VALLOC:
	case MS_API_PVALLOC:
	case MS_API_NEW:
	case MS_API_NEW_ARRAY:
		size = a0;
		break;
	case MS_API_CALLOC:
		overflow = mul_overflows(a0, a1);
		size = overflow ? 0 : a0 * a1;
		break;
	case MS_API_REALLOC:
		size = a1;
		arg = a0;
		break;
	case MS_API_REALLOCARRAY:
		overflow = mul_overflows(a1, a2);
		size = overflow ? 0 : a1 * a2;
		arg = overflow ? 0 : a0;
		break;
	case MS_API_POSIX_MEMALIGN:
		size = a2;
		arg = a0;
		break;
	case MS_API_ALIGNED_ALLOC:
	case MS_API_MEMALIGN:
		size = a1;
		break;
	default:
		return 1;
	}

	/* Between windows the allocating entry points take no part, not even
	 * as inner calls: their probes come and go one by one, and an entry
	 * counted without its return would leave the thread looking nested. */
	if (state_closed(state) && !ms_api_releases(api)) {
		/* A pending call left by an earlier window is reset here too, so
		 * that a return probe attached before the next window opens finds
		 * nothing to complete. */
		p = bpf_task_storage_get(&pending, task, 0, 0);
		if (p && p->depth && p->window != window && !ms_api_releases(p->api))
			p->depth = 0;
		return 1;
	}
	p = bpf_task_storage_get(&pending, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (nested(p, sp, window)) {
		p->depth += 1;
		if (!ms_api_releases(api))
			p->inner_windowed += 1;
		stat_inc(MS_STAT_NESTED);
		return 0; /* its return must undo the depth */
	}
	if (state_closed(state)) {
		if (!ms_api_releases(api) || !p)
			return 1;
		sampled = 0; /* only its old block matters */
	} else {
		count_call(api, size, hit);
		if (!p)
			return 1;
		sampled = !overflow && decide(p, size, &tier_epoch);
	}
	/* A realloc may free a block and may re-enter malloc or free: its
	 * return is always needed. Others need it only when sampled. */
	if (api == MS_API_REALLOC || api == MS_API_REALLOCARRAY)
		tracked_old = 1;
	if (cookie & MS_COOKIE_KEEP_RETURN)
		tracked_old = 1; /* its inner call must find the depth set */
	if (can_skip && !sampled && !tracked_old)
		return 1;
	p->sp = sp;
	p->size = size;
	p->arg = arg;
	p->api = api;
	p->depth = 1;
	p->window = window;
	p->inner_windowed = 0;
	p->sampled = sampled;
	p->tier_epoch = tier_epoch;
	p->site_id = sampled ? site_of(ctx, task, hit->tgid, sp) : MS_NO_SITE;
	return 0;
}

/* free, operator delete, operator delete[]. One that may enter another
 * entry point (libstdc++'s delete calls free) keeps its return, so that the
 * inner call finds the depth set and is counted once. */
static __always_inline int on_free(struct pt_regs *ctx, const struct hit *hit)
{
	struct task_struct *task = hit->task;
	__u64 cookie = hit->cookie;
	__u32 api = cookie_api(cookie);
	__u64 ptr = PT_REGS_PARM1(ctx), sp = entry_sp(ctx, cookie);
	int keep = (cookie & MS_COOKIE_KEEP_RETURN) != 0;
	struct pending *p;
	const __u16 window = state_window(window_state);

	if (!ptr)
		return 1; /* free(NULL) does nothing; not counted */
	p = bpf_task_storage_get(&pending, task, 0, keep ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
	if (nested(p, sp, window)) {
		stat_inc(MS_STAT_NESTED); /* realloc(p, 0) frees through free() */
		if (!keep)
			return 1;
		p->depth += 1; /* its return must undo the depth */
		return 0;
	}
	count_call(api, 0, hit);
	release(hit, api, ptr);
	if (!keep || !p)
		return 1;
	p->sp = sp;
	p->size = 0;
	p->arg = 0;
	p->api = api;
	p->depth = 1;
	p->window = window;
	p->inner_windowed = 0;
	p->sampled = 0; /* nothing to record at its return */
	p->tier_epoch = 0;
	p->site_id = MS_NO_SITE;
	return 0;
}

static __always_inline int on_return(struct pt_regs *ctx, const struct hit *hit)
{
	struct task_struct *task = hit->task;
	__u64 cookie = hit->cookie;
	struct pending *p;
	__u64 ret = PT_REGS_RC(ctx), ptr = ret;

	p = bpf_task_storage_get(&pending, task, 0, 0);
	if (!p || !p->depth)
		return 0;
	/* A pending allocating call from an earlier window: its return probe
	 * went with that window, whatever returns now is not its return. */
	if (p->window != state_window(window_state) && !ms_api_releases(p->api)) {
		p->depth = 0;
		return 0;
	}
	/* The outer call's own return: `ret` has popped the return address at
	 * the entry stack pointer. Inner calls whose returns were lost (their
	 * probes left with a window) are forgotten with it. x86-64. */
	if (PT_REGS_SP(ctx) == p->sp + 8) {
		p->depth = 1;
		p->inner_windowed = 0;
	} else if (!ms_api_releases(cookie_api(cookie))) {
		/* The return of an allocating entry point undoes only an entry
		 * that was counted: an inner call still awaited (its return probe
		 * may have come before its entry probe, or outlived it). */
		if (p->depth == 1 && ms_api_releases(p->api))
			return 0;
		if (p->depth > 1) {
			if (!p->inner_windowed)
				return 0;
			p->inner_windowed -= 1;
		}
	}
	p->depth -= 1;
	if (p->depth)
		return 0; /* the allocator's own inner call */

	switch (p->api) {
	case MS_API_REALLOC:
	case MS_API_REALLOCARRAY:
		/* glibc: realloc(p, 0) frees p and returns NULL; a failed
		 * realloc leaves p alone. */
		if (p->arg && (ret || p->size == 0))
			release(hit, p->api, p->arg);
		break;
	case MS_API_POSIX_MEMALIGN:
		ptr = 0;
		if ((int)ret == 0 && p->arg)
			bpf_probe_read_user(&ptr, sizeof(ptr), (void *)p->arg);
		break;
	}
	if (ptr && p->sampled) {
		/* Record first, then remember: a free can only match a block
		 * whose record is already in the ring, so order is kept. */
		emit(hit, MS_KIND_ALLOC, p->api, ptr, p->size, p->site_id, p->tier_epoch);
		if (!record_every_free)
			remember(hit, ptr);
	}
	return 0;
}

/* Classic probes: a uprobe on every entry point, a uretprobe on the
 * allocating ones. */
SEC("uprobe")
int ms_entry(struct pt_regs *ctx)
{
	struct hit hit;

	hit_init(&hit, bpf_get_attach_cookie(ctx));
	if (!proc_hit(0, &hit))
		return 0;
	if (ms_api_frees(cookie_api(hit.cookie)))
		return on_free(ctx, &hit);
	return on_entry(ctx, &hit, 0);
}

SEC("uretprobe")
int ms_return(struct pt_regs *ctx)
{
	struct hit hit;

	hit_init(&hit, bpf_get_attach_cookie(ctx));
	if (!proc_hit(1, &hit))
		return 0;
	return on_return(ctx, &hit);
}

/* Session probe (kernel 6.13+): one program for entry and return on one
 * uprobe-multi link per object; returning 1 at entry skips the return
 * trap, which an unsampled malloc never needs. */
extern bool bpf_session_is_return(void) __ksym __weak;

SEC("uprobe")
int ms_session(struct pt_regs *ctx)
{
	const int is_return = bpf_session_is_return();
	struct hit hit;

	hit_init(&hit, bpf_get_attach_cookie(ctx));
	if (!proc_hit(is_return, &hit))
		return 1; /* the agent itself (--all): not traced */
	if (is_return)
		return on_return(ctx, &hit);
	if (ms_api_frees(cookie_api(hit.cookie)))
		return on_free(ctx, &hit);
	return on_entry(ctx, &hit, 1);
}

/* ---- Memory beyond malloc: anonymous mmap/munmap and brk ----------------
 * Raw syscall tracepoints: attached by name, so no tracefs is needed, and
 * they exist where kprobes do not (kernels without CONFIG_KPROBES, like
 * the one this was measured on, which also refuses fentry on the syscall
 * functions). They fire for every syscall, so the syscall number is
 * checked first, then whether the process is in vm_procs. A munmap counts as anonymous when it starts at a
 * region an anonymous mmap returned while traced (exact for glibc's
 * mmapped chunks, unmapped whole); the rest is counted apart. Only
 * successful calls count. x86-64 syscall numbers and registers. */
#include "memscope/vm_counts.h"

#define MS_NR_MMAP 9
#define MS_NR_MUNMAP 11
#define MS_NR_BRK 12
#define MS_MAP_ANONYMOUS 0x20
#define MS_PAGE_SIZE 4096ULL

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct ms_vm_counts);
} vm_procs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct ms_vm_region_key);
	__type(value, __u64);
} vm_regions SEC(".maps");

/* A call between its entry and its exit, by thread. */
struct vm_call {
	__u64 nr;
	__u64 addr;
	__u64 len;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct vm_call);
} vm_calls SEC(".maps");

static __always_inline __u64 vm_pages(__u64 len)
{
	return (len + MS_PAGE_SIZE - 1) & ~(MS_PAGE_SIZE - 1);
}

static __always_inline int vm_syscall(__u64 nr)
{
	return nr == MS_NR_MMAP || nr == MS_NR_MUNMAP || nr == MS_NR_BRK;
}

SEC("raw_tracepoint/sys_enter")
int ms_vm_enter(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
	__u64 nr = ctx->args[1], id, flags = 0;
	__u32 tgid;
	struct vm_call c = {.nr = nr};

	if (!vm_syscall(nr))
		return 0;
	id = bpf_get_current_pid_tgid();
	tgid = id >> 32;
	if (!bpf_map_lookup_elem(&vm_procs, &tgid))
		return 0;
	if (nr == MS_NR_MMAP) {
		bpf_probe_read_kernel(&flags, sizeof(flags), &regs->r10);
		if (!(flags & MS_MAP_ANONYMOUS))
			return 0;
	}
	bpf_probe_read_kernel(&c.addr, sizeof(c.addr), &regs->di);
	bpf_probe_read_kernel(&c.len, sizeof(c.len), &regs->si);
	bpf_map_update_elem(&vm_calls, &id, &c, BPF_ANY);
	return 0;
}

static __always_inline void vm_mmapped(struct ms_vm_counts *v, __u32 tgid, const struct vm_call *c, long ret)
{
	if ((unsigned long)ret >= (unsigned long)-4095)
		return;
	__u64 len = vm_pages(c->len);
	struct ms_vm_region_key key = {.tgid = tgid, .start = ret};

	__sync_fetch_and_add(&v->mmap_calls, 1);
	__sync_fetch_and_add(&v->mmap_bytes, len);
	if (bpf_map_update_elem(&vm_regions, &key, &len, BPF_ANY))
		__sync_fetch_and_add(&v->untracked_mmaps, 1);
}

static __always_inline void vm_unmapped(struct ms_vm_counts *v, __u32 tgid, const struct vm_call *c, long ret)
{
	if (ret != 0)
		return;
	__u64 len = vm_pages(c->len);
	struct ms_vm_region_key key = {.tgid = tgid, .start = c->addr};
	__u64 *region = bpf_map_lookup_elem(&vm_regions, &key);

	if (!region) {
		__sync_fetch_and_add(&v->other_munmap_calls, 1);
		__sync_fetch_and_add(&v->other_munmap_bytes, len);
		return;
	}
	__u64 rest = *region > len ? *region - len : 0;

	if (len > *region)
		len = *region;
	__sync_fetch_and_add(&v->munmap_calls, 1);
	__sync_fetch_and_add(&v->munmap_bytes, len);
	bpf_map_delete_elem(&vm_regions, &key);
	if (rest) {
		/* Its head unmapped: the region now starts after it. */
		key.start += len;
		bpf_map_update_elem(&vm_regions, &key, &rest, BPF_ANY);
	}
}

/* brk returns the break, moved or not; 0 in v->brk means not known yet. */
static __always_inline void vm_break(struct ms_vm_counts *v, long ret)
{
	__u64 now = ret;
	__u64 before = __sync_lock_test_and_set(&v->brk, now);

	__sync_fetch_and_add(&v->brk_calls, 1);
	if (before && now > before)
		__sync_fetch_and_add(&v->brk_grow_bytes, now - before);
	else if (before && now < before)
		__sync_fetch_and_add(&v->brk_shrink_bytes, before - now);
}

SEC("raw_tracepoint/sys_exit")
int ms_vm_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
	long ret = ctx->args[1];
	__u64 nr = 0, id;
	__u32 tgid;
	struct vm_call *p, c;
	struct ms_vm_counts *v;

	bpf_probe_read_kernel(&nr, sizeof(nr), &regs->orig_ax);
	if (!vm_syscall(nr))
		return 0;
	id = bpf_get_current_pid_tgid();
	p = bpf_map_lookup_elem(&vm_calls, &id);
	if (!p)
		return 0;
	c = *p;
	bpf_map_delete_elem(&vm_calls, &id);
	tgid = id >> 32;
	v = bpf_map_lookup_elem(&vm_procs, &tgid);
	if (!v || c.nr != nr)
		return 0;
	if (nr == MS_NR_MMAP)
		vm_mmapped(v, tgid, &c, ret);
	else if (nr == MS_NR_MUNMAP)
		vm_unmapped(v, tgid, &c, ret);
	else
		vm_break(v, ret);
	return 0;
}
