/* The unwind tables shared by the agent, which builds them from each
 * object's CFI (.eh_frame or .debug_frame), and the BPF stack walk, which
 * follows them: one array of rows for every object, each object a sorted
 * slice of it found by the (device, inode) of its file. Plain C for both
 * sides, with static size checks. */
#ifndef MEMSCOPE_UNWIND_H
#define MEMSCOPE_UNWIND_H

#ifdef __bpf__
/* vmlinux.h already provides the __u* types. */
#else
#include <linux/types.h>
#endif

#include "memscope/record.h"

/* How the canonical frame address (the caller's stack pointer) is found. */
enum ms_cfa_kind {
	MS_CFA_NONE = 0, /* no CFI covers these addresses (a gap between functions) */
	MS_CFA_RSP = 1, /* CFA = rsp + 8 * cfa_off8 */
	MS_CFA_RBP = 2, /* CFA = rbp + 8 * cfa_off8 */
	MS_CFA_PLT = 3, /* a PLT stub: CFA = rsp + 8 + ((rip & 15) >= rbp ? 8 : 0) */
	MS_CFA_END = 4, /* the return address is undefined: the outermost frame (_start, a thread's start) */
	MS_CFA_UNKNOWN = 5, /* a DWARF expression or a return address not at CFA - 8 */
};

/* Where the caller's rbp is (ms_unwind_row.rbp): 0 the frame left it alone,
 * negative saved at CFA + 8 * rbp, MS_RBP_LOST undefined or an expression;
 * in a PLT row (MS_CFA_PLT) the rip & 15 threshold instead. */
#define MS_RBP_SAME 0
#define MS_RBP_LOST 127

/* One row: the rule from `start` (an ELF virtual address of the object) up
 * to the next row's start. 8 bytes, so that the rows of a large C++ program
 * (~10^6) stay a few MiB: offsets are in 8-byte units, which every x86-64
 * compiler's CFA and save slots are (others make the row MS_CFA_UNKNOWN).
 * The last row of every object is a gap. */
struct ms_unwind_row {
	__u32 start;
	__s16 cfa_off8; /* CFA offset / 8 */
	__u8 cfa_kind; /* enum ms_cfa_kind */
	__s8 rbp; /* see MS_RBP_SAME */
};
MS_STATIC_ASSERT(sizeof(struct ms_unwind_row) == 8, "ms_unwind_row layout");

/* An object's file as the kernel names it: the superblock's device (the
 * kernel's dev_t, major << 20 | minor) and the inode number. */
struct ms_unwind_key {
	__u64 dev;
	__u64 ino;
};
MS_STATIC_ASSERT(sizeof(struct ms_unwind_key) == 16, "ms_unwind_key layout");

struct ms_unwind_object {
	__u32 first_row; /* index of its first row in the rows array */
	__u32 rows; /* rows in its slice (0: known to have no CFI) */
	__s64 bias; /* ELF vaddr - file offset of its executable segment */
};
MS_STATIC_ASSERT(sizeof(struct ms_unwind_object) == 16, "ms_unwind_object layout");

/* One executable file mapping as the walk sees it (the ms_mapped_files
 * iterator's output): the mapping's start and its vm_file->f_inode, which
 * on overlayfs is not the file /proc/PID/maps names. */
struct ms_mapped_file {
	__u64 start;
	__u64 dev; /* the kernel's dev_t, as in ms_unwind_key */
	__u64 ino;
};
MS_STATIC_ASSERT(sizeof(struct ms_mapped_file) == 24, "ms_mapped_file layout");

/* Why a stack walk stopped (ms_stack.stop). */
enum ms_walk_stop {
	MS_WALK_END = 0, /* the outermost frame was reached: the stack is whole */
	MS_WALK_NO_TABLE = 1, /* a frame in an object (or memory) with no unwind table */
	MS_WALK_NO_CFI = 2, /* a frame at an address its object's CFI does not cover */
	MS_WALK_UNREADABLE = 3, /* stack memory (or the mappings) could not be read then */
	MS_WALK_DEPTH = 4, /* MS_MAX_STACK_DEPTH entries taken: outer frames are missing */
	MS_WALK_UNKNOWN_RULE =
		5, /* a CFA rule the walk does not follow, or a frame address that goes nowhere */
	MS_WALK_STOP_COUNT
};

#define MS_UNWIND_ROWS_DEFAULT (1u << 21)

#endif
