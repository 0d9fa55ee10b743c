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
//   --fork N   first in the phase, each thread forks its share of N
//              children, which run the whole profile at once on that one
//              thread, write their own truth and _exit; the thread waits for
//              them before its own iterations.
//   exit       release barrier, workers return, join, exit 0.
//
// --seconds S runs the throughput mode (throughput.h) instead of all this.
#include <cerrno>
#include <csignal>
#include <cstring>
#include <new>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ground_truth.h"
#include "options.h"
#include "phase_control.h"
#include "text_buffer.h"
#include "throughput.h"
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

// --fork: what the children need, set up before the phase (a child must
// not allocate outside its counted calls).
const Options* g_options = nullptr;
ThreadCtx* g_child_ctxs = nullptr;
volatile int g_child_failed = 0;

void say(const char* msg);
void write_report_line(const Truth& t, const Options& o, int& exit_code);

// A forked child: the profile's iterations on this one thread, its truth
// and checksum line, then _exit (no atexit handlers, no thread-exit frees:
// its calls are exactly the counted ones).
[[noreturn]] void run_child(unsigned k) {
    const Options& parent = *g_options;
    Options o = parent;
    o.threads = 1;
    o.forks = 0;
    o.child = k + 1;
    o.seed = parent.seed + 1000 + k;
    ThreadCtx& c = g_child_ctxs[k];
    const std::uintptr_t brk_start = reinterpret_cast<std::uintptr_t>(sbrk(0));
    run_phase(c);
    Truth& t = g_truth;
    aggregate(&c, 1, t);
    t.brk_start = brk_start;
    t.brk_end = reinterpret_cast<std::uintptr_t>(sbrk(0));
    int exit_code = 0;
    if (o.truth_path) {
        char path[4096];
        TextBuffer p(path, sizeof path - 1);
        p.append(o.truth_path).append(".").append_u64(k);
        path[p.size()] = 0;
        TextBuffer json(g_truth_buf, sizeof g_truth_buf);
        if (!format_truth(t, o, static_cast<long>(getpid()), json) || !write_file(path, json)) exit_code = 1;
    }
    write_report_line(t, o, exit_code);
    _exit(exit_code);
}

// The children of thread `thread` (0: main, i: worker i-1), then waits for
// them: the thread's own calls come after its children have exited.
void fork_children(unsigned thread) {
    const Options& o = *g_options;
    pid_t kids[kMaxForks];
    unsigned n = 0;
    for (unsigned k = thread; k < o.forks; k += o.threads + 1) {
        pid_t pid = fork();
        if (pid == 0) run_child(k);
        if (pid < 0) {
            say("fork failed");
            g_child_failed = 1;
            continue;
        }
        kids[n++] = pid;
    }
    for (unsigned i = 0; i < n; ++i) {
        int status = 0;
        while (waitpid(kids[i], &status, 0) < 0 && errno == EINTR) {
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) g_child_failed = 1;
    }
}

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
    if (g_options->forks) fork_children(c.index + 1);
    if (c.churn) run_churned(c);
    else run_phase(c);
    pthread_barrier_wait(&g_end);
    // Stay alive (thread exit frees TLS/tcache) until main is done reporting.
    pthread_barrier_wait(&g_release);
    return nullptr;
}

// The stdout line, one write(2): a child's and its parent's never mix.
void write_report_line(const Truth& t, const Options& o, int& exit_code) {
    TextBuffer b(g_line_buf, sizeof g_line_buf);
    b.append("checksum ").append_hex16(t.checksum);
    if (o.child) b.append(" child=").append_u64(o.child - 1);
    b.append(" profile=").append(profile_name(o.profile));
    b.append(" scale=").append_u64(o.scale);
    b.append(" threads=").append_u64(o.threads);
    b.append(" seed=").append_u64(o.seed);
    b.append(" alloc_calls=").append_u64(t.alloc_calls);
    b.append(" free_calls=").append_u64(t.free_calls);
    b.append(" alloc_bytes=").append_u64(t.alloc_bytes);
    b.append("\n");
    if (!write_all(1, b.data(), b.size())) exit_code = 1;
}

void say(const char* msg) {
    char buf[256];
    TextBuffer t(buf, sizeof buf);
    t.append("memscope-workload: ").append(msg).append("\n");
    write_all(2, t.data(), t.size());
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
    if (!block_sigusr1(usr1)) {
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

    // Forked children's contexts, ready before the phase.
    g_options = &o;
    if (o.forks) {
        void* kids =
            mmap(nullptr, sizeof(ThreadCtx) * o.forks, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (kids == MAP_FAILED) {
            say("mmap of the children's state failed");
            return 1;
        }
        g_child_ctxs = static_cast<ThreadCtx*>(kids);
        for (unsigned k = 0; k < o.forks; ++k) {
            ThreadCtx* c = new (&g_child_ctxs[k]) ThreadCtx{};
            c->profile = o.profile;
            c->leak = o.leak;
            c->begin = 0;
            c->end = o.scale;
            c->rng.state = hash_mix(o.seed + 1000 + k, 0x6c6f61645f67656eULL);
            c->hash = hash_mix(0, 0);
        }
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
        say_ready();
        wait_for_sigusr1(usr1);
    }

    // ------------------------------------------------ measured phase -----
    const std::uintptr_t brk_start = reinterpret_cast<std::uintptr_t>(sbrk(0));
    const std::uint64_t t0 = monotonic_ns();
    // The workers are parked: ctxs[0] is the main thread's until the barrier.
    if (o.forks) fork_children(0);
    if (o.large_blocks) large_blocks_phase(ctxs[0], o.large_blocks);
    if (o.dlopen_path) loaded_library_phase(ctxs[0], o);
    pthread_barrier_wait(&g_start);
    pthread_barrier_wait(&g_end);
    const std::uint64_t t1 = monotonic_ns();
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

    if (g_child_failed) {
        say("a forked child failed");
        exit_code = 1;
    }
    write_report_line(g_truth, o, exit_code);

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
        case ParseResult::Help:
            return 0;
        case ParseResult::Error:
            return 2;
        case ParseResult::Ok:
            break;
    }
    return o.seconds > 0 ? run_throughput(o) : run(o);
}
