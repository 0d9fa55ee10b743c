// How the probes are attached and how large the kernel's tables are: the
// settings the command line chooses for the attach stage.
#pragma once
#include <cstdint>

#include "memscope/unwind.h"

namespace memscope {

// How probes are attached: a session probe (one program for entry and
// return on a uprobe-multi link, 6.13+) lets an unsampled call skip its
// return trap; classic probes are a uprobe plus a uretprobe per entry point.
enum class ProbeMode { Auto, Session, Classic };

struct BpfLimits {
  uint32_t ringbuf_bytes = 8u << 20;  // power of two
  uint32_t live_entries = 1u << 20;   // sampled blocks tracked at once
  uint32_t stack_entries = 16384;
  uint32_t max_sites = 65536;
  uint32_t unwind_rows = MS_UNWIND_ROWS_DEFAULT;  // rows of every object's unwind table together
  // Every call is recorded and never windowed (--sample-all): frees are
  // recorded without the kernel's set of sampled blocks.
  bool record_every_free = false;
  // --syscall-counts: the raw syscall tracepoint programs are loaded. They
  // read the syscall registers with bpf_probe_read_kernel(), which a kernel
  // locked down for confidentiality refuses to load: without them every
  // other program loads there.
  bool syscall_programs = false;
};

}  // namespace memscope
