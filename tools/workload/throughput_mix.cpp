#include "throughput_mix.h"

#include "rng.h"

namespace memscope::workload {
namespace {

struct MixEntry {
    unsigned permille;  // share of the operations
    OpKind kind;
    std::uint32_t a_lo, a_hi;  // size (malloc, first size of realloc) or nmemb (calloc)
    std::uint32_t b_lo, b_hi;  // calloc element size, realloc's new size
};

// Shares add up to 1000 in each mix. Sizes follow the exact phase's profiles
// (see README.md): what matters for a tracer is the split between small,
// medium (1-8 KiB) and large (> 8 KiB) requests, which decides how many
// calls memscope-bpf's default sampling records.
constexpr MixEntry kWeb[] = {
    {550, OpKind::Malloc, 8, 200, 0, 0},          // header strings
    {250, OpKind::Calloc, 1, 1, 48, 96},          // JSON nodes
    {100, OpKind::Malloc, 4096, 16384, 0, 0},     // request buffers
    {50, OpKind::Realloc, 512, 512, 2048, 8192},  // response buffer growth
    {50, OpKind::Malloc, 256, 1024, 0, 0},        // everything else
};
constexpr MixEntry kPipeline[] = {
    {350, OpKind::Malloc, 1024, 8192, 0, 0},          // chunks
    {150, OpKind::Calloc, 128, 2048, 8, 8},           // temporary arrays
    {150, OpKind::Realloc, 1024, 8192, 2048, 16384},  // a chunk grown x2
    {200, OpKind::Malloc, 16, 256, 0, 0},             // small records
    {100, OpKind::Malloc, 16384, 262144, 0, 0},       // input buffers
    {50, OpKind::Malloc, 64, 512, 0, 0},              // result objects
};
constexpr MixEntry kGame[] = {
    {900, OpKind::Malloc, 16, 64, 0, 0},      // per-frame objects
    {60, OpKind::Calloc, 2, 8, 8, 8},         // small scratch arrays
    {30, OpKind::Malloc, 128, 512, 0, 0},     // components
    {10, OpKind::Realloc, 64, 64, 128, 256},  // growing lists
};

template <std::size_t N>
std::vector<Op> draw(const MixEntry (&mix)[N], std::uint64_t seed, std::size_t count) {
    Rng rng{seed};
    std::vector<Op> ops;
    ops.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
        unsigned pick = static_cast<unsigned>(rng.next() % 1000);
        const MixEntry* e = &mix[0];
        for (const auto& m : mix) {
            e = &m;
            if (pick < m.permille) break;
            pick -= m.permille;
        }
        Op op{e->kind, static_cast<std::uint32_t>(rng.range(e->a_lo, e->a_hi)), 0};
        if (e->kind != OpKind::Malloc) op.b = static_cast<std::uint32_t>(rng.range(e->b_lo, e->b_hi));
        ops.push_back(op);
    }
    return ops;
}

}  // namespace

std::vector<Op> make_op_table(Profile profile, std::uint64_t seed, std::size_t count) {
    switch (profile) {
        case Profile::Web:
            return draw(kWeb, seed, count);
        case Profile::Pipeline:
            return draw(kPipeline, seed, count);
        case Profile::Game:
            return draw(kGame, seed, count);
        case Profile::Mixed:
            break;
    }
    return {};
}

}  // namespace memscope::workload
