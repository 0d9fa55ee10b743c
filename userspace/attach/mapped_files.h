// The kernel's own (device, inode) of a process's mapped files, read with the
// ms_mapped_files task_vma iterator: the names the BPF stack walk finds
// objects by. /proc/PID/maps shows the file the user opened, which on
// overlayfs (a container's root) is another device, and with xino another
// inode, than the file the kernel mapped.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <map>

#include "memscope/unwind.h"

struct bpf_program;

namespace memscope {

// Of executable file mappings, by start address. Empty when the iterator cannot run (the
// process is gone, or an old kernel): the caller falls back to the maps'
// names, right everywhere but on stacked filesystems.
std::map<uint64_t, ms_unwind_key> kernel_mapped_files(const bpf_program* iter, pid_t pid);

}  // namespace memscope
