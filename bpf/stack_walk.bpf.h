/* SPDX-License-Identifier: GPL-2.0 */
/* The user-stack walk of a sampled call (processes.bpf.h's exec handler
 * forgets a thread's walk state).
 *
 * Frames are unwound with the CFI of the object each return address lies
 * in (.eh_frame or .debug_frame), from the compact tables the agent builds
 * and loads before it attaches (memscope/unwind.h): code built without frame
 * pointers (-O2, Debian's libstdc++) unwinds as well as code built with
 * them, and only sampled calls pay. Per frame:
 * - the object of pc: the last frame's mapping is kept, so the object is
 *   looked up only when pc leaves it, first among the thread's last
 *   MS_VMA_CACHE mappings (valid while the process's mappings are
 *   unchanged, see struct vma_cache), then by bpf_find_vma(), which with
 *   its mm lock and maple-tree search was the walk's largest cost; the
 *   object's rows are found by the (device, inode) of the mapped file,
 *   which also goes into the stack's hash;
 * - its row: a binary search of the object's slice of unwind_rows, at pc
 *   for the probed instruction and at pc - 1 for return addresses (a call
 *   that ends its function returns past the function's last byte), unless
 *   the thread's row cache holds that address (struct row_cache);
 * - the CFA from rsp or rbp, the return address at CFA - 8, rbp restored
 *   where the frame saved it; the caller's rsp is the CFA.
 * The walk stops where it cannot go on and says why in ms_stack.stop:
 * the outermost frame (its return address undefined, or 0), an object or
 * an address without CFI, an unknown rule, an unreadable stack, the depth.
 * Stack memory is read up to MS_WALK_CHUNK bytes at a time, never past the
 * end of the page the read starts in (so a read faults only where a frame's
 * own page does): one helper call serves the frames of a whole page. */

#ifndef MEMSCOPE_STACK_WALK_BPF_H
#define MEMSCOPE_STACK_WALK_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "memscope/record.h"
#include "memscope/unwind.h"
#include "stats.bpf.h"
#include "walk_caches.bpf.h"

#define MS_USER_TOP 0x00007ffffffff000ULL /* x86-64 user address space, 4-level paging */
#define MS_PAGE 4096
#define MS_WALK_CHUNK 2048 /* bytes of stack read at once */
#define MS_ROW_SEARCH_STEPS 24 /* binary-search steps: slices of up to 2^24 rows */

/* The registers and position of a walk, one frame at a time. Kept in the
 * thread's walk_state (a map value) rather than on the BPF stack: the
 * verifier tracks the exact value of what a bpf_loop() callback writes to
 * its caller's stack (a stop reason, a flag), and with the walk's state
 * there its states never converged (a million instructions at load); a
 * map value's bytes it reads as unknown scalars, so every iteration of the
 * callback starts from one state. */
struct walk {
	__u64 pc, sp, fp;
	__u64 base, len; /* the stack bytes held in chunk */
	__u64 h;
	/* the mapping of the last object found: [vm_start, vm_end), its rows */
	__u64 vm_start, vm_end;
	__s64 to_vaddr; /* ELF vaddr = pc + to_vaddr */
	__u32 first, rows;
	__u32 stop; /* enum ms_walk_stop */
	__u32 fp_lost; /* the caller's rbp is not known */
};

/* A thread's walk: created by its first sampled call (most threads that
 * allocate are sampled rarely or never, and this is 3.9 KiB), gone with the
 * thread, and forgotten at exec (ms_proc_exec). */
struct walk_state {
	struct walk w;
	struct ms_stack stack; /* the last stack walked (the value stored for a new site) */
	struct vma_cache vmas;
	struct row_cached rows[MS_ROW_CACHE];
	__u64 chunk[MS_WALK_CHUNK / 8];
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct walk_state);
} walks SEC(".maps");

