/* SPDX-License-Identifier: GPL-2.0 */
/* What a thread's stack walks keep from one walk to the next
 * (stack_walk.bpf.h): the mappings they found, and the rows. */
#ifndef MEMSCOPE_WALK_CACHES_BPF_H
#define MEMSCOPE_WALK_CACHES_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

/* The mappings a thread's walks found last, kept while the process's
 * mappings are unchanged: the kernel's mm_lock_seq moves on every write
 * lock of the mm (mmap, munmap, mprotect, brk, mremap all take it), so a
 * mapping found under one even value is still there under the same value.
 * Measured on the web profile under --sample-all: bpf_find_vma() and its
 * maple-tree search were 11.7% of the traced process's time
 * (docs/measurements.md#where-the-time-beyond-the-trap-goes). */
#define MS_VMA_CACHE 4
struct vma_cached {
	__u64 start, end, dev, ino;
	__s64 to_vaddr;
	__u32 first, rows;
};
struct vma_cache {
	__u32 seq; /* mm_lock_seq the fresh entries were found under; odd: none fresh */
	__u16 next; /* the entry the next mapping found replaces */
	/* Bit i: e[i] was found under seq. The others are stale: taken only when
	 * bpf_find_vma() cannot look (vma_cache_stale). No two entries overlap. */
	__u16 fresh;
	struct vma_cached e[MS_VMA_CACHE];
};

/* The rows a thread's walks found last, by the object's first row and the
 * address searched: the agent loads each object's rows once, into a slice
 * of its own that it never rewrites, so an entry stays right for the whole
 * trace. Direct-mapped: a hit costs a multiply and a compare where the
 * binary search took up to 24 steps (5.5% of a fully traced thread's time
 * once the mapping cache was in, docs/measurements.md). */
#define MS_ROW_CACHE 64
struct row_cached {
	__u64 vaddr;
	__u32 first; /* the object's slice; 0 with row 0: empty */
	__u32 row;
};

/* The process's mappings changed since the cache was filled: its entries
 * turn stale and it takes the new value. Only where mm_lock_seq is a
 * seqcount (6.14+ with per-VMA locks), odd while the write lock is held;
 * before, an int moved at the unlock only, which would leave an entry
 * usable while another thread changes the mappings: no entry is fresh
 * there. */
static __always_inline void vma_cache_check(struct vma_cache *c)
{
	struct mm_struct *mm = bpf_get_current_task_btf()->mm;
	__u32 seq = 1;

	if (mm && bpf_core_field_exists(mm->mm_lock_seq.sequence))
		bpf_core_read(&seq, sizeof(seq), &mm->mm_lock_seq.sequence);
	if (seq != c->seq || (seq & 1)) {
		c->seq = seq;
		c->fresh = 0;
	}
}

static __always_inline struct vma_cached *vma_cache_find(struct vma_cache *c, __u64 pc)
{
	for (int i = 0; i < MS_VMA_CACHE; i++)
		if (((c->fresh >> i) & 1) && pc >= c->e[i].start && pc < c->e[i].end)
			return &c->e[i];
	return 0;
}

/* The mapping of pc as an earlier walk found it, for when bpf_find_vma()
 * returns -EBUSY: it only try-locks the mm, which fails while a writer
 * holds the lock or waits for it. The agent's own window attaches and
 * detaches take it once per probe while the process allocates: on the web
 * profile under --window-releases 0.3-0.9% of walks (43-85% of those made
 * while the release probes were attaching) ended `unreadable` at their
 * first frame, and those stacks, all from one phase of the windows, made
 * sites of their own whose frees were seen far less often than their
 * functions' (docs/unwinding.md). Installing a breakpoint writes a code
 * page and keeps the mappings; a split or merged mapping keeps the file
 * offset an entry computes with; and a return address on the thread's live
 * stack lies in code it will return to, still mapped. An entry is wrong
 * only where the object at that address was replaced (dlclose, then a
 * dlopen at the same place) since it was found. */
static __always_inline struct vma_cached *vma_cache_stale(struct vma_cache *c, __u64 pc)
{
	for (int i = 0; i < MS_VMA_CACHE; i++)
		if (pc >= c->e[i].start && pc < c->e[i].end)
			return &c->e[i];
	return 0;
}

/* Replaces the oldest entry, and any that overlaps the new one (a mapping
 * replaced); the entry is fresh unless the mappings are changing (or their
 * sequence is not known). */
static __always_inline void vma_cache_add(struct vma_cache *c, const struct vma_cached *found)
{
	__u32 slot = c->next & (MS_VMA_CACHE - 1);

	for (int i = 0; i < MS_VMA_CACHE; i++)
		if (c->e[i].start < found->end && found->start < c->e[i].end) {
			c->e[i].end = 0;
			c->fresh &= ~(1u << i);
		}
	c->e[slot] = *found;
	c->next += 1;
	if (!(c->seq & 1))
		c->fresh |= 1u << slot;
}

static __always_inline struct row_cached *row_cache_slot(struct row_cached *cache, __u32 first, __u64 vaddr)
{
	return &cache[((vaddr ^ first) * 0x9e3779b97f4a7c15ULL) >> 58 & (MS_ROW_CACHE - 1)];
}

/* The cached row of vaddr in the object at `first`; -1 when not cached. */
static __always_inline long row_cache_find(struct row_cached *cache, __u32 first, __u64 vaddr)
{
	struct row_cached *e = row_cache_slot(cache, first, vaddr);

	return e->vaddr == vaddr && e->first == first && e->row ? (long)e->row : -1;
}

/* Row 0 (the first object's first row) is never cached: 0 marks an empty entry. */
static __always_inline void row_cache_add(struct row_cached *cache, __u32 first, __u64 vaddr, long row)
{
	struct row_cached *e = row_cache_slot(cache, first, vaddr);

	if (row <= 0)
		return;
	e->vaddr = vaddr;
	e->first = first;
	e->row = row;
}

#endif /* MEMSCOPE_WALK_CACHES_BPF_H */
