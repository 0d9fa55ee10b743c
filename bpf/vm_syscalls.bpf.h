/* SPDX-License-Identifier: GPL-2.0 */
/* Syscall counting (--syscall-counts), memory beyond malloc: anonymous
 * mmap/munmap and brk. Its own programs and maps; it shares nothing with the
 * allocator probes.
 *
 * Raw syscall tracepoints: attached by name, so no tracefs is needed, and
 * they exist where kprobes do not (kernels without CONFIG_KPROBES, like
 * the project's test machines, which also refuse fentry on the syscall
 * functions). They fire for every syscall, so the syscall number is
 * checked first, then whether the process is in vm_procs. A munmap counts
 * as anonymous when it starts at a region an anonymous mmap returned while
 * traced (exact for glibc's mmapped chunks, unmapped whole); the rest is
 * counted apart. Only successful calls count. x86-64 syscall numbers and
 * registers. */
#ifndef MEMSCOPE_VM_SYSCALLS_BPF_H
#define MEMSCOPE_VM_SYSCALLS_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "memscope/vm_counts.h"

#define MS_NR_MMAP 9
#define MS_NR_MUNMAP 11
#define MS_NR_BRK 12
#define MS_MAP_ANONYMOUS 0x20
#define MS_PAGE_SIZE 4096ULL

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct ms_vm_counts);
} vm_procs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct ms_vm_region_key);
	__type(value, __u64);
} vm_regions SEC(".maps");

/* A call between its entry and its exit, by thread. */
struct vm_call {
	__u64 nr;
	__u64 addr;
	__u64 len;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct vm_call);
} vm_calls SEC(".maps");

static __always_inline __u64 vm_pages(__u64 len)
{
	return (len + MS_PAGE_SIZE - 1) & ~(MS_PAGE_SIZE - 1);
}

static __always_inline int vm_syscall(__u64 nr)
{
	return nr == MS_NR_MMAP || nr == MS_NR_MUNMAP || nr == MS_NR_BRK;
}

SEC("raw_tracepoint/sys_enter")
int ms_vm_enter(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
	__u64 nr = ctx->args[1], id, flags = 0;
	__u32 tgid;
	struct vm_call c = {.nr = nr};

	if (!vm_syscall(nr))
		return 0;
	id = bpf_get_current_pid_tgid();
	tgid = id >> 32;
	if (!bpf_map_lookup_elem(&vm_procs, &tgid))
		return 0;
	if (nr == MS_NR_MMAP) {
		bpf_probe_read_kernel(&flags, sizeof(flags), &regs->r10);
		if (!(flags & MS_MAP_ANONYMOUS))
			return 0;
	}
	bpf_probe_read_kernel(&c.addr, sizeof(c.addr), &regs->di);
	bpf_probe_read_kernel(&c.len, sizeof(c.len), &regs->si);
	bpf_map_update_elem(&vm_calls, &id, &c, BPF_ANY);
	return 0;
}

static __always_inline void vm_mmapped(struct ms_vm_counts *v, __u32 tgid, const struct vm_call *c, long ret)
{
	if ((unsigned long)ret >= (unsigned long)-4095)
		return;
	__u64 len = vm_pages(c->len);
	struct ms_vm_region_key key = {.tgid = tgid, .start = ret};

	__sync_fetch_and_add(&v->mmap_calls, 1);
	__sync_fetch_and_add(&v->mmap_bytes, len);
	if (bpf_map_update_elem(&vm_regions, &key, &len, BPF_ANY))
		__sync_fetch_and_add(&v->untracked_mmaps, 1);
}

static __always_inline void vm_unmapped(struct ms_vm_counts *v, __u32 tgid, const struct vm_call *c, long ret)
{
	if (ret != 0)
		return;
	__u64 len = vm_pages(c->len);
	struct ms_vm_region_key key = {.tgid = tgid, .start = c->addr};
	__u64 *region = bpf_map_lookup_elem(&vm_regions, &key);

	if (!region) {
		__sync_fetch_and_add(&v->other_munmap_calls, 1);
		__sync_fetch_and_add(&v->other_munmap_bytes, len);
		return;
	}
	__u64 rest = *region > len ? *region - len : 0;

	if (len > *region)
		len = *region;
	__sync_fetch_and_add(&v->munmap_calls, 1);
	__sync_fetch_and_add(&v->munmap_bytes, len);
	bpf_map_delete_elem(&vm_regions, &key);
	if (rest) {
		/* Its head unmapped: the region now starts after it. */
		key.start += len;
		bpf_map_update_elem(&vm_regions, &key, &rest, BPF_ANY);
	}
}

/* brk returns the break, moved or not; 0 in v->brk means not known yet. */
static __always_inline void vm_break(struct ms_vm_counts *v, long ret)
{
	__u64 now = ret;
	__u64 before = __sync_lock_test_and_set(&v->brk, now);

	__sync_fetch_and_add(&v->brk_calls, 1);
	if (before && now > before)
		__sync_fetch_and_add(&v->brk_grow_bytes, now - before);
	else if (before && now < before)
		__sync_fetch_and_add(&v->brk_shrink_bytes, before - now);
}

SEC("raw_tracepoint/sys_exit")
int ms_vm_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
	long ret = ctx->args[1];
	__u64 nr = 0, id;
	__u32 tgid;
	struct vm_call *p, c;
	struct ms_vm_counts *v;

	bpf_probe_read_kernel(&nr, sizeof(nr), &regs->orig_ax);
	if (!vm_syscall(nr))
		return 0;
	id = bpf_get_current_pid_tgid();
	p = bpf_map_lookup_elem(&vm_calls, &id);
	if (!p)
		return 0;
	c = *p;
	bpf_map_delete_elem(&vm_calls, &id);
	tgid = id >> 32;
	v = bpf_map_lookup_elem(&vm_procs, &tgid);
	if (!v || c.nr != nr)
		return 0;
	if (nr == MS_NR_MMAP)
		vm_mmapped(v, tgid, &c, ret);
	else if (nr == MS_NR_MUNMAP)
		vm_unmapped(v, tgid, &c, ret);
	else
		vm_break(v, ret);
	return 0;
}

#endif /* MEMSCOPE_VM_SYSCALLS_BPF_H */
