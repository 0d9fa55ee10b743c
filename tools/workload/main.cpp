// memscope-workload: allocation workload generator with exact ground truth.
//
// Timeline
//   setup      parse options, block SIGUSR1, mmap per-thread state, create
//              workers; each worker warms up the allocator and parks on a
//              barrier.  (Allocations here are not part of the truth.)
//   ready      --wait-start: "ready <pid>\n" on stderr, sigwait(SIGUSR1).
//   PHASE      start barrier -> workers run their iterations and free
//              everything except the leak -> end barrier.  The only
//              malloc-family calls in the whole process are the counted ones.
//   report     truth JSON (--truth), stdout "checksum ..." line, --verbose
//              stats; all formatted into static buffers and written with
//              write(2), so still no allocation.
//   done       --wait-exit: "done\n" on stderr, sigwait(SIGUSR1).
//   exit       release barrier, workers return, join, exit 0.
#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>
#include <new>
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ground_truth.h"
#include "options.h"
#include "text_buffer.h"
#include "worker.h"

namespace memscope::workload {
namespace {

pthread_barrier_t g_ready;    // workers warmed up and parked
pthread_barrier_t g_start;    // start of the measured phase
pthread_barrier_t g_end;      // end of the measured phase
pthread_barrier_t g_release;  // workers may exit

Truth g_truth;
char g_truth_buf[256 * 1024];
char g_line_buf[4096];

void say(const char* msg);

void* churn_main(void* arg) {
    run_iterations(*static_cast<ThreadCtx*>(arg));
    return nullptr;
}

// The worker's iterations split over `c.churn` threads, one at a time: the
// worker waits in join, so they share its context without a race.
void run_churned(ThreadCtx& c) {
    const std::uint64_t begin = c.begin, end = c.end, n = c.churn;
    for (std::uint64_t j = 0; j < n; ++j) {
        c.begin = begin + (end - begin) * j / n;
        c.end = begin + (end - begin) * (j + 1) / n;
        pthread_t t;
        if (pthread_create(&t, nullptr, churn_main, &c) != 0) {
            say("pthread_create failed");
            _exit(1);
        }
        pthread_join(t, nullptr);
    }
    c.begin = end;  // no iterations left: run_phase makes the end-of-phase frees
    run_phase(c);
    c.begin = begin;
}

void* worker_main(void* arg) {
    ThreadCtx& c = *static_cast<ThreadCtx*>(arg);
    warm_up_allocator();
    pthread_barrier_wait(&g_ready);
    pthread_barrier_wait(&g_start);
    if (c.churn) run_churned(c);
    else run_phase(c);
    pthread_barrier_wait(&g_end);
    // Stay alive (thread exit frees TLS/tcache) until main is done reporting.
    pthread_barrier_wait(&g_release);
    return nullptr;
}

void wait_for_sigusr1(const sigset_t& set) {
    for (;;) {
        int sig = 0;
        int rc = sigwait(&set, &sig);
        if (rc == 0 && sig == SIGUSR1) return;
    }
}

void say(const char* msg) {
    char buf[256];
    TextBuffer t(buf, sizeof buf);
    t.append("memscope-workload: ").append(msg).append("\n");
    write_all(2, t.data(), t.size());
}

std::uint64_t now_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ULL + static_cast<std::uint64_t>(ts.tv_nsec);
}

void print_verbose(const Truth& t, const Options& o, const ThreadCtx* ctxs, std::uint64_t phase_ns) {
    TextBuffer b(g_line_buf, sizeof g_line_buf);
    b.append("memscope-workload: profile=").append(profile_name(o.profile));
    b.append(" scale=").append_u64(o.scale).append(" threads=").append_u64(o.threads);
    b.append(" seed=").append_u64(o.seed).append(" phase_us=").append_u64(phase_ns / 1000).append("\n");
    b.append("memscope-workload: alloc_calls=").append_u64(t.alloc_calls);
    b.append(" free_calls=").append_u64(t.free_calls);
    b.append(" alloc_bytes=").append_u64(t.alloc_bytes).append("\n");
    for (unsigned a = 0; a < kApiCount; ++a) {
        b.append("memscope-workload:   ").append(api_name(static_cast<Api>(a)));
        b.append(" calls=").append_u64(t.api[a].calls).append(" bytes=").append_u64(t.api[a].bytes).append("\n");
    }
    for (unsigned i = 0; i < o.threads; ++i) {
        b.append("memscope-workload:   thread ").append_u64(i).append(" iterations=");
        b.append_u64(ctxs[i].end - ctxs[i].begin).append(" hash=").append_hex16(ctxs[i].hash).append("\n");
    }
    write_all(2, b.data(), b.size());
}

int run(const Options& o) {
    // Block SIGUSR1 before any thread exists: every thread inherits the mask
    // and only sigwait() consumes it.
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    if (pthread_sigmask(SIG_BLOCK, &usr1, nullptr) != 0) {
        say("pthread_sigmask failed");
        return 1;
    }

    // Per-thread state, preallocated outside of malloc.
    const std::size_t ctx_bytes = sizeof(ThreadCtx) * o.threads;
    void* mem = mmap(nullptr, ctx_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) {
        say("mmap of the per-thread state failed");
        return 1;
    }
    ThreadCtx* ctxs = static_cast<ThreadCtx*>(mem);
    for (unsigned i = 0; i < o.threads; ++i) {
        ThreadCtx* c = new (&ctxs[i]) ThreadCtx{};
        c->index = i;
        c->profile = o.profile;
        c->leak = o.leak;
        c->begin = o.scale * i / o.threads;
        c->end = o.scale * (i + 1) / o.threads;
        c->churn = o.churn * (i + 1) / o.threads - o.churn * i / o.threads;
        c->rng.state = hash_mix(o.seed + i, 0x6c6f61645f67656eULL);
        c->hash = hash_mix(0, i);
    }

    const unsigned parties = o.threads + 1;
    pthread_barrier_init(&g_ready, nullptr, parties);
    pthread_barrier_init(&g_start, nullptr, parties);
    pthread_barrier_init(&g_end, nullptr, parties);
    pthread_barrier_init(&g_release, nullptr, parties);

    pthread_t tids[256];
    for (unsigned i = 0; i < o.threads; ++i) {
        int rc = pthread_create(&tids[i], nullptr, worker_main, &ctxs[i]);
        if (rc != 0) {
            say("pthread_create failed");
            _exit(1);  // parked workers cannot be unwound cleanly
        }
    }
    pthread_barrier_wait(&g_ready);

    if (o.wait_start) {
        char buf[64];
        TextBuffer t(buf, sizeof buf);
        t.append("ready ").append_i64(static_cast<std::int64_t>(getpid())).append("\n");
        write_all(2, t.data(), t.size());
        wait_for_sigusr1(usr1);
    }

    // ------------------------------------------------ measured phase -----
    const std::uintptr_t brk_start = reinterpret_cast<std::uintptr_t>(sbrk(0));
    const std::uint64_t t0 = now_ns();
    // The workers are parked: ctxs[0] is the main thread's until the barrier.
    if (o.large_blocks) large_blocks_phase(ctxs[0], o.large_blocks);
    if (o.dlopen_path) loaded_library_phase(ctxs[0], o);
    pthread_barrier_wait(&g_start);
    pthread_barrier_wait(&g_end);
    const std::uint64_t t1 = now_ns();
    // ------------------------------------------------ end of phase -------

    int exit_code = 0;
    aggregate(ctxs, o.threads, g_truth);
    g_truth.brk_start = brk_start;
    g_truth.brk_end = reinterpret_cast<std::uintptr_t>(sbrk(0));

    if (o.truth_path) {
        TextBuffer json(g_truth_buf, sizeof g_truth_buf);
        if (!format_truth(g_truth, o, static_cast<long>(getpid()), json)) {
            say("truth buffer overflow");
            exit_code = 1;
        } else if (!write_file(o.truth_path, json)) {
            // No strerror(): it may consult the locale machinery.
            const int err = errno;
            char buf[512];
            TextBuffer t(buf, sizeof buf);
            t.append("memscope-workload: cannot write truth file ").append(o.truth_path);
            t.append(" (errno ").append_i64(err).append(")\n");
            write_all(2, t.data(), t.size());
            exit_code = 1;
        }
    }

    {
        TextBuffer b(g_line_buf, sizeof g_line_buf);
        b.append("checksum ").append_hex16(g_truth.checksum);
        b.append(" profile=").append(profile_name(o.profile));
        b.append(" scale=").append_u64(o.scale);
        b.append(" threads=").append_u64(o.threads);
        b.append(" seed=").append_u64(o.seed);
        b.append(" alloc_calls=").append_u64(g_truth.alloc_calls);
        b.append(" free_calls=").append_u64(g_truth.free_calls);
        b.append(" alloc_bytes=").append_u64(g_truth.alloc_bytes);
        b.append("\n");
        if (!write_all(1, b.data(), b.size())) exit_code = 1;
    }

    if (o.verbose) print_verbose(g_truth, o, ctxs, t1 - t0);

    if (o.wait_exit) {
        write_all(2, "done\n", 5);
        wait_for_sigusr1(usr1);
    }

    pthread_barrier_wait(&g_release);
    for (unsigned i = 0; i < o.threads; ++i) pthread_join(tids[i], nullptr);
    return exit_code;
}

}  // namespace
}  // namespace memscope::workload

int main(int argc, char** argv) {
    using namespace memscope::workload;
    Options o;
    switch (parse_options(argc, argv, o)) {
        case ParseResult::Help: return 0;
        case ParseResult::Error: return 2;
        case ParseResult::Ok: break;
    }
    return run(o);
}
