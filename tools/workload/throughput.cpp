#include "throughput.h"

#include <unistd.h>

#include <barrier>
#include <cstdio>
#include <thread>
#include <vector>

#include "phase_control.h"
#include "throughput_loop.h"

namespace memscope::workload {
namespace {

void print_json(const Options& o, const std::vector<WindowResult>& results) {
    CallCounts sum;
    double ops_per_s = 0, ns_per_call = 0, cpu_ns_per_call = 0, cpu = 0, wall = 0;
    for (const auto& r : results) {
        sum.malloc += r.calls.malloc;
        sum.calloc += r.calls.calloc;
        sum.realloc += r.calls.realloc;
        sum.free += r.calls.free;
        // Per-thread rates are summed: each thread's window is its own, and
        // they differ by the few ms a chunk overshoots.
        ops_per_s += r.calls.total() * 1e9 / static_cast<double>(r.elapsed_ns);
        ns_per_call += static_cast<double>(r.elapsed_ns) / r.calls.total() / results.size();
        cpu_ns_per_call += static_cast<double>(r.cpu_ns) / r.calls.total() / results.size();
        cpu += r.cpu_ns;
        wall += r.elapsed_ns;
    }
    printf(
        "{\"schema\": \"memscope-workload/throughput/v1\", \"pid\": %d, \"profile\": \"%s\", \"threads\": %u, "
        "\"seed\": %llu, \"warmup_s\": %.3f, \"seconds\": %.3f, \"calls\": %llu, \"ops_per_s\": %.1f, "
        "\"ns_per_call\": %.2f, \"cpu_ns_per_call\": %.2f, \"cpu_share\": %.4f, \"by_api\": {\"malloc\": %llu, "
        "\"calloc\": %llu, \"realloc\": %llu, \"free\": %llu}, "
        "\"thread_seconds\": [",
        getpid(), profile_name(o.profile), o.threads, static_cast<unsigned long long>(o.seed), o.warmup, o.seconds,
        static_cast<unsigned long long>(sum.total()), ops_per_s, ns_per_call, cpu_ns_per_call, cpu / wall,
        static_cast<unsigned long long>(sum.malloc), static_cast<unsigned long long>(sum.calloc),
        static_cast<unsigned long long>(sum.realloc), static_cast<unsigned long long>(sum.free));
    for (std::size_t i = 0; i < results.size(); ++i) printf("%s%.4f", i ? ", " : "", results[i].elapsed_ns / 1e9);
    printf("]}\n");
    fflush(stdout);
}

}  // namespace

int run_throughput(const Options& o) {
    sigset_t usr1;
    if (!block_sigusr1(usr1)) {
        fputs("memscope-workload: pthread_sigmask failed\n", stderr);
        return 1;
    }
    // Thread i's table is drawn with seed + i.
    std::vector<std::vector<Op>> tables;
    for (unsigned i = 0; i < o.threads; ++i) tables.push_back(make_op_table(o.profile, o.seed + i, o.table));
    std::vector<WindowResult> results(o.threads);
    std::barrier primed(o.threads + 1), start(o.threads + 1);
    const auto warmup_ns = static_cast<std::uint64_t>(o.warmup * 1e9);
    const auto measure_ns = static_cast<std::uint64_t>(o.seconds * 1e9);

    std::vector<std::thread> workers;
    for (unsigned i = 0; i < o.threads; ++i)
        workers.emplace_back([&, i] {
            prime_allocator(tables[i]);
            primed.arrive_and_wait();
            start.arrive_and_wait();
            results[i] = run_window(tables[i], warmup_ns, measure_ns);
        });
    primed.arrive_and_wait();
    if (o.wait_start) {
        say_ready();
        wait_for_sigusr1(usr1);
    }
    start.arrive_and_wait();
    for (auto& w : workers) w.join();
    print_json(o, results);
    return 0;
}

}  // namespace memscope::workload
