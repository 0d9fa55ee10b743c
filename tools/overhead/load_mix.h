// The allocation mixes of memscope-overhead-load: one per workload profile
// (web, pipeline, game), shaped like the bundled workload's profiles, and the
// table of operations a worker thread cycles through.
#pragma once
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace memscope::overhead {

enum class LoadProfile { Web, Pipeline, Game };

std::optional<LoadProfile> profile_from_name(std::string_view name);
const char* profile_name(LoadProfile p);

enum class OpKind : uint8_t {
  Malloc,   // malloc(a)
  Calloc,   // calloc(a, b)
  Realloc,  // malloc(a), then realloc to b (a growing buffer)
};

struct Op {
  OpKind kind;
  uint32_t a;
  uint32_t b;
};

// `count` operations (a power of two) drawn from the profile's mix with a
// seeded generator. Drawing them before the measured phase keeps random
// number generation out of the timed loop; the table is long enough that
// the cycle does not make the allocator's behaviour artificially regular.
std::vector<Op> make_op_table(LoadProfile profile, uint64_t seed, size_t count);

}  // namespace memscope::overhead
