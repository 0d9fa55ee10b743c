// Command-line options of memscope-workload.
#pragma once

#include <cstdint>

namespace memscope::workload {

enum class Profile : std::uint8_t { Web, Pipeline, Game, Mixed };

const char* profile_name(Profile p);

constexpr unsigned kMaxLargeBlocks = 64;
constexpr unsigned kMaxForks = 64;

struct Options {
    Profile profile = Profile::Web;
    std::uint64_t scale = 1000;  // iterations (requests / batches / frames), split across threads
    unsigned threads = 2;
    std::uint64_t seed = 1;
    const char* truth_path = nullptr;  // points into argv
    bool wait_start = false;
    bool wait_exit = false;
    bool leak = true;
    bool verbose = false;
    std::uint64_t churn = 0;    // short-lived threads that run the iterations, created and joined in turn
    unsigned large_blocks = 0;  // --large-blocks: blocks glibc maps, and as many heap blocks
    // --dlopen LIB: opened in the phase (RTLD_NOW | RTLD_LOCAL) after
    // dlopen_wait_ms, then dlopen_calls malloc/free pairs through its own
    // dlsym'd malloc and free after dlopen_calls_wait_ms more.
    const char* dlopen_path = nullptr;  // points into argv
    std::uint64_t dlopen_wait_ms = 200;
    std::uint64_t dlopen_calls = 0;
    std::uint64_t dlopen_calls_wait_ms = 200;  // kWaitForSignal: until SIGUSR1
    unsigned forks = 0;                        // --fork: child processes forked at the start of the phase
    unsigned child = 0;                        // in a forked child: its index + 1 (0: the parent)
    // --seconds S: the throughput mode (throughput.h) instead of the exact
    // phase: allocator calls for S seconds after `warmup` seconds uncounted,
    // each thread cycling through a table of `table` operations.
    double seconds = 0;
    double warmup = 0.2;
    std::uint64_t table = 8192;
};

constexpr std::uint64_t kWaitForSignal = ~std::uint64_t{0};

enum class ParseResult { Ok, Help, Error };

// Parses argv by hand.  On Error a one-line message has already been written
// to stderr; on Help the usage text has been written to stdout.
ParseResult parse_options(int argc, char** argv, Options& out);

}  // namespace memscope::workload
