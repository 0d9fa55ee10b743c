/* SPDX-License-Identifier: GPL-2.0 */
/* Per-process counting and process events. Kept in its own file so that
 * the allocator probes and the process bookkeeping change independently.
 *
 * - Exact counters per (process, entry point, size class) and probe hits
 *   per process: the report's processes[].
 * - The agent's own process is never counted: with --all the probes are not
 *   filtered by PID, so its traps reach these programs and are dropped here.
 * - sched_process_fork/exec/exit tell the agent about new processes and
 *   about processes leaving, through a small ring buffer of their own (it
 *   wakes the agent, unlike the record ring).
 * - ms_linker, a uprobe on the dynamic linker's debugger hook, tells it
 *   that a traced process loaded or unloaded objects (dlopen, dlclose). */
#ifndef MEMSCOPE_PROCESSES_BPF_H
#define MEMSCOPE_PROCESSES_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "memscope/processes.h"
#include "memscope/sampling_math.h"
#include "probe_context.bpf.h"
#include "stack_walk.bpf.h"

/* Set by the agent before load. */
__u32 agent_tgid;
/* MS_FOLLOW_* bits, set by the agent before it attaches the tracepoints. */
volatile __u32 proc_follow;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1 << 16); /* processes x entry points */
	__type(key, struct ms_proc_key);
	__type(value, struct ms_proc_counts);
} proc_counts SEC(".maps");

/* Zeros to create a process's counters from: a 1 KiB value does not fit on
 * the BPF stack. Never written. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ms_proc_counts);
} proc_zero SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1 << 14);
	__type(key, __u32);
	__type(value, struct ms_proc_hits);
} proc_hits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MS_PROC_STAT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} proc_stats SEC(".maps");

static __always_inline void proc_stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&proc_stats, &idx);
	if (v)
		*v += 1;
}

/* Processes that lost calls or hits to a full table: which, and how many,
 * so that the report can say whose counters are short. Written only when a
 * table is full. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1 << 14);
	__type(key, __u32);
	__type(value, struct ms_proc_overflow);
} proc_overflow SEC(".maps");

static __always_inline void proc_overflowed(__u32 tgid, int hit)
{
	struct ms_proc_overflow *o = bpf_map_lookup_elem(&proc_overflow, &tgid), zero = {};

	if (!o) {
		bpf_map_update_elem(&proc_overflow, &tgid, &zero, BPF_NOEXIST);
		o = bpf_map_lookup_elem(&proc_overflow, &tgid);
		if (!o)
			return;
	}
	__sync_fetch_and_add(hit ? &o->hits : &o->calls, 1);
}

/* Processes whose forks (MS_FOLLOW_FORKS) and exits are reported. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1 << 14);
	__type(key, __u32);
	__type(value, __u8);
} followed SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 << 10);
} proc_events SEC(".maps");

/* The same, for processes with a slot (their links carry it in the
 * cookie): index [slot * MS_API_COUNT + api] and [slot]. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MS_PROC_SLOTS *MS_API_COUNT);
	__type(key, __u32);
	__type(value, struct ms_proc_counts);
} proc_slot_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MS_PROC_SLOTS);
	__type(key, __u32);
	__type(value, struct ms_proc_hits);
} proc_slot_hits SEC(".maps");

/* Counts one probe hit for the current process; returns 0 for the agent
 * itself, whose calls are not traced. */
static __always_inline int proc_hit(int is_return, const struct hit *hit)
{
	__u32 tgid = hit->tgid, slot = ms_cookie_slot(hit->cookie);
	struct ms_proc_hits *h, zero = {};

	if (tgid == agent_tgid)
		return 0;
	if (slot) {
		h = bpf_map_lookup_elem(&proc_slot_hits, &slot);
	} else {
		h = bpf_map_lookup_elem(&proc_hits, &tgid);
		if (!h) {
			bpf_map_update_elem(&proc_hits, &tgid, &zero, BPF_NOEXIST);
			h = bpf_map_lookup_elem(&proc_hits, &tgid);
		}
	}
	if (!h) {
		proc_overflowed(tgid, 1);
		return 1;
	}
	if (is_return)
		h->returns += 1;
	else
		h->entries += 1;
	return 1;
}

