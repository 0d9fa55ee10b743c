/* SPDX-License-Identifier: GPL-2.0 */
/* The context of every allocator probe: who hit it, read when the program
 * starts and handed to each step that counts or records the call. */
#ifndef MEMSCOPE_PROBE_CONTEXT_BPF_H
#define MEMSCOPE_PROBE_CONTEXT_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

/* Who hit a probe, read once per program run. Helper calls are what a short
 * program spends most on (each is a call and a return through the CPU's
 * return-thunk mitigations), so the task pointer is fetched once and the
 * ids are read from it, not asked for again by each step. */
struct hit {
	struct task_struct *task;
	__u64 cookie;
	__u32 tgid;
	__u32 tid;
};

static __always_inline void hit_init(struct hit *h, __u64 cookie)
{
	h->task = bpf_get_current_task_btf();
	h->cookie = cookie;
	h->tgid = h->task->tgid;
	h->tid = h->task->pid;
}

#endif /* MEMSCOPE_PROBE_CONTEXT_BPF_H */
