// The duty cycle's two kinds of window, named alike by the sampling stage
// that schedules them and the attach stage that attaches their probes: the
// probes of the entry points that only allocate, and those of free and the
// deletes (realloc's are attached while either kind is).
#pragma once

namespace memscope {

enum class ProbeWindow { allocations = 0, releases = 1 };

}  // namespace memscope
