// The throughput mode's allocation mixes, one per profile (web, pipeline,
// game), and the table of operations a thread cycles through.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "options.h"

namespace memscope::workload {

enum class OpKind : std::uint8_t {
    Malloc,   // malloc(a)
    Calloc,   // calloc(a, b)
    Realloc,  // malloc(a), then realloc to b (a growing buffer)
};

struct Op {
    OpKind kind;
    std::uint32_t a;
    std::uint32_t b;
};

// `count` operations (a power of two) drawn from the profile's mix (not
// Mixed) with a generator seeded with `seed`. Drawing them before the
// measured window keeps random number generation out of the timed loop; the
// table is long enough that the cycle does not make the allocator's
// behaviour artificially regular.
std::vector<Op> make_op_table(Profile profile, std::uint64_t seed, std::size_t count);

}  // namespace memscope::workload
