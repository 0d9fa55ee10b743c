"""The configurations the benchmark measures (the table's rows): how each
tracer is started against the workload's PID, how to tell that its probes
are in, how it is stopped, and which floor its added cost is judged against.
"""
import dataclasses
import os
import platform
import re
import shutil
import subprocess
from typing import Callable, Optional


@dataclasses.dataclass
class RunContext:
    """What a row needs to build its command for one run."""
    pid: int
    bins: dict          # name -> path of the snapshot of build/'s binaries
    run_dir: str        # private directory of this run (scripts, reports)
    allocator: str      # the allocator's path, as the target sees it


@dataclasses.dataclass
class Row:
    key: str
    label: str
    group: str                       # baseline | floor | memscope | peer
    floor_ref: Optional[str] = None  # key of the floor row its added cost is compared with
    command: Optional[Callable[[RunContext], list]] = None  # None: nothing is attached
    ready: Optional[str] = None      # regex on the tracer's output: its probes are in
    ready_idle: bool = False         # also wait until the tracer sleeps in clock_nanosleep
    stops_with_target: bool = False  # exits by itself when the workload exits
    env: dict = dataclasses.field(default_factory=dict)
    memscope_report: bool = False    # the run leaves run_dir/report.json
    exact_sites: bool = True         # attaches at memscope-bpf's own sites (breakpoint check)
    warmup: Optional[float] = None   # overrides of the run's warm-up and window, for
    seconds: Optional[float] = None  # modes that adapt over seconds (--max-overhead)
    unavailable: Optional[str] = None  # why this row cannot run here


def _floor(mode):
    return lambda c: [c.bins["memscope-floor"], "--pid", str(c.pid), "--mode", mode]


def _memscope(*extra):
    return lambda c: [c.bins["memscope-bpf"], "--pid", str(c.pid), "-o",
                      os.path.join(c.run_dir, "report.json"), *extra]


def _bpftrace(script_template):
    def command(c):
        with open(script_template) as f:
            text = f.read()
        script = os.path.join(c.run_dir, "live_by_stack.bt")
        with open(script, "w") as f:
            f.write(text.replace("@PID@", str(c.pid)).replace("@LIBC@", c.allocator))
        return ["bpftrace", script]
    return command


def _memleak(shim):
    # Through memleak_coexist.py (bcc's ref_ctr_offset bug, see there), with
    # Debian's python, which has bcc. A report interval longer than any run:
    # memleak's periodic report walks its maps in userspace, and would land
    # in some runs' windows and not others. Its probes and per-call work are
    # what is measured.
    return lambda c: ["/usr/bin/python3", shim, shutil.which("memleak-bpfcc"), "-p", str(c.pid), "3600"]


