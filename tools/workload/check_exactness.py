#!/usr/bin/env python3
"""Cross-check memscope-workload's ground truth against raw bpftrace uprobes.

Runs the workload with --wait-start --wait-exit, attaches bpftrace uprobes to
the glibc allocation entry points of that process (between `ready` and
`done`), and checks that what the kernel saw is exactly what the truth file
says, i.e. that the measured phase (including truth/stdout writing) has no
hidden allocations.

Every probe hit is attributed to the function containing its return address
([rsp] at function entry), i.e. the site function.  Expected per
(probe, caller): the truth's site calls/bytes; release_block/free = by_api.free;
plus glibc's internal tail calls, which reach another public entry point with
the same return address: realloc(NULL, n) -> malloc (null_ptr_reallocs) and
reallocarray -> realloc.  aligned_alloc and memalign share one address and are
probed once.  The C++ sites' operator new / new[] and operator delete / delete[]
are libstdc++'s: their malloc calls come from outside the executable and are
compared, summed, with the C++ sites' truth; their free calls are tail jumps,
seen from release_object and release_array.  No free(NULL) and no allocator call on the main thread allowed.

Needs root and bpftrace.  Usage:
  check_exactness.py BINARY [workload options...]
Exit status 0 (and "RESULT: EXACT") when everything matches.
"""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

LIBC = "/lib/x86_64-linux-gnu/libc.so.6"
OUTSIDE = "(libstdc++: outside the executable)"
CXX_NEW = ("operator new", "operator new[]")
CXX_DELETE = ("operator delete", "operator delete[]")

# probed symbol -> bpftrace expression of the requested bytes
# aligned_alloc and memalign are the same function in glibc 2.36 (same
# address): probe it once as "memalign" and compare with the sum.
PROBES = {
    "malloc": "arg0",
    "calloc": "arg0 * arg1",
    "realloc": "arg1",
    "reallocarray": "arg1 * arg2",
    "posix_memalign": "arg2",
    "memalign": "arg1",
    "valloc": "arg0",
    "pvalloc": "arg0",
}


def load_base(pid, exe):
    """Address where the executable's file offset 0 is mapped."""
    real = os.path.realpath(exe)
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 6 and os.path.realpath(parts[5]) == real and int(parts[2], 16) == 0:
                return int(parts[0].split("-")[0], 16)
    raise RuntimeError("executable mapping not found")


def function_ranges(exe):
    """[(start, end, name)] of the executable's text symbols (file addresses)."""
    out = subprocess.run(["nm", "-S", "--defined-only", exe], check=True,
                         capture_output=True, text=True).stdout
    ranges = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[2] in "tT":
            start, size = int(parts[0], 16), int(parts[1], 16)
            ranges.append((start, start + size, parts[3]))
    return ranges


# Map keys are integers (api index, return address): bpftrace 0.17 emits
# misaligned stack stores for (string, int) tuple keys, which the verifier
# rejects.
API_IDS = list(PROBES) + ["free"]


def bpftrace_program(pid):
    out = ["BEGIN { printf(\"probes-ready\\n\"); }"]
    for i, (api, expr) in enumerate(PROBES.items()):
        out.append(
            f"uprobe:{LIBC}:{api} /pid == {pid}/ {{\n"
            f"  $ret = *(uint64 *)reg(\"sp\");\n"
            f"  @calls[{i}, $ret] = count();\n"
            f"  @bytes[{i}, $ret] = sum({expr});\n"
            f"  if (tid == {pid}) {{ @main_thread[{i}] = count(); }}\n"
            f"}}")
    i = API_IDS.index("free")
    out.append(
        f"uprobe:{LIBC}:free /pid == {pid}/ {{\n"
        f"  $ret = *(uint64 *)reg(\"sp\");\n"
        f"  if (arg0 != 0) {{ @calls[{i}, $ret] = count(); }}\n"
        f"  else {{ @free_null[$ret] = count(); }}\n"
        f"  if (tid == {pid}) {{ @main_thread[{i}] = count(); }}\n"
        f"}}")
    return "\n".join(out) + "\n"


def read_line(stream, pattern, timeout):
    deadline = time.time() + timeout
    buf = b""
    while time.time() < deadline:
        ch = stream.read(1)
        if not ch:
            break
        buf += ch
        if ch == b"\n":
            line = buf.decode(errors="replace")
            buf = b""
            m = re.match(pattern, line)
            if m:
                return m
    raise RuntimeError(f"did not see {pattern!r}")


