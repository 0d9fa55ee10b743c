// SPDX-License-Identifier: GPL-2.0
/* The floor: empty programs at the sites memscope-bpf probes. Whatever a
 * traced call costs under these is the price of the probe mechanism itself
 * (trap, uprobe dispatch, return-address hijack), which no BPF program can go
 * below; memscope-bpf's added cost is judged as a ratio to it.
 *
 * The loader (floor_probes.cpp) loads only the programs of the chosen mode:
 * floor_multi and floor_session are the same code as floor_entry but are
 * loaded with the uprobe-multi and uprobe-session attach types, which libbpf
 * 1.1 cannot express in a section name. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

/* Classic entry probe (one perf-event uprobe per site). */
SEC("uprobe")
int floor_entry(void* ctx) { return 0; }

/* Classic return probe (one perf-event uretprobe per allocating site). */
SEC("uretprobe")
int floor_return(void* ctx) { return 0; }

/* Entry-only probes on one uprobe-multi link: the mechanism memscope-bpf's
 * session probes run on, minus the session bookkeeping. */
SEC("uprobe")
int floor_multi(void* ctx) { return 0; }

/* Session probe that skips every return (1 at entry): what a sampled
 * session probe pays on a call it does not sample, with no work at all. */
SEC("uprobe")
int floor_session(void* ctx) { return 1; }