/* The objects whose tables are loaded, by the kernel's name of their file. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, struct ms_unwind_key);
	__type(value, struct ms_unwind_object);
} unwind_objects SEC(".maps");

/* Every object's rows, one slice each, written by the agent. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE); /* the agent writes the rows in place */
	__uint(max_entries, MS_UNWIND_ROWS_DEFAULT); /* resized by the agent before load */
	__type(key, __u32);
	__type(value, struct ms_unwind_row);
} unwind_rows SEC(".maps");

/* The bpf_loop() context: only the pointer, the same in every iteration. */
struct walk_ctx {
	struct walk_state *ws;
};

struct vma_seen {
	__u64 start, end, pgoff, dev, ino;
};

static long vma_found(struct task_struct *task, struct vm_area_struct *vma, void *ctx)
{
	struct vma_seen *v = ctx;
	struct file *file = vma->vm_file;

	v->start = vma->vm_start;
	v->end = vma->vm_end;
	v->pgoff = vma->vm_pgoff;
	if (file) {
		v->ino = file->f_inode->i_ino;
		v->dev = file->f_inode->i_sb->s_dev;
	}
	return 0;
}

/* Takes the object of w->pc from a cache entry (and mixes its file into
 * the hash, as find_object() does); 0 when there is none. */
static __always_inline int cached_object(struct walk *w, struct vma_cached *e)
{
	if (!e)
		return 0;
	w->h = (w->h ^ e->ino ^ (e->dev << 32)) * 0x100000001b3ULL;
	w->vm_start = e->start;
	w->vm_end = e->end;
	w->to_vaddr = e->to_vaddr;
	w->first = e->first;
	w->rows = e->rows;
	return 1;
}

/* Finds the object of w->pc and its rows; 0 (with w->stop) when there are none. */
static __always_inline int find_object(struct walk *w, struct vma_cache *c)
{
	struct vma_seen v = {};
	struct ms_unwind_key key = {};
	struct ms_unwind_object *o;
	long err;

	if (cached_object(w, vma_cache_find(c, w->pc)))
		return 1;
	err = bpf_find_vma(bpf_get_current_task_btf(), w->pc, vma_found, &v, 0);
	if (err == -16 && cached_object(w, vma_cache_stale(c, w->pc)))
		return 1; /* -EBUSY: a writer holds the mm lock or waits for it */
	if (err) {
		/* -ENOENT: pc lies in no mapping */
		w->stop = err == -2 ? MS_WALK_NO_TABLE : MS_WALK_UNREADABLE;
		if (err != -2)
			stat_inc(MS_STAT_WALK_CUT);
		return 0;
	}
	key.dev = v.dev;
	key.ino = v.ino;
	/* The object's file is part of the stack: the same addresses in another
	 * file (a new program after exec, a library loaded where an unloaded
	 * one was, of the same layout) are another stack, so another site,
	 * which the agent reads against the objects mapped when it was made. */
	w->h = (w->h ^ v.ino ^ (v.dev << 32)) * 0x100000001b3ULL;
	o = v.ino ? bpf_map_lookup_elem(&unwind_objects, &key) : 0;
	if (!o || !o->rows) {
		/* An object the agent read and found no CFI in, or one it has no
		 * table for (anonymous code, or not loaded yet). */
		w->stop = o ? MS_WALK_NO_CFI : MS_WALK_NO_TABLE;
		return 0;
	}
	w->vm_start = v.start;
	w->vm_end = v.end;
	w->to_vaddr = (__s64)(v.pgoff << 12) - (__s64)v.start + o->bias;
	w->first = o->first_row;
	w->rows = o->rows;
	vma_cache_add(c, &(struct vma_cached){.start = v.start, .end = v.end, .dev = v.dev, .ino = v.ino,
					      .to_vaddr = w->to_vaddr, .first = w->first, .rows = w->rows});
	return 1;
}

