// SPDX-License-Identifier: GPL-2.0
/* The BPF object, one concern per header. Each header includes what it
 * needs, so any order compiles (the bpf_header_* tests check each one
 * alone); this one reads from the probe context up to the probes, and keeps
 * the globals in .bss where they were when this was one file. */
#include "probe_context.bpf.h"
#include "stats.bpf.h"
#include "stack_walk.bpf.h"
#include "sampling.bpf.h"
#include "duty_window.bpf.h"
#include "records.bpf.h"
#include "processes.bpf.h"
#include "allocator_probes.bpf.h"
#include "vm_syscalls.bpf.h"
#include "mapped_files.bpf.h"
#include "user_clock.bpf.h"

char LICENSE[] SEC("license") = "GPL";
