// --dlopen: a library opened in the measured phase, then called through
// its own malloc and free, so that a tracer must find an allocator that was
// not there when it attached. Opened RTLD_LOCAL: nothing else binds to it,
// and its calls are exactly the ones made here. The dynamic linker's own
// calls for the dlopen (glibc's malloc for the link map) are not counted.
#include <dlfcn.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "text_buffer.h"
#include "worker.h"

namespace memscope::workload {
namespace {

void sleep_ms(std::uint64_t ms) {
    timespec ts{static_cast<time_t>(ms / 1000), static_cast<long>(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

[[noreturn]] void dl_fatal(const char* what, const char* name) {
    char buf[512];
    TextBuffer t(buf, sizeof buf);
    t.append("memscope-workload: ").append(what).append(" ").append(name).append("\n");
    write_all(2, t.data(), t.size());
    _exit(3);
}

}  // namespace

void loaded_library_phase(ThreadCtx& c, const Options& o) {
    sleep_ms(o.dlopen_wait_ms);
    void* lib = dlopen(o.dlopen_path, RTLD_NOW | RTLD_LOCAL);
    if (!lib) dl_fatal("cannot dlopen", o.dlopen_path);
    if (o.dlopen_calls == 0) return;
    auto loaded_malloc = reinterpret_cast<void* (*)(std::size_t)>(dlsym(lib, "malloc"));
    auto loaded_free = reinterpret_cast<void (*)(void*)>(dlsym(lib, "free"));
    if (!loaded_malloc || !loaded_free) dl_fatal("no malloc and free in", o.dlopen_path);
    if (o.dlopen_calls_wait_ms == kWaitForSignal) {
        // Every thread blocks SIGUSR1 (main.cpp): only sigwait takes it.
        const char line[] = "memscope-workload: dlopened\n";
        write_all(2, line, sizeof line - 1);
        sigset_t usr1;
        sigemptyset(&usr1);
        sigaddset(&usr1, SIGUSR1);
        int sig = 0;
        while (sigwait(&usr1, &sig) != 0 || sig != SIGUSR1) {
        }
    } else {
        sleep_ms(o.dlopen_calls_wait_ms);
    }
    for (std::uint64_t i = 0; i < o.dlopen_calls; ++i) {
        const std::size_t size = 16 + (i % 64) * 8;
        Block b = track_new(c, SITE_LOADED_BLOCK, site_loaded_block(loaded_malloc, size), size);
        fill(c, b);
        absorb(c, b.ptr, b.size);
        c.sites[SITE_LOADED_BLOCK].live_count -= 1;
        c.sites[SITE_LOADED_BLOCK].live_bytes -= static_cast<std::int64_t>(size);
        c.free_calls += 1;
        release_loaded(loaded_free, b.ptr);
    }
    // Left loaded: the tracer's probes on it stay valid to the end.
}

}  // namespace memscope::workload