/* The index in unwind_rows of the row of the object's slice [first, first
 * + rows) that holds vaddr (the last one starting at or below it); -1 when
 * none does. A global function: the verifier checks it once, with its
 * arguments and its result unknown scalars, rather than at every call in
 * every state of the walk (an inline search, or a bpf_loop() of steps in
 * the walk's callback, multiplied the walk's states). */
__noinline long ms_unwind_row_of(__u32 first, __u32 rows, __u64 vaddr)
{
	__u32 lo = 0, hi = rows, mid, idx = first;
	struct ms_unwind_row *r;
	int i;

	if (vaddr >= 0xffffffffULL || !rows)
		return -1;
	r = bpf_map_lookup_elem(&unwind_rows, &idx);
	if (!r || r->start > vaddr)
		return -1;
	for (i = 0; i < MS_ROW_SEARCH_STEPS && hi - lo > 1; i++) {
		mid = lo + (hi - lo) / 2;
		idx = first + mid;
		r = bpf_map_lookup_elem(&unwind_rows, &idx);
		if (!r)
			return -1;
		if (r->start <= vaddr)
			lo = mid;
		else
			hi = mid;
	}
	if (hi - lo > 1)
		return -1; /* a slice larger than the search: never loaded so */
	return first + lo;
}

/* The row of vaddr in the object whose slice starts at `first`, from the
 * thread's cache or else by the binary search (and then cached); -1 when
 * the object has none there. */
static __always_inline long row_of(struct row_cached *cache, __u32 first, __u32 rows, __u64 vaddr)
{
	long row = row_cache_find(cache, first, vaddr);

	if (row < 0) {
		row = ms_unwind_row_of(first, rows, vaddr);
		row_cache_add(cache, first, vaddr, row);
	}
	return row;
}

/* Makes ws->chunk hold the stack bytes [lo, hi); 0 when they cannot be read. */
static __always_inline int stack_bytes(struct walk_state *ws, __u64 lo, __u64 hi)
{
	struct walk *w = &ws->w;
	__u64 len;

	if (lo >= w->base && hi <= w->base + w->len)
		return 1;
	len = MS_PAGE - (lo & (MS_PAGE - 1));
	if (len < hi - lo)
		len = hi - lo; /* a frame across two pages */
	if (len > MS_WALK_CHUNK)
		len = MS_WALK_CHUNK;
	if (len < 8)
		len = 8;
	if (bpf_probe_read_user(ws->chunk, len, (void *)lo)) {
		/* A mapped page that could not be read then (swapped out: a probe
		 * cannot take page faults), or a frame address gone wrong. */
		stat_inc(MS_STAT_WALK_CUT);
		return 0;
	}
	w->base = lo;
	w->len = len;
	return hi <= lo + len;
}

static __always_inline __u64 stack_word(struct walk_state *ws, __u64 addr)
{
	__u64 off = addr - ws->w.base;

	if (off > MS_WALK_CHUNK - 8)
		return 0; /* never: stack_bytes() holds it; for the verifier */
	return *(__u64 *)((__u8 *)ws->chunk + off);
}

/* The CFA of the frame at w->pc by its row; 0 (with w->stop) when it cannot
 * be had. */
static __always_inline __u64 frame_cfa(struct walk *w, const struct ms_unwind_row *r)
{
	switch (r->cfa_kind) {
	case MS_CFA_RSP:
		return w->sp + (__s64)r->cfa_off8 * 8;
	case MS_CFA_RBP:
		if (w->fp_lost) {
			w->stop = MS_WALK_UNKNOWN_RULE;
			return 0;
		}
		return w->fp + (__s64)r->cfa_off8 * 8;
	case MS_CFA_PLT:
		return w->sp + 8 + ((w->pc & 15) >= (__u64)r->rbp ? 8 : 0);
	case MS_CFA_END:
		w->stop = MS_WALK_END;
		return 0;
	case MS_CFA_NONE:
		w->stop = MS_WALK_NO_CFI;
		return 0;
	default:
		w->stop = MS_WALK_UNKNOWN_RULE;
		return 0;
	}
}

