/* SPDX-License-Identifier: GPL-2.0 */
/* The user-stack walk of a sampled call (processes.bpf.h's exec handler
 * forgets a thread's walk state).
 *
 * The frame-pointer chain is walked here rather than by bpf_get_stackid():
 * a thread that glibc started ends its chain at a frame whose saved rbp is
 * neither 0 nor mapped, and the kernel's walker (perf_callchain_user) reads
 * it, taking a fault and an exception-table search on every walk (~570 ns
 * on these hosts, more than the rest of the walk). This walker gives the
 * same entries (the probed instruction, then each frame's return address,
 * MS_MAX_STACK_DEPTH at most) and:
 * - stops at a frame pointer that is 0, misaligned, not above the previous
 *   frame, or outside user space;
 * - remembers, per thread and address space, a frame pointer that faulted
 *   where no mapping lies, and stops there from then on without reading it.
 *   A fault on a mapped page (swapped out, a NUMA hinting fault: a probe
 *   cannot take page faults) only cuts that one walk, counted in
 *   MS_STAT_WALK_CUT;
 * - reads stack memory up to MS_WALK_CHUNK bytes at a time, never past the
 *   end of the page the read starts in (so a read faults only where a
 *   frame's own page does): one helper call per frame cost ~75 ns a frame,
 *   this ~13. */
#ifndef MEMSCOPE_STACK_WALK_BPF_H
#define MEMSCOPE_STACK_WALK_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "memscope/record.h"
#include "stats.bpf.h"

#define MS_USER_TOP 0x00007ffffffff000ULL /* x86-64 user address space, 4-level paging */
#define MS_PAGE 4096
#define MS_WALK_CHUNK 2048 /* bytes of stack read at once */

/* A thread's walk: created by its first sampled call (most threads that
 * allocate are sampled rarely or never, and this is 2.6 KiB), gone with the
 * thread, and forgotten at exec (ms_proc_exec). */
struct walk_state {
	__u64 bad_fp; /* a frame pointer with no mapping behind it */
	struct ms_stack stack; /* the last stack walked (the value stored for a new site) */
	__u64 chunk[MS_WALK_CHUNK / 8];
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct walk_state);
} walks SEC(".maps");

struct walk {
	struct walk_state *ws;
	__u64 fp, above, base, len, h;
};

static long vma_found(struct task_struct *task, struct vm_area_struct *vma, void *ctx)
{
	return 0;
}

/* A read of the frame at fp failed. */
static __always_inline void frame_unreadable(struct walk_state *ws, __u64 fp)
{
	/* -ENOENT: no mapping there at all (-EBUSY, the mm lock taken: not
	 * known, so not remembered). */
	if (bpf_find_vma(bpf_get_current_task_btf(), fp, vma_found, 0, 0) == -2 /* ENOENT */)
		ws->bad_fp = fp;
	else
		stat_inc(MS_STAT_WALK_CUT);
}

/* The frame that gives entry index + 1: bpf_loop() runs this until it
 * returns 1, so every call so far added one entry. Written so that the
 * verifier's states converge after a few iterations (no counter it can
 * follow exactly): an unrolled loop, or one that counted, took it seconds
 * or more than its million instructions at load. */
static long walk_frame(__u64 index, void *arg)
{
	struct walk *w = arg;
	struct walk_state *ws = w->ws;
	__u64 fp = w->fp, len, off, ret;
	__u64 n = index + 1;

	if (!ws || n >= MS_MAX_STACK_DEPTH)
		return 1;
	if (!fp || (fp & 7) || fp < w->above || fp >= MS_USER_TOP || fp == ws->bad_fp)
		return 1;
	if (fp < w->base || fp - w->base + 16 > w->len) {
		len = MS_PAGE - (fp & (MS_PAGE - 1));
		if (len > MS_WALK_CHUNK)
			len = MS_WALK_CHUNK;
		if (len < 16)
			len = 16; /* a frame across two pages */
		if (bpf_probe_read_user(ws->chunk, len, (void *)fp)) {
			frame_unreadable(ws, fp);
			return 1;
		}
		w->base = fp;
		w->len = len;
	}
	off = fp - w->base;
	if (off > MS_WALK_CHUNK - 16)
		return 1; /* never: off + 16 <= len; for the verifier */
	ret = *(__u64 *)((__u8 *)ws->chunk + off + 8);
	if (!ret)
		return 1;
	ws->stack.ips[n & (MS_MAX_STACK_DEPTH - 1)] = ret;
	ws->stack.depth = n + 1;
	w->h = (w->h ^ ret) * 0x100000001b3ULL;
	w->above = fp + 16;
	w->fp = *(__u64 *)((__u8 *)ws->chunk + off);
	return 0;
}

/* Walks the current thread's stack into ws->stack; returns its hash (FNV-1a
 * over the entries, then the depth), the stack's key in `stacks`. */
static __always_inline __u64 walk_stack(struct pt_regs *ctx, struct walk_state *ws)
{
	struct walk w = {
		.ws = ws,
		.fp = PT_REGS_FP(ctx),
		.above = PT_REGS_SP(ctx),
		.h = 0xcbf29ce484222325ULL,
	};

	ws->stack.ips[0] = PT_REGS_IP(ctx);
	ws->stack.depth = 1;
	w.h = (w.h ^ ws->stack.ips[0]) * 0x100000001b3ULL;
	bpf_loop(MS_MAX_STACK_DEPTH - 1, walk_frame, &w, 0);
	return w.h ^ ws->stack.depth;
}

#endif /* MEMSCOPE_STACK_WALK_BPF_H */
