/* SPDX-License-Identifier: GPL-2.0 */
/* The kernel's own name of every file a process maps, for the agent to key
 * unwind tables by. The stack walk finds an object by its vma's
 * vm_file->f_inode; /proc/PID/maps names the file the user opened instead,
 * and the two differ on overlayfs (a container's root): there the mapped
 * file is the backing file on the lower or upper layer, with its own device
 * and (with xino) inode. Reading the same field here as the walk does keeps
 * the two in agreement on any filesystem and kernel. */
#ifndef MEMSCOPE_MAPPED_FILES_BPF_H
#define MEMSCOPE_MAPPED_FILES_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "memscope/unwind.h"

#define MS_VM_EXEC 0x4 /* include/linux/mm.h's VM_EXEC */

/* Run by the agent for one process (a task_vma iterator bound to its PID):
 * one ms_mapped_file per executable file mapping (the only ones a walk
 * looks up), in address order. */
SEC("iter/task_vma")
int ms_mapped_files(struct bpf_iter__task_vma *ctx)
{
	struct vm_area_struct *vma = ctx->vma;
	struct ms_mapped_file out = {};
	struct file *file;

	if (!vma)
		return 0;
	file = vma->vm_file;
	if (!file || !(vma->vm_flags & MS_VM_EXEC))
		return 0;
	out.start = vma->vm_start;
	out.dev = file->f_inode->i_sb->s_dev;
	out.ino = file->f_inode->i_ino;
	bpf_seq_write(ctx->meta->seq, &out, sizeof(out));
	return 0;
}

#endif
