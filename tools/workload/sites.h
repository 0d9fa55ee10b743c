// Allocation sites of memscope-workload.
//
// Every allocation of the measured phase is made by exactly one of the
// site_* functions below.  Each site function
//   * has C linkage, so its symbol is exactly the name listed here
//     (the tracer matches that name in symbolized stack frames),
//   * is __attribute__((noipa)): never inlined, cloned, merged (ICF) or
//     otherwise specialised,
//   * contains exactly ONE direct call to its allocation API and is never a
//     tail call (the result is consumed by an empty asm after the call, and
//     the target is built with -fno-optimize-sibling-calls),
//   * always calls the same API.
// Every free() of the phase is made by release_block(), which calls free()
// directly on a non-NULL pointer; blocks from operator new / new[] go back
// through release_object() / release_array() (operator delete / delete[]).
//
// Expected volume per site at the default options
// (--scale 1000 --threads 2 --seed 1) is documented in web.cpp, pipeline.cpp,
// game.cpp and worker.cpp (leak) next to the code that calls the site, and the
// exact numbers are always in the --truth file.
#pragma once

#include <cstddef>
#include <cstdint>

namespace memscope::workload {

enum class Api : std::uint8_t {
    Malloc,
    Calloc,
    Realloc,
    Reallocarray,
    Free,
    PosixMemalign,
    AlignedAlloc,
    Memalign,
    Valloc,
    Pvalloc,
    OperatorNew,
    OperatorNewArray,
    OperatorDelete,
    OperatorDeleteArray,
    Count
};

constexpr std::size_t kApiCount = static_cast<std::size_t>(Api::Count);

// JSON key of an API in by_api ("malloc", "posix_memalign", "operator new", ...).
const char* api_name(Api api);

// False when pvalloc is served by another object than malloc (jemalloc has
// none, so glibc's would hand out a block that jemalloc's free cannot take):
// the workload then makes no pvalloc calls.
bool pvalloc_usable();

// X(enumerator, function symbol, api)
#define MEMSCOPE_WORKLOAD_SITES(X)                                                  \
    /* web */                                                                       \
    X(SITE_WEB_REQUEST_BUFFER, site_web_request_buffer, Api::Malloc)                \
    X(SITE_WEB_HEADER_STRING, site_web_header_string, Api::Malloc)                  \
    X(SITE_WEB_JSON_NODE, site_web_json_node, Api::Calloc)                          \
    X(SITE_WEB_RESPONSE_BUFFER, site_web_response_buffer, Api::Realloc)             \
    X(SITE_WEB_HEADER_TABLE, site_web_header_table, Api::Calloc)                    \
    X(SITE_WEB_HEADER_TABLE_GROW, site_web_header_table_grow, Api::Reallocarray)    \
    X(SITE_WEB_CONNECTION_POOL, site_web_connection_pool, Api::PosixMemalign)       \
    /* pipeline */                                                                  \
    X(SITE_PIPELINE_INPUT_BUFFER, site_pipeline_input_buffer, Api::Malloc)          \
    X(SITE_PIPELINE_COMPACT_OUTPUT, site_pipeline_compact_output, Api::Realloc)     \
    X(SITE_PIPELINE_CHUNK, site_pipeline_chunk, Api::Malloc)                        \
    X(SITE_PIPELINE_CHUNK_GROW, site_pipeline_chunk_grow, Api::Realloc)             \
    X(SITE_PIPELINE_ALIGNED_CHUNK, site_pipeline_aligned_chunk, Api::AlignedAlloc)  \
    X(SITE_PIPELINE_TEMP_ARRAY, site_pipeline_temp_array, Api::Calloc)              \
    X(SITE_PIPELINE_RESULT_OBJECT, site_pipeline_result_object, Api::Memalign)      \
    X(SITE_PIPELINE_PAGE_BUFFER, site_pipeline_page_buffer, Api::Valloc)            \
    /* game */                                                                      \
    X(SITE_GAME_FRAME_OBJECT, site_game_frame_object, Api::Malloc)                  \
    X(SITE_GAME_FRAME_SCRATCH, site_game_frame_scratch, Api::Calloc)                \
    X(SITE_GAME_RENDER_BUFFER_CREATE, site_game_render_buffer_create, Api::Malloc)  \
    X(SITE_GAME_RENDER_BUFFER_RESIZE, site_game_render_buffer_resize, Api::Realloc) \
    X(SITE_GAME_TEXTURE, site_game_texture, Api::Malloc)                            \
    X(SITE_GAME_AUDIO_PAGE, site_game_audio_page, Api::Pvalloc)                     \
    X(SITE_GAME_ENTITY, site_game_entity, Api::OperatorNew)                         \
    X(SITE_GAME_PARTICLES, site_game_particles, Api::OperatorNewArray)              \
    /* deliberate leak (all profiles, every 4th iteration) */                       \
    X(SITE_LEAK_SESSION_CACHE, site_leak_session_cache, Api::Malloc)                \
    /* memory beyond malloc (--large-blocks) */                                     \
    X(SITE_LARGE_MAPPED_BLOCK, site_large_mapped_block, Api::Malloc)                \
    X(SITE_LARGE_HEAP_BLOCK, site_large_heap_block, Api::Malloc)                    \
    /* a library opened in the phase (--dlopen), through its own malloc */          \
    X(SITE_LOADED_BLOCK, site_loaded_block, Api::Malloc)

enum SiteId : std::uint16_t {
#define MEMSCOPE_X(id, fn, api) id,
    MEMSCOPE_WORKLOAD_SITES(MEMSCOPE_X)
#undef MEMSCOPE_X
        SITE_COUNT,
    SITE_NONE = 0xffff
};

struct SiteInfo {
    const char* function;
    Api api;
};

extern const SiteInfo kSites[SITE_COUNT];

}  // namespace memscope::workload

