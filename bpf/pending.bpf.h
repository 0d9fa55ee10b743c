/* SPDX-License-Identifier: GPL-2.0 */
/* An allocator call between its entry and its return, per thread. */
#ifndef MEMSCOPE_PENDING_BPF_H
#define MEMSCOPE_PENDING_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "memscope/record.h"
#include "stats.bpf.h"
#include "duty_window.bpf.h"

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

/* True when this entry is the allocator calling one of its own entry points
 * (realloc(NULL, n) -> malloc): the stack pointer is at or below the outer
 * call's. A higher one means the outer call's return was never seen. */
static __always_inline int nested(struct pending *p, __u64 sp, __u32 state)
{
	if (!p || !p->depth)
		return 0;
	if (sp <= p->sp && !pending_lost(state, p->window, p->api))
		return 1;
	stat_inc(MS_STAT_STALE_PENDING);
	p->depth = 0;
	return 0;
}

#endif /* MEMSCOPE_PENDING_BPF_H */