static __always_inline void proc_count(__u32 api, __u64 size, const struct hit *hit)
{
	struct ms_proc_key key = {.tgid = hit->tgid, .api = api};
	struct ms_proc_counts *c;
	__u32 k = size_class(size), zero = 0, slot = ms_cookie_slot(hit->cookie);

	if (slot) {
		__u32 idx = slot * MS_API_COUNT + api;

		c = bpf_map_lookup_elem(&proc_slot_counts, &idx);
		if (c && k < MS_SIZE_CLASSES) {
			c->by_class[k].calls += 1;
			c->by_class[k].bytes += size;
		}
		return;
	}
	c = bpf_map_lookup_elem(&proc_counts, &key);
	if (!c) {
		struct ms_proc_counts *z = bpf_map_lookup_elem(&proc_zero, &zero);

		if (!z)
			return;
		/* Another CPU may create it first: then this finds theirs. */
		bpf_map_update_elem(&proc_counts, &key, z, BPF_NOEXIST);
		c = bpf_map_lookup_elem(&proc_counts, &key);
		if (!c) {
			proc_stat_inc(MS_PROC_STAT_FULL);
			proc_overflowed(key.tgid, 0);
			return;
		}
	}
	if (k < MS_SIZE_CLASSES) {
		c->by_class[k].calls += 1;
		c->by_class[k].bytes += size;
	}
}

