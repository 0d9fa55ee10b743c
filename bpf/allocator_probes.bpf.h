/* SPDX-License-Identifier: GPL-2.0 */
/* The allocator probes. Every call is counted exactly (per API and log2 size
 * class, per CPU); a size-tiered random draw, plus a "one in every N"
 * guarantee, decides which calls also get a stack and a 32-byte record in the
 * ring buffer. Sampled blocks are remembered by (process, pointer) so that
 * their frees, and only theirs, produce records. */
#ifndef MEMSCOPE_ALLOCATOR_PROBES_BPF_H
#define MEMSCOPE_ALLOCATOR_PROBES_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "memscope/record.h"
#include "memscope/sampling_math.h"
#include "probe_context.bpf.h"
#include "stats.bpf.h"
#include "duty_window.bpf.h"
#include "pending.bpf.h"
#include "sampling.bpf.h"
#include "records.bpf.h"
#include "processes.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MS_COUNT_SLOTS);
	__type(key, __u32);
	__type(value, struct ms_count);
} counts SEC(".maps");

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
	 * counted without its return would leave the thread looking nested.
	 * realloc, between windows of both kinds, neither. */
	if (state_closed(state) && (!ms_api_releases(api) || state_release_closed(state))) {
		/* A pending call left by an earlier window is reset here too, so
		 * that a return probe attached before the next window opens finds
		 * nothing to complete. */
		p = bpf_task_storage_get(&pending, task, 0, 0);
		if (p && p->depth && pending_lost(state, p->window, p->api))
			p->depth = 0;
		return 1;
	}
	/* Between release windows realloc's old block is not released: its
	 * free is unseen, as a free's would be. */
	if (state_release_closed(state) && (api == MS_API_REALLOC || api == MS_API_REALLOCARRAY))
		arg = 0;
	p = bpf_task_storage_get(&pending, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (nested(p, sp, state)) {
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
	const __u32 state = window_state;
	const __u16 window = state_window(state);

	if (!ptr)
		return 1; /* free(NULL) does nothing; not counted */
	/* Between release windows (the probes coming or going): not counted,
	 * and the block's end is not seen. */
	if (state_release_closed(state))
		return 1;
	p = bpf_task_storage_get(&pending, task, 0, keep ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
	if (nested(p, sp, state)) {
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
	if (pending_lost(window_state, p->window, p->api)) {
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

#endif /* MEMSCOPE_ALLOCATOR_PROBES_BPF_H */