// ---------------------------------------------------------------------------
// The site functions themselves (C linkage: symbol == name).
// Each returns the block (NULL on failure, posix_memalign included).
extern "C" {

// web
void* site_web_request_buffer(std::size_t size);                                   // malloc
void* site_web_header_string(std::size_t size);                                    // malloc
void* site_web_json_node(std::size_t nmemb, std::size_t size);                     // calloc
void* site_web_response_buffer(void* ptr, std::size_t size);                       // realloc
void* site_web_header_table(std::size_t nmemb, std::size_t size);                  // calloc
void* site_web_header_table_grow(void* ptr, std::size_t nmemb, std::size_t size);  // reallocarray
void* site_web_connection_pool(std::size_t alignment, std::size_t size);           // posix_memalign

// pipeline
void* site_pipeline_input_buffer(std::size_t size);                          // malloc
void* site_pipeline_compact_output(void* ptr, std::size_t size);             // realloc
void* site_pipeline_chunk(std::size_t size);                                 // malloc
void* site_pipeline_chunk_grow(void* ptr, std::size_t size);                 // realloc
void* site_pipeline_aligned_chunk(std::size_t alignment, std::size_t size);  // aligned_alloc
void* site_pipeline_temp_array(std::size_t nmemb, std::size_t size);         // calloc
void* site_pipeline_result_object(std::size_t alignment, std::size_t size);  // memalign
void* site_pipeline_page_buffer(std::size_t size);                           // valloc

// game
void* site_game_frame_object(std::size_t size);                      // malloc
void* site_game_frame_scratch(std::size_t nmemb, std::size_t size);  // calloc
void* site_game_render_buffer_create(std::size_t size);              // malloc
void* site_game_render_buffer_resize(void* ptr, std::size_t size);   // realloc
void* site_game_texture(std::size_t size);                           // malloc
void* site_game_audio_page(std::size_t size);                        // pvalloc
void* site_game_entity(std::size_t size);                            // operator new
void* site_game_particles(std::size_t size);                         // operator new[] (bytes)

// leak
void* site_leak_session_cache(std::size_t size);  // malloc

// memory beyond malloc
void* site_large_mapped_block(std::size_t size);  // malloc
void* site_large_heap_block(std::size_t size);    // malloc

// --dlopen: `loaded_malloc` and `loaded_free` are the library's own (dlsym),
// so that these calls reach it and nothing else.
void* site_loaded_block(void* (*loaded_malloc)(std::size_t), std::size_t size);  // malloc
void release_loaded(void (*loaded_free)(void*), void* ptr);

// The only free() of the measured phase but release_loaded's.  ptr must not be NULL.
void release_block(void* ptr);
// The only operator delete (sized, as a C++14 compiler calls it for a
// complete type) and operator delete[] of the measured phase.
void release_object(void* ptr, std::size_t size);
void release_array(void* ptr);

}  // extern "C"
