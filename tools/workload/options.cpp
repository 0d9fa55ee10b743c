#include "options.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "text_buffer.h"

namespace memscope::workload {

namespace {

constexpr unsigned kMaxThreads = 256;
constexpr std::uint64_t kMaxScale = 100000000ULL;

const char kUsage[] =
    "usage: memscope-workload [options]\n"
    "\n"
    "Allocation workload generator with exact ground truth for memscope-bpf.\n"
    "\n"
    "  --profile web|pipeline|game|mixed  workload character (default web);\n"
    "                                     mixed runs all three interleaved on every thread\n"
    "  --scale N        iterations (requests/batches/frames), split across threads (default 1000)\n"
    "  --threads T      worker threads (default 2, max 256)\n"
    "  --seed S         PRNG seed (default 1)\n"
    "  --truth FILE     write the ground-truth JSON of the measured phase to FILE\n"
    "  --wait-start     after setup write 'ready <pid>' to stderr and wait for SIGUSR1\n"
    "  --wait-exit      after the phase (and the truth file) write 'done' to stderr and\n"
    "                   wait for SIGUSR1 before exiting\n"
    "  --no-leak        disable the deliberate leak site (site_leak_session_cache)\n"
    "  --churn N        run the iterations on N short-lived threads instead, created and\n"
    "                   joined one after another by the workers (threads by the thousand);\n"
    "                   glibc's own calls for them (each exiting thread frees its cache)\n"
    "                   are not in the truth\n"
    "  --large-blocks N  first in the phase, on one thread: N blocks of 1 MiB and up\n"
    "                   (glibc serves each with its own mmap), and N blocks of 64 KiB\n"
    "                   from the heap (the break grows, then shrinks); all freed (max 64)\n"
    "  --dlopen LIB     first in the phase, on one thread: wait --dlopen-wait MS (200),\n"
    "                   dlopen LIB (RTLD_NOW | RTLD_LOCAL), wait --dlopen-calls-wait MS\n"
    "                   (200; 'signal': write 'dlopened' to stderr and wait for SIGUSR1),\n"
    "                   then make --dlopen-calls N malloc/free pairs (0) through\n"
    "                   LIB's own malloc and free (dlsym; site_loaded_block); the linker's\n"
    "                   own calls for the dlopen are not in the truth\n"
    "  --fork N         first in the phase: N child processes forked, child k by thread\n"
    "                   k % (T+1) (0: the main thread, i: worker i-1); each runs the whole\n"
    "                   profile at once on that one thread (seed S+1000+k), writes its truth\n"
    "                   to FILE.k and its checksum line, and exits; the forking thread waits\n"
    "                   for its children before its own iterations (max 64)\n"
    "  --verbose        print phase statistics on stderr\n"
    "  --help           show this text\n"
    "\n"
    "stdout: one line 'checksum <16 hex digits> ...', deterministic for given options.\n";

void error_line(const char* a, const char* b = nullptr, const char* c = nullptr) {
    char buf[512];
    TextBuffer t(buf, sizeof buf);
    t.append("memscope-workload: ");
    t.append(a);
    if (b) t.append(b);
    if (c) t.append(c);
    t.append(" (try --help)\n");
    write_all(2, t.data(), t.size());
}

bool parse_u64(const char* s, std::uint64_t& out) {
    if (!s || !*s || *s == '-' || *s == '+') return false;
    errno = 0;
    char* end = nullptr;
    unsigned long long v = std::strtoull(s, &end, 0);
    if (errno != 0 || !end || *end != '\0') return false;
    out = v;
    return true;
}

bool parse_profile(const char* s, Profile& out) {
    if (std::strcmp(s, "web") == 0) {
        out = Profile::Web;
        return true;
    }
    if (std::strcmp(s, "pipeline") == 0) {
        out = Profile::Pipeline;
        return true;
    }
    if (std::strcmp(s, "game") == 0) {
        out = Profile::Game;
        return true;
    }
    if (std::strcmp(s, "mixed") == 0) {
        out = Profile::Mixed;
        return true;
    }
    return false;
}

}  // namespace

const char* profile_name(Profile p) {
    switch (p) {
        case Profile::Web:
            return "web";
        case Profile::Pipeline:
            return "pipeline";
        case Profile::Game:
            return "game";
        case Profile::Mixed:
            return "mixed";
    }
    return "?";
}

ParseResult parse_options(int argc, char** argv, Options& o) {
    for (int i = 1; i < argc; ++i) {
        const char* arg = argv[i];
        const char* value = nullptr;
        char name[64];

        // Accept both "--opt value" and "--opt=value".
        const char* eq = std::strchr(arg, '=');
        if (std::strncmp(arg, "--", 2) == 0 && eq && static_cast<std::size_t>(eq - arg) < sizeof name) {
            std::memcpy(name, arg, static_cast<std::size_t>(eq - arg));
            name[eq - arg] = '\0';
            value = eq + 1;
        } else {
            std::size_t n = std::strlen(arg);
            if (n >= sizeof name) n = sizeof name - 1;
            std::memcpy(name, arg, n);
            name[n] = '\0';
        }

        auto flag = [&](const char* opt) { return std::strcmp(name, opt) == 0; };
        auto need_value = [&]() -> const char* {
            if (value) return value;
            if (i + 1 >= argc) {
                error_line("missing value for ", name);
                return nullptr;
            }
            return argv[++i];
        };
        auto no_value = [&]() -> bool {
            if (value) {
                error_line("option takes no value: ", name);
                return false;
            }
            return true;
        };

        if (flag("--help") || flag("-h")) {
            if (!no_value()) return ParseResult::Error;
            write_all(1, kUsage, sizeof kUsage - 1);
            return ParseResult::Help;
        } else if (flag("--profile")) {
            const char* v = need_value();
            if (!v) return ParseResult::Error;
            if (!parse_profile(v, o.profile)) {
                error_line("invalid --profile '", v, "' (expected web|pipeline|game|mixed)");
                return ParseResult::Error;
            }
        } else if (flag("--scale")) {
            const char* v = need_value();
            if (!v) return ParseResult::Error;
            if (!parse_u64(v, o.scale) || o.scale == 0 || o.scale > kMaxScale) {
                error_line("invalid --scale '", v, "' (expected 1..100000000)");
                return ParseResult::Error;
            }
        } else if (flag("--threads")) {
            const char* v = need_value();
            if (!v) return ParseResult::Error;
            std::uint64_t t = 0;
            if (!parse_u64(v, t) || t == 0 || t > kMaxThreads) {
                error_line("invalid --threads '", v, "' (expected 1..256)");
                return ParseResult::Error;
            }
            o.threads = static_cast<unsigned>(t);
        } else if (flag("--seed")) {
            const char* v = need_value();
            if (!v) return ParseResult::Error;
            if (!parse_u64(v, o.seed)) {
                error_line("invalid --seed '", v, "' (expected an unsigned integer)");
                return ParseResult::Error;
            }
        } else if (flag("--truth")) {
            const char* v = need_value();
            if (!v) return ParseResult::Error;
            if (!*v) {
                error_line("empty --truth path");
                return ParseResult::Error;
            }
            o.truth_path = v;
        } else if (flag("--wait-start")) {
            if (!no_value()) return ParseResult::Error;
            o.wait_start = true;
        } else if (flag("--wait-exit")) {
            if (!no_value()) return ParseResult::Error;
            o.wait_exit = true;
        } else if (flag("--churn")) {
            const char* v = need_value();
            if (!v) return ParseResult::Error;
            if (!parse_u64(v, o.churn) || o.churn > kMaxScale) {
                error_line("invalid --churn '", v, "'");
                return ParseResult::Error;
            }
        } else if (flag("--no-leak")) {
            if (!no_value()) return ParseResult::Error;
            o.leak = false;
        } else if (flag("--large-blocks")) {
            const char* v = need_value();
            if (!v) return ParseResult::Error;
            std::uint64_t n = 0;
            if (!parse_u64(v, n) || n > kMaxLargeBlocks) {
                error_line("invalid --large-blocks '", v, "' (expected 0 to 64)");
                return ParseResult::Error;
            }
            o.large_blocks = static_cast<unsigned>(n);
        } else if (flag("--dlopen")) {
            const char* v = need_value();
            if (!v) return ParseResult::Error;
            if (!*v) {
                error_line("empty --dlopen library");
                return ParseResult::Error;
            }
            o.dlopen_path = v;
        } else if (flag("--dlopen-wait") || flag("--dlopen-calls") || flag("--dlopen-calls-wait")) {
            const bool calls = flag("--dlopen-calls"), calls_wait = flag("--dlopen-calls-wait");
            const char* v = need_value();
            if (!v) return ParseResult::Error;
            if (calls_wait && std::strcmp(v, "signal") == 0) {
                o.dlopen_calls_wait_ms = kWaitForSignal;
                continue;
            }
            std::uint64_t n = 0;
            if (!parse_u64(v, n) || n > kMaxScale) {
                error_line("invalid value '", v, "' for a --dlopen option");
                return ParseResult::Error;
            }
            (calls ? o.dlopen_calls : calls_wait ? o.dlopen_calls_wait_ms : o.dlopen_wait_ms) = n;
        } else if (flag("--fork")) {
            const char* v = need_value();
            if (!v) return ParseResult::Error;
            std::uint64_t n = 0;
            if (!parse_u64(v, n) || n > kMaxForks) {
                error_line("invalid --fork '", v, "' (expected 0 to 64)");
                return ParseResult::Error;
            }
            o.forks = static_cast<unsigned>(n);
        } else if (flag("--verbose") || flag("-v")) {
            if (!no_value()) return ParseResult::Error;
            o.verbose = true;
        } else {
            error_line("unknown option: ", arg);
            return ParseResult::Error;
        }
    }
    return ParseResult::Ok;
}

}  // namespace memscope::workload
