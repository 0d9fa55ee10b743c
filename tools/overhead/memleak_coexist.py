"""Runs bcc's memleak-bpfcc (argv[1], with argv[2:] as its arguments) with
one fix, so that it can be measured on a host where other tools trace too.

bcc 0.26's Python binding declares bpf_attach_uprobe() without its last
argument, ref_ctr_offset, so the C function reads whatever is in that
register (bcc issue #5236). The kernel keeps one ref_ctr_offset per probed
address and refuses a probe that disagrees ("ref_ctr_offset mismatch" in
dmesg): memleak then fails to attach wherever another tool already probes
malloc, and while memleak runs, every other tool (memscope-bpf in someone's
tests included) fails to attach there. Passing 0, which is what the C API
means for a probe without a USDT semaphore, changes nothing else: the
probes, programs and per-call work are memleak's own.
"""
import ctypes as ct
import runpy
import sys

from bcc import libbcc

_attach = libbcc.lib.bpf_attach_uprobe
if len(_attach.argtypes) == 6:  # a fixed bcc declares all 7
    _attach.argtypes = list(_attach.argtypes) + [ct.c_uint32]
    # bcc's `lib` is this same CDLL object, so its calls come here.
    libbcc.lib.bpf_attach_uprobe = lambda *args: _attach(*args, 0)

sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
