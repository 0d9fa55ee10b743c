/* Per-process state shared by the BPF programs and the agent: exact
 * counters and probe hits keyed by process, and the process events (fork,
 * exec, exit) that let the agent follow new processes. Kept apart from
 * record.h so that the per-call record layout stays what it is. */
#ifndef MEMSCOPE_PROCESSES_H
#define MEMSCOPE_PROCESSES_H

#include "memscope/record.h"

/* Exact counters of one process and one entry point, per log2 size class:
 * the key is (tgid, api) so that adding entry points never grows a value
 * past what a per-CPU map may hold. */
struct ms_proc_key {
	__u32 tgid;
	__u32 api;
};
MS_STATIC_ASSERT(sizeof(struct ms_proc_key) == 8, "ms_proc_key layout");

struct ms_proc_counts {
	struct ms_count by_class[MS_SIZE_CLASSES];
};
MS_STATIC_ASSERT(sizeof(struct ms_proc_counts) == 16 * MS_SIZE_CLASSES, "ms_proc_counts layout");

/* Traps taken in one process: what the probes cost it, in hits. */
struct ms_proc_hits {
	__u64 entries; /* entry probes run (every call, nested and free(NULL) too) */
	__u64 returns; /* return probes run */
	/* Ticks of the sampled user-mode clock (bpf/user_clock.bpf.h): the
	 * cpu-clock samples that found the process running its own code. */
	__u64 user_ticks;
};
MS_STATIC_ASSERT(sizeof(struct ms_proc_hits) == 24, "ms_proc_hits layout");

/* The sampled user-mode clock's period: one sample per CPU per this many
 * nanoseconds of the CPU's time. */
#define MS_USER_CLOCK_PERIOD_NS 1000000ULL

enum ms_proc_event_kind {
	MS_PROC_FORK = 1, /* a new process (not a thread); parent is its parent */
	MS_PROC_EXEC = 2, /* the process runs a new program */
	MS_PROC_EXIT = 3, /* the process's last thread is gone */
	MS_PROC_LINKER = 4, /* the dynamic linker changed its list of objects (dlopen, dlclose) */
	/* A traced process whose forks are not followed made a new process
	 * (parent is the traced one): the child's copy of its memory holds
	 * its breakpoints. */
	MS_PROC_FORK_UNFOLLOWED = 5,
};

struct ms_proc_event {
	__u32 kind;
	__u32 pid; /* tgid, host PID */
	__u32 parent; /* fork: the parent's tgid */
	/* linker: how long before time_ns the change began (the linker's RT_ADD,
	 * before it mapped the new objects), in microseconds; otherwise 0 */
	__u32 lead_us;
	char comm[16];
	__u64 time_ns; /* bpf_ktime_get_ns(): CLOCK_MONOTONIC when it happened */
};
MS_STATIC_ASSERT(sizeof(struct ms_proc_event) == 40, "ms_proc_event layout");

/* What one process lost to full per-process tables (proc_overflow, by
 * tgid): its calls are still in the totals. */
struct ms_proc_overflow {
	__u64 calls; /* calls not in its own counters: proc_counts was full */
	__u64 hits; /* probe hits not counted: proc_hits was full */
};
MS_STATIC_ASSERT(sizeof(struct ms_proc_overflow) == 16, "ms_proc_overflow layout");

/* Health counters of the per-process bookkeeping (the proc_stats array). */
enum ms_proc_stat {
	MS_PROC_STAT_FULL = 0, /* calls not counted per process: proc_counts full (still in the totals) */
	MS_PROC_STAT_EVENTS_LOST, /* process events lost: proc_events ring full */
	MS_PROC_STAT_COUNT
};

/* What the process tracepoints report (bits of `proc_follow`). */
#define MS_FOLLOW_FORKS 1u /* forks of followed processes */
#define MS_FOLLOW_ALL_FORKS 2u /* every fork on the machine (--all) */
#define MS_FOLLOW_ALL_EXECS 4u /* every exec on the machine (--all, --comm) */
/* Forks of traced processes whose children are not followed, once per
 * sweep (MS_PROC_FORK_UNFOLLOWED; session links only: see ms_sweep). */
#define MS_FOLLOW_SWEEP 8u
/* followed[] values: reported; and a sweep asked for since the last one. */
#define MS_FOLLOWED 1
#define MS_FOLLOWED_SWEEP_ASKED 2

#endif
