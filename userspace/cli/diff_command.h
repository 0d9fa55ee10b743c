// `memscope-bpf diff OLD.json NEW.json [--top N] [--metric allocated|live]
// [--folded FILE] [--fail-on-growth]`: compares two reports (docs/diff.md).
// Needs no privileges: it only reads the two files.
#pragma once

namespace memscope {

// argv[0] is "diff". Exit status: 0, 1 for a report that cannot be read
// (one line on stderr), 2 for bad options, 3 with --fail-on-growth when a
// site grew beyond both intervals.
int diff_main(int argc, char** argv);

}  // namespace memscope
