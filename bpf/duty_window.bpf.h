/* SPDX-License-Identifier: GPL-2.0 */
/* The duty cycle's window, as the allocator probes see it. */
#ifndef MEMSCOPE_DUTY_WINDOW_BPF_H
#define MEMSCOPE_DUTY_WINDOW_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

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

#endif /* MEMSCOPE_DUTY_WINDOW_BPF_H */
