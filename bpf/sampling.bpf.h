/* SPDX-License-Identifier: GPL-2.0 */
/* Which calls are sampled: the agent's config (rates per size tier, or a
 * byte interval), and each CPU's random draws. */
#ifndef MEMSCOPE_SAMPLING_BPF_H
#define MEMSCOPE_SAMPLING_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "memscope/record.h"
#include "memscope/sampling_math.h"
#include "pending.bpf.h"

/* Written by the agent through the skeleton's mmap of .bss: the agent fills
 * a whole slot, then publishes its index; readers never see a torn config. */
struct ms_config configs[MS_CONFIG_SLOTS];
volatile __u32 current_epoch;

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

#endif /* MEMSCOPE_SAMPLING_BPF_H */
