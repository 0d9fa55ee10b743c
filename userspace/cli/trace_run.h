// One tracing run from start to final report: resolve targets, load and
// attach, drain while waiting for Ctrl-C / SIGTERM / the duration / the
// targets' exit, then report and detach.
#pragma once
#include "cli/options.h"

namespace memscope {

// Returns the process exit code; throws Error for one-line failures.
int trace_run(const Options& options);

}  // namespace memscope
