// Profile "game": one iteration = one frame.
//
// Per frame:
//   site_game_frame_object          malloc   64-128x  16-64 B, freed at frame end
//   site_game_frame_scratch         calloc   1x       16-64 x 32 B, freed at frame end
//   site_game_render_buffer_create  malloc   2 per thread, on its first frame, 16-64 KiB
//   site_game_render_buffer_resize  realloc  2x       each render buffer resized to 16-64 KiB
//                                                     (kept across frames, freed at phase end)
//   site_game_texture               malloc   1 in 100 frames, 4-16 MiB, freed 2 frames later
//   site_game_audio_page            pvalloc  1 in 50 frames, 1000-9000 B, freed at frame end
//   site_game_entity                operator new    1x  48-256 B, sized operator delete at frame end
//   site_game_particles             operator new[]  1x  64-512 B, operator delete[] at frame end
// (+ site_leak_session_cache every 4th iteration, see worker.cpp)
//
// The calls, bytes and shares of each site at the defaults are in
// docs/measurements.md#workload-ground-truth-at-the-defaults; the exact values
// of any run are in its --truth file.
// This profile makes far more calls per iteration than web: use a smaller
// --scale (e.g. 200) when the tracer is slow.
#include "worker.h"

namespace memscope::workload {

namespace {

void create_render_buffers(ThreadCtx& c) {
    for (int i = 0; i < kGameRenderBuffers; ++i) {
        std::size_t n = c.rng.range(16 * 1024, 64 * 1024);
        c.game_render[i] = track_new(c, SITE_GAME_RENDER_BUFFER_CREATE, site_game_render_buffer_create(n), n);
        fill(c, c.game_render[i]);
    }
}

}  // namespace

void game_iteration(ThreadCtx& c, std::uint64_t idx) {
    if (!c.game_render[0].ptr) create_render_buffers(c);

    // Texture loaded two frames ago is no longer needed.
    if (c.game_texture.ptr && c.game_frames >= c.game_texture_due) retire(c, c.game_texture);

    // Per-frame objects.
    int objects = static_cast<int>(c.rng.range(64, kGameMaxFrameObjects));
    for (int i = 0; i < objects; ++i) {
        std::size_t n = c.rng.range(16, 64);
        c.game_objects[i] = track_new(c, SITE_GAME_FRAME_OBJECT, site_game_frame_object(n), n);
        fill(c, c.game_objects[i]);
    }

    // One C++ entity object and one particle array (new / new[]), deleted at
    // frame end.
    std::size_t entity_bytes = c.rng.range(48, 256);
    Block entity = track_new(c, SITE_GAME_ENTITY, site_game_entity(entity_bytes), entity_bytes);
    fill(c, entity);
    std::size_t particle_bytes = c.rng.range(4, 32) * 16;
    Block particles = track_new(c, SITE_GAME_PARTICLES, site_game_particles(particle_bytes), particle_bytes);
    fill(c, particles);

    // Per-frame scratch array.
    std::size_t count = c.rng.range(16, 64);
    Block scratch = track_new(c, SITE_GAME_FRAME_SCRATCH, site_game_frame_scratch(count, 32), count * 32);
    absorb_zeroed(c, scratch);
    fill(c, scratch);

    // Render buffers are reused and resized every frame.
    for (int i = 0; i < kGameRenderBuffers; ++i) {
        Block& rb = c.game_render[i];
        std::size_t old = rb.size;
        std::size_t n = c.rng.range(16 * 1024, 64 * 1024);
        void* p = site_game_render_buffer_resize(rb.ptr, n);
        track_realloc(c, SITE_GAME_RENDER_BUFFER_RESIZE, rb, p, n);
        absorb(c, rb.ptr, old < n ? old : n);
        fill(c, rb);
    }

    // Rare huge texture upload.
    if (idx % 100 == 50 && !c.game_texture.ptr) {
        std::size_t n = c.rng.range(4u << 20, 16u << 20);
        c.game_texture = track_new(c, SITE_GAME_TEXTURE, site_game_texture(n), n);
        fill(c, c.game_texture);
        c.game_texture_due = c.game_frames + 2;
    }

    // Occasional page-rounded audio buffer.
    if (idx % 50 == 25 && pvalloc_usable()) {
        std::size_t n = c.rng.range(1000, 9000);
        Block page = track_new(c, SITE_GAME_AUDIO_PAGE, site_game_audio_page(n), n);
        check_alignment(page, 4096);
        fill(c, page);
        retire(c, page);
    }

    retire(c, scratch);
    retire(c, particles);
    retire(c, entity);
    for (int i = 0; i < objects; ++i) retire(c, c.game_objects[i]);
    c.game_frames += 1;
}

void game_finish(ThreadCtx& c) {
    if (c.game_texture.ptr) retire(c, c.game_texture);
    for (int i = 0; i < kGameRenderBuffers; ++i)
        if (c.game_render[i].ptr) retire(c, c.game_render[i]);
}

}  // namespace memscope::workload
