/* SPDX-License-Identifier: GPL-2.0 */
/* The probes' own counters (MS_STAT_*: records dropped, tables full,
 * walks cut...), per CPU, read by the agent. */
#ifndef MEMSCOPE_STATS_BPF_H
#define MEMSCOPE_STATS_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "memscope/record.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MS_STAT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

static __always_inline void stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);
	if (v)
		*v += 1;
}

#endif /* MEMSCOPE_STATS_BPF_H */
