/* SPDX-License-Identifier: GPL-2.0 */
/* The duty cycle's windows, as the allocator probes see them. */
#ifndef MEMSCOPE_DUTY_WINDOW_BPF_H
#define MEMSCOPE_DUTY_WINDOW_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "memscope/record.h"

/* Duty cycle, one word so that a probe reads a consistent state:
 * window number << 3 | releases windowed << 2 | releases closed << 1 |
 * allocations closed. Allocation windows hold the probes of the entry points
 * that only allocate; under --max-overhead (without --leaks) release windows,
 * scheduled apart, hold those of free and the deletes; realloc's are attached
 * while either is. A closed flag covers the moments around attach and
 * detach, so that exactly the calls between the agent's readings are
 * counted (which is what scales the estimates): realloc counts its
 * allocation side only in allocation windows and releases its old block only
 * in release windows. The number rises as either window closes: a pending
 * call whose probes may have left with that window lost its return, and must
 * not make the thread's next calls look nested. */
volatile __u32 window_state;
static __always_inline int state_closed(__u32 state)
{
	return state & 1;
}
static __always_inline int state_release_closed(__u32 state)
{
	return state & 2;
}
static __always_inline __u16 state_window(__u32 state)
{
	return (__u16)(state >> 3);
}
/* A call pending since another window lost its return probe with it: an
 * allocating one whenever windows close, a releasing one only when the
 * releases are windowed too. */
static __always_inline int pending_lost(__u32 state, __u16 window, __u32 api)
{
	return window != state_window(state) && (!ms_api_releases(api) || (state & 4));
}

#endif /* MEMSCOPE_DUTY_WINDOW_BPF_H */