static __always_inline void proc_event(__u32 kind, struct task_struct *p, __u32 parent, __u32 lead_us)
{
	struct ms_proc_event *e = bpf_ringbuf_reserve(&proc_events, sizeof(*e), 0);

	if (!e) {
		proc_stat_inc(MS_PROC_STAT_EVENTS_LOST);
		return;
	}
	e->kind = kind;
	e->pid = p->tgid;
	e->parent = parent;
	e->lead_us = lead_us;
	__builtin_memcpy(e->comm, p->comm, sizeof(e->comm));
	e->time_ns = bpf_ktime_get_ns();
	bpf_ringbuf_submit(e, 0);
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(ms_proc_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = parent->tgid, ctgid = child->tgid;
	__u32 follow = proc_follow;
	__u8 one = 1;

	if (child->pid != child->tgid)
		return 0; /* a new thread, not a new process */
	if (follow & MS_FOLLOW_ALL_FORKS) {
		proc_event(MS_PROC_FORK, child, ptgid, 0);
		return 0;
	}
	__u8 *seen = bpf_map_lookup_elem(&followed, &ptgid);

	if (!seen)
		return 0;
	if (!(follow & MS_FOLLOW_FORKS)) {
		/* Not followed: the agent sweeps the parent's breakpoints out
		 * of the child's copy of its memory (ms_sweep). Once until that
		 * sweep (the agent resets the mark), so that a storm of forks
		 * cannot fill the ring the exits travel on; not for a child
		 * sharing its parent's memory (vfork, posix_spawn): nothing
		 * to sweep. */
		if ((follow & MS_FOLLOW_SWEEP) && *seen == MS_FOLLOWED && child->mm != parent->mm) {
			*seen = MS_FOLLOWED_SWEEP_ASKED;
			proc_event(MS_PROC_FORK_UNFOLLOWED, child, ptgid, 0);
		}
		return 0;
	}
	/* Followed from here on, so that a grandchild forked before the agent
	 * has handled this event is reported too. */
	bpf_map_update_elem(&followed, &ctgid, &one, BPF_ANY);
	proc_event(MS_PROC_FORK, child, ptgid, 0);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(ms_proc_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 tgid = p->tgid;

	/* A frame pointer found unmapped in the old program says nothing of
	 * the new one's. */
	bpf_task_storage_delete(&walks, p);
	if ((proc_follow & MS_FOLLOW_ALL_EXECS) || bpf_map_lookup_elem(&followed, &tgid))
		proc_event(MS_PROC_EXEC, p, 0, 0);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(ms_proc_exit, struct task_struct *p)
{
	__u32 tgid = p->tgid;

	/* The last thread of the group: `live` was counted down before this
	 * tracepoint. */
	if (p->signal->live.counter != 0)
		return 0;
	if (!(proc_follow & MS_FOLLOW_ALL_FORKS) && !bpf_map_lookup_elem(&followed, &tgid))
		return 0;
	bpf_map_delete_elem(&followed, &tgid);
	proc_event(MS_PROC_EXIT, p, 0, 0);
	return 0;
}

/* The dynamic linker's debugger rendezvous: ld.so calls _dl_debug_state
 * (r_brk of struct r_debug) before and after every change to its list of
 * objects (dlopen: r_state RT_ADD, then RT_CONSISTENT once they are
 * mapped; dlclose: RT_DELETE, then RT_CONSISTENT). The agent probes it in
 * each traced process's ld.so, filtered to that process (unfiltered with
 * --all). The cookie is where _r_debug lies from the probed function (the
 * same in every process mapping that ld.so): r_state is read there, and
 * only an RT_CONSISTENT that follows an RT_ADD is reported, once the new
 * objects are mapped, with how long before it the RT_ADD came (the change
 * began before anything was mapped). Each report wakes the agent, which
 * re-reads the process's maps; the other calls cost one trap. */
#define MS_RT_CONSISTENT 0
#define MS_RT_ADD 1
#define MS_R_STATE_OFFSET 24 /* r_version, r_map, r_brk, then r_state (x86-64) */

/* The last r_state seen per process, and when its RT_ADD came. */
struct linker_seen {
	__u32 state;
	__u32 pad;
	__u64 add_ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1 << 14);
	__type(key, __u32);
	__type(value, struct linker_seen);
} linker_state SEC(".maps");

static __always_inline int linker_hook(struct pt_regs *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32, lead_us = 0;
	__s64 delta = (__s64)bpf_get_attach_cookie(ctx);
	struct linker_seen seen = {.state = MS_RT_CONSISTENT}, *prev;
	__u64 now = bpf_ktime_get_ns(), lead;
	int report = 1;

	if (tgid == agent_tgid)
		return 0;
	if (delta) {
		void *r_state = (void *)(PT_REGS_IP(ctx) + delta + MS_R_STATE_OFFSET);

		if (bpf_probe_read_user(&seen.state, sizeof(seen.state), r_state) == 0) {
			prev = bpf_map_lookup_elem(&linker_state, &tgid);
			/* Unknown before: report, the agent finds nothing new if nothing is. */
			report = seen.state == MS_RT_CONSISTENT && (!prev || prev->state == MS_RT_ADD);
			/* The change began at the RT_ADD, before the new objects were
			 * mapped: the agent reads calls made after it against them. */
			if (report && prev && prev->add_ns && now > prev->add_ns) {
				lead = (now - prev->add_ns) / 1000;
				lead_us = lead > 0xffffffffULL ? 0xffffffffU : (__u32)lead;
			}
			seen.add_ns = seen.state == MS_RT_ADD ? now : 0;
			bpf_map_update_elem(&linker_state, &tgid, &seen, BPF_ANY);
		}
	}
	if (report)
		proc_event(MS_PROC_LINKER, bpf_get_current_task_btf(), 0, lead_us);
	return 0;
}

/* Attached for a moment, filtered to a traced process that forked a child
 * nobody traces, and detached again (BpfObject::sweep_copies): a
 * uprobe-multi link's program is skipped in another thread group, and its
 * handler then asks for the return probe (session) and never for the
 * breakpoint's removal, so the child's copy of the memory kept trapping on
 * every call, twice, untraced. Detaching any consumer makes the kernel take
 * the breakpoints out of every memory that no remaining consumer wants
 * (register_for_each_vma -> filter_chain), the child's among them. */
SEC("uprobe")
int ms_sweep(struct pt_regs *ctx)
{
	return 0;
}

/* A perf uprobe (classic, and inherited under --follow-children). */
SEC("uprobe")
int ms_linker(struct pt_regs *ctx)
{
	return linker_hook(ctx);
}

/* The same on a uprobe-multi link, where the kernel has them: those take
 * CAP_BPF and CAP_PERFMON, where a perf uprobe takes CAP_SYS_ADMIN. The
 * agent sets its attach type before loading (libbpf 1.1 knows no
 * "uprobe.multi" section). */
SEC("uprobe")
int ms_linker_multi(struct pt_regs *ctx)
{
	return linker_hook(ctx);
}

#endif /* MEMSCOPE_PROCESSES_BPF_H */
