// Profile "pipeline": one iteration = one batch of a data-processing pipeline.
//
// Per batch:
//   site_pipeline_input_buffer    malloc         1x   64 KiB - 1 MiB (log-uniform-ish)
//   site_pipeline_chunk           malloc         4x   1-8 KiB
//   site_pipeline_aligned_chunk   aligned_alloc  2x   aligned_alloc(64, 1-8 KiB, multiple of 64)
//   site_pipeline_chunk_grow      realloc        1x   chunk[0] grown to 2x its size
//   site_pipeline_temp_array      calloc         2x   128-2048 x 8 B
//   site_pipeline_compact_output  realloc        1x   input buffer shrunk to 25-75 %
//   site_pipeline_result_object   memalign       1x   memalign(128, 256-1024)
//   site_pipeline_page_buffer     valloc         1 in 64 batches, 4-16 KiB
// Everything is freed at the end of the batch.  realloc(p, 0) is never used.
// (+ site_leak_session_cache every 4th iteration, see worker.cpp)
//
// The calls, bytes and shares of each site at the defaults are in
// docs/measurements.md#workload-ground-truth-at-the-defaults; the exact values
// of any run are in its --truth file.
#include "worker.h"

namespace memscope::workload {

namespace {

constexpr std::size_t kChunkAlignment = 64;
constexpr std::size_t kResultAlignment = 128;

// 64 KiB .. 1 MiB, roughly log-uniform: pick an octave, then a size inside it.
std::size_t input_size(Rng& rng) {
    unsigned octave = static_cast<unsigned>(rng.range(16, 19));  // 64K,128K,256K,512K
    std::size_t base = std::size_t{1} << octave;
    return base + static_cast<std::size_t>(rng.range(0, base));  // <= 1 MiB
}

}  // namespace

void pipeline_iteration(ThreadCtx& c, std::uint64_t idx) {
    // Input buffer.
    std::size_t in_size = input_size(c.rng);
    Block in = track_new(c, SITE_PIPELINE_INPUT_BUFFER, site_pipeline_input_buffer(in_size), in_size);
    fill(c, in);

    // Medium chunks.
    for (int i = 0; i < kPipeChunks; ++i) {
        std::size_t n = c.rng.range(1024, 8192);
        c.pipe_chunks[i] = track_new(c, SITE_PIPELINE_CHUNK, site_pipeline_chunk(n), n);
        fill(c, c.pipe_chunks[i]);
    }
    for (int i = 0; i < kPipeAlignedChunks; ++i) {
        std::size_t n = c.rng.range(16, 128) * kChunkAlignment;  // 1-8 KiB, multiple of 64
        c.pipe_aligned[i] =
            track_new(c, SITE_PIPELINE_ALIGNED_CHUNK, site_pipeline_aligned_chunk(kChunkAlignment, n), n);
        check_alignment(c.pipe_aligned[i], kChunkAlignment);
        fill(c, c.pipe_aligned[i]);
    }

    // One chunk turns out too small: grow it.
    {
        Block& ch = c.pipe_chunks[0];
        std::size_t old = ch.size;
        void* p = site_pipeline_chunk_grow(ch.ptr, old * 2);
        track_realloc(c, SITE_PIPELINE_CHUNK_GROW, ch, p, old * 2);
        absorb(c, ch.ptr, old);
        fill(c, ch);
    }

    // Temporary index arrays.
    for (int i = 0; i < kPipeTempArrays; ++i) {
        std::size_t count = c.rng.range(128, 2048);
        c.pipe_temps[i] = track_new(c, SITE_PIPELINE_TEMP_ARRAY, site_pipeline_temp_array(count, 8), count * 8);
        absorb_zeroed(c, c.pipe_temps[i]);
        fill(c, c.pipe_temps[i]);
    }

    // Compact the input in place: shrink it.
    {
        std::size_t n = in.size * c.rng.range(25, 75) / 100;
        void* p = site_pipeline_compact_output(in.ptr, n);
        track_realloc(c, SITE_PIPELINE_COMPACT_OUTPUT, in, p, n);
        absorb(c, in.ptr, n);
        fill(c, in);
    }

    // Result object.
    std::size_t res_size = c.rng.range(256, 1024);
    Block res =
        track_new(c, SITE_PIPELINE_RESULT_OBJECT, site_pipeline_result_object(kResultAlignment, res_size), res_size);
    check_alignment(res, kResultAlignment);
    fill(c, res);

    // Rarely: a page-aligned staging buffer.
    if (idx % 64 == 7) {
        std::size_t n = 4096 * c.rng.range(1, 4);
        Block page = track_new(c, SITE_PIPELINE_PAGE_BUFFER, site_pipeline_page_buffer(n), n);
        check_alignment(page, 4096);
        fill(c, page);
        retire(c, page);
    }

    for (int i = 0; i < kPipeTempArrays; ++i) retire(c, c.pipe_temps[i]);
    for (int i = 0; i < kPipeChunks; ++i) retire(c, c.pipe_chunks[i]);
    for (int i = 0; i < kPipeAlignedChunks; ++i) retire(c, c.pipe_aligned[i]);
    retire(c, in);
    retire(c, res);
    c.pipe_batches += 1;
}

void pipeline_finish(ThreadCtx&) {
    // Nothing outlives a batch.
}

}  // namespace memscope::workload