/* Unwinds the frame whose pc is entry `index` into entry index + 1:
 * bpf_loop() runs this until it returns 1, so every call so far added one
 * entry. Every iteration starts from the same verifier state (the walk is
 * in the map value, see struct walk), so the callback is checked about
 * once; an unrolled loop, or one that counted, took the verifier seconds
 * or more than its million instructions. */
static long walk_frame(__u64 index, void *arg)
{
	struct walk_state *ws = ((struct walk_ctx *)arg)->ws;
	struct walk *w;
	struct ms_unwind_row *r;
	__u64 n = index + 1, cfa, lo, ra, slot = 0;
	__u32 idx;
	long row;

	if (!ws || n >= MS_MAX_STACK_DEPTH)
		return 1;
	w = &ws->w;
	if (w->pc < w->vm_start || w->pc >= w->vm_end) {
		if (!find_object(w, &ws->vmas))
			return 1;
	}
	row = row_of(ws->rows, w->first, w->rows, (index ? w->pc - 1 : w->pc) + w->to_vaddr);
	idx = row;
	r = row < 0 ? 0 : bpf_map_lookup_elem(&unwind_rows, &idx);
	if (!r) {
		w->stop = MS_WALK_NO_CFI;
		return 1;
	}
	cfa = frame_cfa(w, r);
	if (!cfa)
		return 1;
	if (cfa <= w->sp || cfa >= MS_USER_TOP) {
		w->stop = MS_WALK_UNKNOWN_RULE; /* a frame address that goes nowhere */
		return 1;
	}
	lo = cfa - 8;
	if (r->cfa_kind != MS_CFA_PLT && r->rbp < 0) {
		slot = cfa + (__s64)r->rbp * 8;
		lo = slot;
	}
	if (!stack_bytes(ws, lo, cfa)) {
		w->stop = MS_WALK_UNREADABLE;
		return 1;
	}
	ra = stack_word(ws, cfa - 8);
	if (slot) {
		w->fp = stack_word(ws, slot);
		w->fp_lost = 0;
	} else if (r->cfa_kind != MS_CFA_PLT && r->rbp == MS_RBP_LOST) {
		w->fp_lost = 1;
	}
	if (!ra) {
		w->stop = MS_WALK_END;
		return 1;
	}
	ws->stack.ips[n & (MS_MAX_STACK_DEPTH - 1)] = ra;
	ws->stack.depth = n + 1;
	w->h = (w->h ^ ra) * 0x100000001b3ULL;
	w->sp = cfa;
	w->pc = ra;
	return 0;
}

/* Walks the current thread's stack into ws->stack; returns its hash (FNV-1a
 * over the entries and the files of the objects they lie in, then the depth
 * and the reason it stopped), the stack's key in `stacks`. */
static __always_inline __u64 walk_stack(struct pt_regs *ctx, struct walk_state *ws)
{
	struct walk_ctx c = {.ws = ws};
	struct walk *w = &ws->w;

	w->pc = PT_REGS_IP(ctx);
	w->sp = PT_REGS_SP(ctx);
	w->fp = PT_REGS_FP(ctx);
	w->base = 0;
	w->len = 0; /* the chunk holds nothing of this stack yet */
	w->vm_start = 0;
	w->vm_end = 0; /* no object found yet */
	w->fp_lost = 0;
	w->stop = MS_WALK_DEPTH; /* unless a frame says otherwise */
	w->h = (0xcbf29ce484222325ULL ^ w->pc) * 0x100000001b3ULL;
	ws->stack.ips[0] = w->pc;
	ws->stack.depth = 1;
	vma_cache_check(&ws->vmas);
	bpf_loop(MS_MAX_STACK_DEPTH - 1, walk_frame, &c, 0);
	ws->stack.stop = w->stop;
	return w->h ^ ws->stack.depth ^ ((__u64)w->stop << 32);
}

#endif /* MEMSCOPE_STACK_WALK_BPF_H */
