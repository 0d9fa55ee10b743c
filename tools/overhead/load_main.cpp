// memscope-overhead-load: the workload of the overhead benchmark. Threads
// make allocator calls in a tight loop with one profile's size mix; the
// program says `ready <pid>` on stderr, waits for SIGUSR1 (the tracer attaches
// in between), warms up, measures for a fixed time and prints the allocator
// calls per second it achieved as one JSON object on stdout.
//
// The measured phase is timed, not counted: a trapped call costs anything
// from ~0.5 to ~30 us depending on the host, so a fixed count would take
// anything from a second to minutes.
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <barrier>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "load_mix.h"
#include "load_worker.h"

namespace {

using namespace memscope::overhead;

struct LoadOptions {
  std::string profile = "web";
  unsigned threads = 2;
  double seconds = 1.0;
  double warmup = 0.2;
  uint64_t seed = 1;
  size_t table = 8192;
  bool wait = true;
};

void wait_for_sigusr1(const sigset_t& set) {
  for (;;) {
    int sig = 0;
    if (sigwait(&set, &sig) == 0 && sig == SIGUSR1) return;
  }
}

void print_json(const LoadOptions& o, const std::vector<WorkerResult>& results) {
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
      "{\"schema\": \"memscope-overhead-load/v1\", \"pid\": %d, \"profile\": \"%s\", \"threads\": %u, "
      "\"seed\": %llu, \"warmup_s\": %.3f, \"seconds\": %.3f, \"calls\": %llu, \"ops_per_s\": %.1f, "
      "\"ns_per_call\": %.2f, \"cpu_ns_per_call\": %.2f, \"cpu_share\": %.4f, \"by_api\": {\"malloc\": %llu, "
      "\"calloc\": %llu, \"realloc\": %llu, \"free\": %llu}, "
      "\"thread_seconds\": [",
      getpid(), o.profile.c_str(), o.threads, static_cast<unsigned long long>(o.seed), o.warmup, o.seconds,
      static_cast<unsigned long long>(sum.total()), ops_per_s, ns_per_call, cpu_ns_per_call, cpu / wall,
      static_cast<unsigned long long>(sum.malloc), static_cast<unsigned long long>(sum.calloc),
      static_cast<unsigned long long>(sum.realloc), static_cast<unsigned long long>(sum.free));
  for (size_t i = 0; i < results.size(); ++i) printf("%s%.4f", i ? ", " : "", results[i].elapsed_ns / 1e9);
  printf("]}\n");
  fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  LoadOptions o;
  CLI::App app{"memscope-overhead-load: malloc-heavy workload for the overhead benchmark (ops = allocator calls)."};
  app.add_option("--profile", o.profile, "Size mix: web, pipeline or game")
      ->check(CLI::IsMember({"web", "pipeline", "game"}));
  app.add_option("--threads", o.threads, "Worker threads")->check(CLI::Range(1u, 64u));
  app.add_option("--seconds", o.seconds, "Length of the measured window")->check(CLI::Range(0.01, 600.0));
  app.add_option("--warmup", o.warmup, "Uncounted run before the window (tracer maps fill)")
      ->check(CLI::Range(0.0, 60.0));
  app.add_option("--seed", o.seed, "Seed of the operation tables (thread i uses seed + i)");
  app.add_option("--table", o.table, "Operations per thread's table (a power of two)")->check([](const std::string& s) {
    size_t n = std::stoull(s);
    return n && !(n & (n - 1)) ? std::string() : std::string("must be a power of two");
  });
  bool no_wait = false;
  app.add_flag("--no-wait", no_wait, "Start at once instead of waiting for SIGUSR1");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  o.wait = !no_wait;

  // Blocked before any thread exists, so that every thread inherits the
  // mask and SIGUSR1 is only ever taken by sigwait.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  const LoadProfile profile = *profile_from_name(o.profile);
  std::vector<std::vector<Op>> tables;
  for (unsigned i = 0; i < o.threads; ++i) tables.push_back(make_op_table(profile, o.seed + i, o.table));
  std::vector<WorkerResult> results(o.threads);
  std::barrier primed(o.threads + 1), start(o.threads + 1);
  const auto warmup_ns = static_cast<uint64_t>(o.warmup * 1e9), measure_ns = static_cast<uint64_t>(o.seconds * 1e9);

  std::vector<std::thread> workers;
  for (unsigned i = 0; i < o.threads; ++i)
    workers.emplace_back([&, i] {
      prime_allocator(tables[i]);
      primed.arrive_and_wait();
      start.arrive_and_wait();
      results[i] = run_measured(tables[i], warmup_ns, measure_ns);
    });
  primed.arrive_and_wait();
  if (o.wait) {
    fprintf(stderr, "ready %d\n", getpid());
    wait_for_sigusr1(set);
  }
  start.arrive_and_wait();
  for (auto& w : workers) w.join();
  print_json(o, results);
  return 0;
}
