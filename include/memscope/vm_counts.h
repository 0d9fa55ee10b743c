/* Memory a traced process takes from the kernel besides the allocator's
 * calls: anonymous mmap/munmap and brk, counted exactly at the raw syscall
 * tracepoints. Shared by the BPF programs and the agent. */
#ifndef MEMSCOPE_VM_COUNTS_H
#define MEMSCOPE_VM_COUNTS_H

#ifndef __bpf__
#include <linux/types.h>
#endif

/* One per traced process, keyed by tgid; the agent inserts it (which is
 * what makes the process traced) with `brk` set to the current break, or 0
 * when unknown: the first brk call then sets it without counting a move. */
struct ms_vm_counts {
	__u64 mmap_calls; /* successful mmaps with MAP_ANONYMOUS */
	__u64 mmap_bytes; /* their lengths, rounded up to pages */
	__u64 munmap_calls; /* successful munmaps starting at such a mapping */
	__u64 munmap_bytes;
	__u64 other_munmap_calls; /* the rest: files, older or partly unmapped regions */
	__u64 other_munmap_bytes;
	__u64 brk_calls; /* every brk, queries included */
	__u64 brk_grow_bytes;
	__u64 brk_shrink_bytes;
	__u64 brk; /* the current break */
	__u64 untracked_mmaps; /* anonymous mmaps the region table had no room for */
};

/* An anonymous mapping made while traced, by its start address. */
struct ms_vm_region_key {
	__u32 tgid;
	__u32 pad;
	__u64 start;
};

#ifdef __cplusplus
static_assert(sizeof(struct ms_vm_counts) == 88, "ms_vm_counts layout");
static_assert(sizeof(struct ms_vm_region_key) == 16, "ms_vm_region_key layout");
#endif

#endif