def memscope_help(memscope_bin):
    try:
        return subprocess.run([memscope_bin, "--help"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError) as e:
        return f"(cannot run {memscope_bin}: {e})"


def kernel_headers_missing():
    """Why bcc cannot compile here, or None. bcc reads the headers from
    /lib/modules/$(uname -r)/build (and /source, where Debian splits them)
    or from the kernel's built-in kheaders."""
    release = platform.release()
    base = f"/lib/modules/{release}"
    for d in ("build", "source"):
        if os.path.exists(os.path.join(base, d, "include/linux/kconfig.h")):
            return None
    if os.path.exists("/sys/kernel/kheaders.tar.xz"):
        return None
    return (f"no kernel headers for {release}: apt-get install linux-headers-amd64; "
            f"ln -sfn /usr/src/linux-headers-6.1.*-amd64 {base}/build; "
            f"ln -sfn /usr/src/linux-headers-6.1.*-common {base}/source")


def make_rows(bins, here, adaptive_warmup, adaptive_seconds):
    """Every row, with `unavailable` set where it cannot run here. Rows of
    modes that adapt while they run get `adaptive_warmup` seconds to settle
    before their window, and a window of `adaptive_seconds`."""
    help_text = memscope_help(bins["memscope-bpf"])
    has = lambda option: re.search(r"(^|[\s,])" + re.escape(option) + r"\b", help_text) is not None
    ms_ready = r"memscope-bpf: tracing PID"
    floor_ready = r"memscope-floor: attached"
    rows = [
        Row("untraced", "untraced", "baseline"),
        Row("floor-classic", "floor: empty uprobe+uretprobe (classic)", "floor",
            command=_floor("classic"), ready=floor_ready, stops_with_target=True),
        Row("floor-entry", "floor: empty entry-only uprobes", "floor",
            command=_floor("entry-only"), ready=floor_ready, stops_with_target=True),
        Row("floor-session", "floor: empty session probe, returns skipped", "floor", floor_ref="floor-entry",
            command=_floor("session"), ready=floor_ready, stops_with_target=True),
        Row("ms-full", "memscope --sample-all", "memscope", floor_ref="floor-classic",
            command=_memscope("--sample-all"), ready=ms_ready, stops_with_target=True, memscope_report=True),
        Row("ms-full-classic", "memscope --sample-all --probe-mode classic", "memscope", floor_ref="floor-classic",
            command=_memscope("--sample-all", "--probe-mode", "classic"), ready=ms_ready, stops_with_target=True,
            memscope_report=True),
        Row("ms-default-session", "memscope default sampling --probe-mode session", "memscope",
            floor_ref="floor-entry", command=_memscope("--probe-mode", "session"), ready=ms_ready,
            stops_with_target=True, memscope_report=True),
        Row("ms-default-classic", "memscope default sampling --probe-mode classic", "memscope",
            floor_ref="floor-classic", command=_memscope("--probe-mode", "classic"), ready=ms_ready,
            stops_with_target=True, memscope_report=True),
        Row("ms-maxovh-session", "memscope --max-overhead 3 --probe-mode session", "memscope",
            floor_ref="floor-entry", command=_memscope("--max-overhead", "3", "--probe-mode", "session"),
            ready=ms_ready, stops_with_target=True, memscope_report=True),
        Row("ms-maxovh-classic", "memscope --max-overhead 3 --probe-mode classic", "memscope",
            floor_ref="floor-classic", command=_memscope("--max-overhead", "3", "--probe-mode", "classic"),
            ready=ms_ready, stops_with_target=True, memscope_report=True),
        # The release probes windowed too: no trap per free between windows.
        Row("ms-maxovh-relwin", "memscope --max-overhead 3 --window-releases --probe-mode session", "memscope",
            floor_ref="floor-entry",
            command=_memscope("--max-overhead", "3", "--window-releases", "--probe-mode", "session"),
            ready=ms_ready, stops_with_target=True, memscope_report=True),
        # Bpftrace prints this marker once every probe is attached (its test
        # framework's hook); "Attaching N probes..." comes before the attach.
        Row("bpftrace", "bpftrace live-by-stack script", "peer", floor_ref="floor-classic",
            command=_bpftrace(os.path.join(here, "live_by_stack.bt")), ready=r"__BPFTRACE_NOTIFY_PROBES_ATTACHED",
            env={"__BPFTRACE_NOTIFY_PROBES_ATTACHED": "1"}, exact_sites=False),
        # memleak prints "Attaching to pid" before it attaches; it is attached
        # once its main loop sleeps.
        Row("memleak", "bcc memleak-bpfcc", "peer", floor_ref="floor-classic",
            command=_memleak(os.path.join(here, "memleak_coexist.py")),
            ready=r"Attaching to pid", ready_idle=True, env={"PYTHONUNBUFFERED": "1"}, exact_sites=False),
    ]
    by_key = {r.key: r for r in rows}
    for k in ("ms-maxovh-session", "ms-maxovh-classic", "ms-maxovh-relwin"):
        by_key[k].warmup, by_key[k].seconds = adaptive_warmup, adaptive_seconds
    if not has("--max-overhead"):
        by_key["ms-maxovh-session"].unavailable = by_key["ms-maxovh-classic"].unavailable = \
            "n/a (option not implemented)"
    if not has("--window-releases"):
        by_key["ms-maxovh-relwin"].unavailable = "n/a (option not implemented)"
    if not has("--probe-mode"):
        for r in rows:
            if r.key.startswith("ms-") and r.key != "ms-full":
                r.unavailable = "n/a (--probe-mode not implemented)"
    session_kernel = os.path.exists("/sys/kernel/btf/vmlinux") and b"bpf_session_is_return" in _read_btf_names()
    if not session_kernel:
        for k in ("floor-session", "ms-default-session", "ms-maxovh-session", "ms-maxovh-relwin"):
            by_key[k].unavailable = by_key[k].unavailable or "n/a (kernel without session uprobes, 6.13+)"
    if shutil.which("bpftrace") is None:
        by_key["bpftrace"].unavailable = "n/a (bpftrace not installed: apt-get install bpftrace)"
    if shutil.which("memleak-bpfcc") is None:
        by_key["memleak"].unavailable = "n/a (bpfcc-tools not installed: apt-get install bpfcc-tools)"
    elif (why := kernel_headers_missing()) is not None:
        by_key["memleak"].unavailable = "n/a (" + why + ")"
    return rows


def _read_btf_names():
    try:
        with open("/sys/kernel/btf/vmlinux", "rb") as f:
            return f.read()
    except OSError:
        return b""
