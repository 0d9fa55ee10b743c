"""Whether a uprobe's breakpoint sits in a process at a file offset.

A uprobe writes int3 (0xcc) into the probed process's copy of the page, so
reading the process's memory at the probed address tells whether a probe is
in: the benchmark uses it to confirm that a tracer which says it is attached
really is, and that no probe is left over from an earlier run when the
untraced baseline is measured.
"""


def _address(pid, path, file_offset):
    with open(f"/proc/{pid}/maps") as maps:
        for line in maps:
            parts = line.split(maxsplit=5)
            if len(parts) < 6 or parts[5].strip() != path:
                continue
            start, end = (int(x, 16) for x in parts[0].split("-"))
            offset = int(parts[2], 16)
            if offset <= file_offset < offset + (end - start):
                return start + file_offset - offset
    return None


def breakpoint_at(pid, path, file_offset):
    """True or False, or None when the address cannot be read."""
    try:
        addr = _address(pid, path, file_offset)
        if addr is None:
            return None
        with open(f"/proc/{pid}/mem", "rb") as mem:
            mem.seek(addr)
            return mem.read(1) == b"\xcc"
    except OSError:
        return None
