#include <dlfcn.h>
#include <string_view>
// Site functions: one direct allocator call each, see sites.h.
#include "sites.h"

#include <cstdlib>
#include <malloc.h>
#include <stdlib.h>

namespace memscope::workload {

const char* api_name(Api api) {
    switch (api) {
        case Api::Malloc:
            return "malloc";
        case Api::Calloc:
            return "calloc";
        case Api::Realloc:
            return "realloc";
        case Api::Reallocarray:
            return "reallocarray";
        case Api::Free:
            return "free";
        case Api::PosixMemalign:
            return "posix_memalign";
        case Api::AlignedAlloc:
            return "aligned_alloc";
        case Api::Memalign:
            return "memalign";
        case Api::Valloc:
            return "valloc";
        case Api::Pvalloc:
            return "pvalloc";
        case Api::OperatorNew:
            return "operator new";
        case Api::OperatorNewArray:
            return "operator new[]";
        case Api::OperatorDelete:
            return "operator delete";
        case Api::OperatorDeleteArray:
            return "operator delete[]";
        case Api::Count:
            break;
    }
    return "?";
}

const SiteInfo kSites[SITE_COUNT] = {
#define MEMSCOPE_X(id, fn, api) {#fn, api},
    MEMSCOPE_WORKLOAD_SITES(MEMSCOPE_X)
#undef MEMSCOPE_X
};

}  // namespace memscope::workload

// noipa = noinline + noclone + no identical-code-folding + no IPA
// propagation of arguments / results; "used" keeps the symbol in place.
#define MEMSCOPE_SITE extern "C" __attribute__((noipa, used))

// Consume the result after the call: the allocator call is therefore never in
// tail position (no `jmp malloc`), and the pointer escapes.
#define MEMSCOPE_ESCAPE(p) asm volatile("" : : "r"(p) : "memory")

// ------------------------------------------------------------------- web ---
MEMSCOPE_SITE void* site_web_request_buffer(std::size_t size) {
    void* p = malloc(size);
    MEMSCOPE_ESCAPE(p);
    return p;
}

MEMSCOPE_SITE void* site_web_header_string(std::size_t size) {
    void* p = malloc(size);
    MEMSCOPE_ESCAPE(p);
    return p;
}

MEMSCOPE_SITE void* site_web_json_node(std::size_t nmemb, std::size_t size) {
    void* p = calloc(nmemb, size);
    MEMSCOPE_ESCAPE(p);
    return p;
}

MEMSCOPE_SITE void* site_web_response_buffer(void* ptr, std::size_t size) {
    void* p = realloc(ptr, size);
    MEMSCOPE_ESCAPE(p);
    return p;
}

MEMSCOPE_SITE void* site_web_header_table(std::size_t nmemb, std::size_t size) {
    void* p = calloc(nmemb, size);
    MEMSCOPE_ESCAPE(p);
    return p;
}

MEMSCOPE_SITE void* site_web_header_table_grow(void* ptr, std::size_t nmemb, std::size_t size) {
    void* p = reallocarray(ptr, nmemb, size);
    MEMSCOPE_ESCAPE(p);
    return p;
}

MEMSCOPE_SITE void* site_web_connection_pool(std::size_t alignment, std::size_t size) {
    void* p = nullptr;
    int rc = posix_memalign(&p, alignment, size);
    MEMSCOPE_ESCAPE(p);
    return rc == 0 ? p : nullptr;
}

// -------------------------------------------------------------- pipeline ---
MEMSCOPE_SITE void* site_pipeline_input_buffer(std::size_t size) {
    void* p = malloc(size);
    MEMSCOPE_ESCAPE(p);
    return p;
}

MEMSCOPE_SITE void* site_pipeline_compact_output(void* ptr, std::size_t size) {
    void* p = realloc(ptr, size);
    MEMSCOPE_ESCAPE(p);
    return p;
}

MEMSCOPE_SITE void* site_pipeline_chunk(std::size_t size) {
    void* p = malloc(size);
    MEMSCOPE_ESCAPE(p);
    return p;
}

MEMSCOPE_SITE void* site_pipeline_chunk_grow(void* ptr, std::size_t size) {
    void* p = realloc(ptr, size);
    MEMSCOPE_ESCAPE(p);
    return p;
}

MEMSCOPE_SITE void* site_pipeline_aligned_chunk(std::size_t alignment, std::size_t size) {
    void* p = aligned_alloc(alignment, size);
    MEMSCOPE_ESCAPE(p);
    return p;
}

MEMSCOPE_SITE void* site_pipeline_temp_array(std::size_t nmemb, std::size_t size) {
    void* p = calloc(nmemb, size);
    MEMSCOPE_ESCAPE(p);
    return p;
}

