/* SPDX-License-Identifier: GPL-2.0 */
/* What a sampled call leaves: its record in the ring buffer, its site (the
 * caller and stack, stored once), and its block in `live` until its free. */
#ifndef MEMSCOPE_RECORDS_BPF_H
#define MEMSCOPE_RECORDS_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "memscope/record.h"
#include "probe_context.bpf.h"
#include "stats.bpf.h"
#include "stack_walk.bpf.h"

/* Set before load when every call is recorded (--sample-all, never
 * windowed): every block then has a record, so every free is recorded
 * without looking it up in `live`, which stays empty. The agent matches the
 * frees, and counts those of blocks allocated before the attach as
 * unmatched. Saves a hash insert and a hash delete per block. */
const volatile __u8 record_every_free;
__u32 next_site_id;
__u32 max_sites;
__u32 live_filter_mask; /* live_filter slots - 1 (a power of two) */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20); /* resized by the agent before load */
} events SEC(".maps");

/* Stacks of the sites, by hash. Written once per new site. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 16384); /* resized by the agent before load */
	__type(key, __u64);
	__type(value, struct ms_stack);
} stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536); /* resized by the agent before load */
	__type(key, struct ms_site_key);
	__type(value, __u32);
} sites SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1 << 20); /* resized by the agent before load */
	__type(key, struct ms_live_key);
	__type(value, __u8);
} live SEC(".maps");

/* How many blocks in `live` hash to each slot: a free whose slot is 0 was
 * never sampled, and skips the hash delete (a bucket lock and a search that
 * cost more than the rest of the free probe together:
 * docs/measurements.md#where-the-time-beyond-the-trap-goes). Counts, not bits,
 * so that a slot empties again when its blocks are freed. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1 << 20); /* resized by the agent before load */
	__type(key, __u32);
	__type(value, __u32);
} live_filter SEC(".maps");

static __always_inline __u32 *live_slot(const struct ms_live_key *key)
{
	__u64 h = (key->ptr ^ ((__u64)key->tgid << 40)) * 0x9E3779B97F4A7C15ULL;
	__u32 idx = (__u32)(h >> 32) & live_filter_mask;

	return bpf_map_lookup_elem(&live_filter, &idx);
}

static __always_inline __u32 site_of(struct pt_regs *ctx, struct task_struct *task, __u32 tgid, __u64 sp)
{
	struct ms_site_key key = {.tgid = tgid};
	struct walk_state *ws = bpf_task_storage_get(&walks, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	__u32 *id, nid;
	long err;

	if (ws) {
		key.has_stack = 1;
		key.stack = walk_stack(ctx, ws);
	} else {
		stat_inc(MS_STAT_STACK_ERRORS); /* no room for the thread's walk state */
	}
	bpf_probe_read_user(&key.caller, sizeof(key.caller), (void *)sp);

	id = bpf_map_lookup_elem(&sites, &key);
	if (id)
		return *id;
	/* A new site: its stack is stored first (the agent reads a site's
	 * stack by its hash); with the stack table full it keeps its caller
	 * only. */
	if (ws) {
		err = bpf_map_update_elem(&stacks, &key.stack, &ws->stack, BPF_NOEXIST);
		if (err && err != -17 /* EEXIST: another site's */) {
			stat_inc(MS_STAT_STACK_ERRORS);
			key.has_stack = 0;
			key.stack = 0;
			id = bpf_map_lookup_elem(&sites, &key);
			if (id)
				return *id;
		}
	}
	nid = __sync_fetch_and_add(&next_site_id, 1);
	if (nid >= max_sites) {
		stat_inc(MS_STAT_SITE_FULL);
		return MS_NO_SITE;
	}
	if (bpf_map_update_elem(&sites, &key, &nid, BPF_NOEXIST) == 0)
		return nid;
	/* Another CPU inserted the same site first; its id wins. */
	id = bpf_map_lookup_elem(&sites, &key);
	if (id)
		return *id;
	stat_inc(MS_STAT_SITE_FULL);
	return MS_NO_SITE;
}

static __always_inline void emit(const struct hit *hit, __u32 kind, __u32 api, __u64 ptr, __u64 size,
				 __u32 site_id, __u8 tier_epoch)
{
	struct ms_record *r;

	r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);
	if (!r) {
		/* Which record was lost decides what it biases: a lost allocation
		 * makes its site's estimates low, a lost free keeps a freed block
		 * live (live bytes and leaks high). */
		stat_inc(MS_STAT_DROPPED);
		if (kind == MS_KIND_FREE)
			stat_inc(MS_STAT_DROPPED_FREES);
		return;
	}
	r->ptr = ptr;
	r->size_lo = (__u32)size;
	r->size_hi = (__u16)(size >> 32);
	r->kind_api = ms_pack_kind_api(kind, api);
	r->tier_epoch = tier_epoch;
	r->tgid = hit->tgid;
	r->tid = hit->tid;
	r->site_id = site_id;
	r->time = (__u32)(bpf_ktime_get_ns() >> MS_TIME_SHIFT);
	/* No wake-up: a wake-up is another trap in the traced thread; the agent
	 * drains on its own timer. */
	bpf_ringbuf_submit(r, BPF_RB_NO_WAKEUP);
	stat_inc(MS_STAT_SAMPLED);
}

/* Only a block whose allocation was sampled (and recorded) is in `live`, so
 * only those frees cost a record. */
static __always_inline void release(const struct hit *hit, __u32 api, __u64 ptr)
{
	struct ms_live_key key = {.tgid = hit->tgid, .ptr = ptr};
	__u32 *slot;

	if (record_every_free) {
		emit(hit, MS_KIND_FREE, api, ptr, 0, MS_NO_SITE, 0);
		return;
	}
	slot = live_slot(&key);
	if (slot && !*slot)
		return;
	if (bpf_map_delete_elem(&live, &key) == 0) {
		if (slot)
			__sync_fetch_and_sub(slot, 1);
		emit(hit, MS_KIND_FREE, api, ptr, 0, MS_NO_SITE, 0);
	}
}

/* A block that is already in `live` is one whose free was never seen (the
 * pointer came back): it is replaced and its slot already counts it. */
static __always_inline void remember(const struct hit *hit, __u64 ptr)
{
	struct ms_live_key key = {.tgid = hit->tgid, .ptr = ptr};
	__u8 one = 1;
	__u32 *slot;
	long err;

	err = bpf_map_update_elem(&live, &key, &one, BPF_NOEXIST);
	if (err == -17 /* EEXIST */)
		return;
	if (err) {
		stat_inc(MS_STAT_LIVE_FULL);
		return;
	}
	slot = live_slot(&key);
	if (slot)
		__sync_fetch_and_add(slot, 1);
}

#endif /* MEMSCOPE_RECORDS_BPF_H */
