/* SPDX-License-Identifier: GPL-2.0 */
/* The sampled user-mode clock: the coverage clock of the duty cycle
 * (userspace/sampling/coverage_clock.h). A cpu-clock perf event on each CPU
 * runs ms_user_clock every MS_USER_CLOCK_PERIOD_NS of the CPU's time; a
 * traced process found there running its own code (user mode) gets one
 * tick. A trap's handling runs in kernel mode, so the probes' own time is
 * not in it, unlike the kernel's user CPU time, which splits a thread's run
 * time by its lifetime share of user ticks (cputime_adjust) and so reads a
 * window's share of the work far off. Only processes the agent counts (an
 * entry in proc_hits: reserved for those it names, made at the first hit
 * for others) are clocked. */
#ifndef MEMSCOPE_USER_CLOCK_BPF_H
#define MEMSCOPE_USER_CLOCK_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "memscope/processes.h"
#include "processes.bpf.h"

SEC("perf_event")
int ms_user_clock(struct bpf_perf_event_data *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	/* x86-64: the interrupted code's privilege level, 3 for user mode. The
	 * context allows whole-word reads only: the volatile keeps the
	 * compiler from narrowing this one to the low byte. */
	__u64 cs = *(volatile __u64 *)&ctx->regs.cs;
	struct ms_proc_hits *h;

	if (!tgid || tgid == agent_tgid || (cs & 3) != 3)
		return 0;
	h = bpf_map_lookup_elem(&proc_hits, &tgid);
	if (h)
		h->user_ticks += 1;
	return 0;
}

#endif /* MEMSCOPE_USER_CLOCK_BPF_H */