MEMSCOPE_SITE void* site_pipeline_result_object(std::size_t alignment, std::size_t size) {
    void* p = memalign(alignment, size);
    MEMSCOPE_ESCAPE(p);
    return p;
}

MEMSCOPE_SITE void* site_pipeline_page_buffer(std::size_t size) {
    void* p = valloc(size);
    MEMSCOPE_ESCAPE(p);
    return p;
}

// ------------------------------------------------------------------ game ---
MEMSCOPE_SITE void* site_game_frame_object(std::size_t size) {
    void* p = malloc(size);
    MEMSCOPE_ESCAPE(p);
    return p;
}

MEMSCOPE_SITE void* site_game_frame_scratch(std::size_t nmemb, std::size_t size) {
    void* p = calloc(nmemb, size);
    MEMSCOPE_ESCAPE(p);
    return p;
}

MEMSCOPE_SITE void* site_game_render_buffer_create(std::size_t size) {
    void* p = malloc(size);
    MEMSCOPE_ESCAPE(p);
    return p;
}

MEMSCOPE_SITE void* site_game_render_buffer_resize(void* ptr, std::size_t size) {
    void* p = realloc(ptr, size);
    MEMSCOPE_ESCAPE(p);
    return p;
}

MEMSCOPE_SITE void* site_game_texture(std::size_t size) {
    void* p = malloc(size);
    MEMSCOPE_ESCAPE(p);
    return p;
}

namespace memscope::workload {
bool pvalloc_usable() {
    static const bool usable = [] {
        Dl_info m{}, p{};
        void* malloc_sym = dlsym(RTLD_DEFAULT, "malloc");
        void* pvalloc_sym = dlsym(RTLD_DEFAULT, "pvalloc");
        // A -static build has no dynamic symbols to look up: glibc's libc.a,
        // linked in whole, serves both.
        if (!malloc_sym && !pvalloc_sym) return true;
        if (!malloc_sym || !pvalloc_sym || !dladdr(malloc_sym, &m) || !dladdr(pvalloc_sym, &p)) return false;
        return m.dli_fname && p.dli_fname && std::string_view(m.dli_fname) == p.dli_fname;
    }();
    return usable;
}
}  // namespace memscope::workload

MEMSCOPE_SITE void* site_game_audio_page(std::size_t size) {
    void* p = pvalloc(size);
    MEMSCOPE_ESCAPE(p);
    return p;
}

// C++: a plain operator new call (as `new T` makes for a T of `size` bytes)
// and a new-expression for an array of bytes (operator new[]).
MEMSCOPE_SITE void* site_game_entity(std::size_t size) {
    void* p = ::operator new(size);
    MEMSCOPE_ESCAPE(p);
    return p;
}

MEMSCOPE_SITE void* site_game_particles(std::size_t size) {
    void* p = new unsigned char[size];
    MEMSCOPE_ESCAPE(p);
    return p;
}

// ------------------------------------------------------------------ leak ---
MEMSCOPE_SITE void* site_leak_session_cache(std::size_t size) {
    void* p = malloc(size);
    MEMSCOPE_ESCAPE(p);
    return p;
}

// ---------------------------------------------------- beyond malloc ---
MEMSCOPE_SITE void* site_large_mapped_block(std::size_t size) {
    void* p = malloc(size);
    MEMSCOPE_ESCAPE(p);
    return p;
}

MEMSCOPE_SITE void* site_large_heap_block(std::size_t size) {
    void* p = malloc(size);
    MEMSCOPE_ESCAPE(p);
    return p;
}

// -------------------------------------------------- loaded library ---
MEMSCOPE_SITE void* site_loaded_block(void* (*loaded_malloc)(std::size_t), std::size_t size) {
    void* p = loaded_malloc(size);
    MEMSCOPE_ESCAPE(p);
    return p;
}

MEMSCOPE_SITE void release_loaded(void (*loaded_free)(void*), void* ptr) {
    MEMSCOPE_ESCAPE(ptr);
    loaded_free(ptr);
    asm volatile("" ::: "memory");
}

// ------------------------------------------------------------------ free ---
MEMSCOPE_SITE void release_block(void* ptr) {
    MEMSCOPE_ESCAPE(ptr);
    free(ptr);
    asm volatile("" ::: "memory");
}

MEMSCOPE_SITE void release_object(void* ptr, std::size_t size) {
    MEMSCOPE_ESCAPE(ptr);
    ::operator delete(ptr, size);
    asm volatile("" ::: "memory");
}

MEMSCOPE_SITE void release_array(void* ptr) {
    MEMSCOPE_ESCAPE(ptr);
    delete[] static_cast<unsigned char*>(ptr);
    asm volatile("" ::: "memory");
}
