#!/usr/bin/env python3
"""Accuracy of perf's stacks of tests/e2e/unwind_tree.cpp's allocations.

Reads `perf script -F ip,sym,dso --no-inline` of a probe on malloc (one
sample per call, frames innermost first; or dwfl_unwind's stacks, printed
alike) and the program's stderr (its "chain <leaf> ... main" lines), and
prints, as `key=value` words with an optional PREFIX to each key:

  samples   samples read
  exact     samples whose stack holds the program's chain of a leaf, whole
            and in order up to main, after library and template frames only
            (the criterion of tests/e2e/unwind_test.cpp for design (a))
  caller    samples of leaf_malloc and leaf_new whose leaf is malloc's caller
            (leaf_malloc) or operator new's caller (leaf_new): the frame the
            frame-pointer walk from a function's entry loses
  caller_of calls of those two leaves: 100 per round (50 each), known from
            the program, so a lost or misattributed stack counts as wrong
"""
import sys


def chains(err_path):
    out = {}
    with open(err_path) as f:
        for line in f:
            words = line.split()
            if len(words) > 1 and words[0] == "chain":
                out[words[1]] = words[1:]
    return out


def samples(stream):
    """Yields each sample's frames as (function, dso) pairs, innermost first."""
    frames = []
    for line in stream:
        line = line.strip()
        if not line:
            if frames:
                yield frames
            frames = []
            continue
        # "98930 malloc (/usr/lib/x86_64-linux-gnu/libc.so.6)"
        _, _, rest = line.partition(" ")
        sym, _, dso = rest.rpartition(" (")
        frames.append((sym, dso.rstrip(")")))
    if frames:
        yield frames


def base(sym):
    return sym.split("(")[0]


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit("usage: check_stacks.py PROGRAM_STDERR ROUNDS [PREFIX] < perf-script-output")
    pre = sys.argv[3] if len(sys.argv) == 4 else ""
    truth = chains(sys.argv[1])
    rounds = int(sys.argv[2])
    ours = {f for chain in truth.values() for f in chain}
    n = exact = caller = 0
    for frames in samples(sys.stdin):
        n += 1
        names = [base(s) for s, _ in frames]
        first = next((i for i, f in enumerate(names) if f in ours), None)
        if first is not None and names[first] in truth:
            chain = truth[names[first]]
            exact += names[first:first + len(chain)] == chain
        # Innermost frame is malloc (the probe); its caller is frame 1.
        if len(names) > 1 and names[1] == "leaf_malloc":
            caller += 1
        elif len(names) > 2 and names[1] == "operator new" and names[2] == "leaf_new":
            caller += 1
    print(f"{pre}samples={n} {pre}exact={exact} {pre}caller={caller} {pre}caller_of={100 * rounds}")


if __name__ == "__main__":
    main()