def parse_maps(text):
    maps = {"@calls": {}, "@bytes": {}, "@main_thread": {}, "@free_null": {}}
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            continue
        if obj.get("type") != "map":
            continue
        for name, data in obj["data"].items():
            if name in maps:
                for key, val in data.items():
                    maps[name][tuple(int(x) for x in key.split(","))] = val
    return maps


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    exe = os.path.realpath(sys.argv[1])
    extra = sys.argv[2:]
    tmp = tempfile.mkdtemp(prefix="memscope-check-")
    truth_path = os.path.join(tmp, "truth.json")
    wl = subprocess.Popen([exe, "--wait-start", "--wait-exit", "--truth", truth_path] + extra,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    pid = int(read_line(wl.stderr, r"ready (\d+)", 30).group(1))
    base = load_base(pid, exe)
    ranges = [(a + base, b + base, n) for a, b, n in function_ranges(exe)]
    prog_path = os.path.join(tmp, "probe.bt")
    with open(prog_path, "w") as f:
        f.write(bpftrace_program(pid))
    bt = subprocess.Popen(["bpftrace", "-f", "json", "-p", str(pid), prog_path],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # BEGIN runs once every uprobe is attached.
    read_line(bt.stdout, r'.*"data": "probes-ready', 120)
    time.sleep(0.2)
    t0 = time.time()
    os.kill(pid, signal.SIGUSR1)
    read_line(wl.stderr, r"done$", 3600)
    elapsed = time.time() - t0
    bt.send_signal(signal.SIGINT)
    bt_out, bt_err = bt.communicate(timeout=120)
    os.kill(pid, signal.SIGUSR1)
    wl_out, _ = wl.communicate(timeout=60)
    if os.environ.get("CHECK_DEBUG"):
        sys.stderr.write(bt_out.decode())
    maps = parse_maps(bt_out.decode())
    truth = json.load(open(truth_path))

    def symbolize(addr):
        for a, b, n in ranges:
            if a <= addr < b:
                return n
        return OUTSIDE

    # seen[(probe api, caller function)] = [calls, bytes]
    seen = {}
    for (api_id, ret), n in maps["@calls"].items():
        key = (API_IDS[api_id], symbolize(ret))
        seen.setdefault(key, [0, 0])[0] += n
    for (api_id, ret), n in maps["@bytes"].items():
        key = (API_IDS[api_id], symbolize(ret))
        seen.setdefault(key, [0, 0])[1] += n

    probe_of = {"aligned_alloc": "memalign"}  # same address in glibc 2.36
    # expected[(probe api, caller function)] = [calls, bytes or None]
    expected = {}
    null_realloc = truth["null_ptr_reallocs"]
    nested_malloc_sites = []
    cxx_new = [0, 0]
    for site in truth["sites"]:
        fn, api = site["function"], site["api"]
        if api in CXX_NEW:
            cxx_new[0] += site["calls"]
            cxx_new[1] += site["bytes"]
            continue
        expected[(probe_of.get(api, api), fn)] = [site["calls"], site["bytes"]]
        if api == "reallocarray":
            # glibc: reallocarray() tail-calls realloc() (same return address)
            expected[("realloc", fn)] = [site["calls"], site["bytes"]]
        if api in ("realloc", "reallocarray"):
            nested_malloc_sites.append(fn)
    expected[("free", "release_block")] = [truth["by_api"]["free"]["calls"], None]
    if cxx_new[0]:
        expected[("malloc", OUTSIDE)] = cxx_new
    # libstdc++'s deletes tail-jump to free: its return address is still in
    # the function that called delete.
    for api, fn in zip(CXX_DELETE, ("release_object", "release_array")):
        if truth["by_api"].get(api, {"calls": 0})["calls"]:
            expected[("free", fn)] = [truth["by_api"][api]["calls"], None]

    ok = True
    rows = []
    # realloc(NULL, n) is forwarded to malloc() (tail call): compare the sum.
    nested_seen = [0, 0]
    for fn in nested_malloc_sites:
        v = seen.pop(("malloc", fn), [0, 0])
        nested_seen[0] += v[0]
        nested_seen[1] += v[1]
    nested_expect = [null_realloc["realloc"]["calls"] + null_realloc["reallocarray"]["calls"],
                     null_realloc["realloc"]["bytes"] + null_realloc["reallocarray"]["bytes"]]
    if nested_expect[0] or nested_seen[0]:
        good = nested_seen == nested_expect
        ok &= good
        rows.append(("malloc", "(realloc sites, NULL ptr)", nested_expect[0], nested_seen[0],
                     nested_expect[1], nested_seen[1], good))
    for (api, fn), (ec, eb) in sorted(expected.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        sc, sb = seen.pop((api, fn), [0, 0])
        good = sc == ec and (eb is None or sb == eb)
        ok &= good
        rows.append((api, fn, ec, sc, "-" if eb is None else eb, "-" if eb is None else sb, good))
    for (api, fn), (sc, sb) in sorted(seen.items()):
        ok = False
        rows.append((api, fn, 0, sc, 0, sb, False))

    # Per-API totals: the truth's by_api vs every probe hit from a site.
    print(f"workload: {wl_out.decode().strip()}")
    print(f"phase + report under bpftrace: {elapsed:.2f} s")
    print(f"{'probe':15} {'caller':32} {'truth calls':>11} {'seen calls':>11} {'truth bytes':>12} {'seen bytes':>12}")
    for api, fn, ec, sc, eb, sb, good in rows:
        print(f"{api:15} {fn:32} {ec:11} {sc:11} {eb:>12} {sb:>12} {'OK' if good else 'MISMATCH'}")
    if maps["@free_null"]:
        ok = False
        print(f"free(NULL) calls seen: {sum(maps['@free_null'].values())}  MISMATCH")
    if maps["@main_thread"]:
        ok = False
        print("allocator calls on the main thread:",
              {API_IDS[k[0]]: v for k, v in maps["@main_thread"].items()}, " MISMATCH")
    print("RESULT:", "EXACT" if ok else "MISMATCH")
    if not ok:
        sys.stderr.write(bt_err.decode())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
