// Record streams shaped like the workload's, for benchmarks: what the
// kernel sends when every call is traced (allocations and their frees
// interleaved) and under the default tiered sampling.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "memscope/record.h"

namespace memscope::bench {

enum class Stream {
  sample_all,  // every call: half the records are frees of recent blocks
  tiered,      // default rates: mostly large and forced records, few frees
};

// `live` blocks stay allocated throughout (a steady live set); the rest of
// the stream allocates and frees around it. Pointers are 16-byte aligned
// and clustered like a heap's.
std::vector<ms_record> make_records(Stream kind, size_t n, size_t live, uint64_t seed = 1);

}  // namespace memscope::bench
