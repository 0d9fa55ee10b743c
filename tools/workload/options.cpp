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
    "  --seconds S      throughput mode instead of the phase above: each thread makes\n"
    "                   allocator calls in a tight loop with the profile's size mix\n"
    "                   (not mixed) for --warmup S (0.2) uncounted, then S seconds, and\n"
    "                   the calls per second go to stdout as one JSON object; each\n"
    "                   thread cycles through --table N operations (8192, a power of\n"
    "                   two). Takes --profile, --threads, --seed and --wait-start only\n"
    "  --verbose        print phase statistics on stderr\n"
    "  --help           show this text\n"
    "\n"
    "stdout: one line 'checksum <16 hex digits> ...', deterministic for given options\n"
    "(with --seconds: the throughput JSON).\n";

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

// A number of seconds in [lo, hi].
bool parse_seconds(const char* s, double lo, double hi, double& out) {
    if (!s || !*s) return false;
    errno = 0;
    char* end = nullptr;
    double v = std::strtod(s, &end);
    if (errno != 0 || !end || *end != '\0' || !(v >= lo && v <= hi)) return false;
    out = v;
    return true;
}

// The throughput mode runs none of the exact phase: an option of that
// phase given with --seconds would silently do nothing, and the other way
// round.
bool modes_agree(const Options& o, const char* exact_only, const char* throughput_only) {
    if (o.seconds > 0 && (exact_only || o.profile == Profile::Mixed)) {
        error_line(exact_only ? exact_only : "--profile mixed", " does not apply to the throughput mode (--seconds)");
        return false;
    }
    if (o.seconds == 0 && throughput_only) {
        error_line(throughput_only, " applies only to the throughput mode (--seconds)");
        return false;
    }
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

// One argument being parsed: its option name, and its value, either inline
// ("--opt=value") or the next argument ("--opt value").
class Arg {
  public:
    Arg(int& i, int argc, char** argv) : i_(i), argc_(argc), argv_(argv), arg_(argv[i]) {
        const char* eq = std::strchr(arg_, '=');
        if (std::strncmp(arg_, "--", 2) == 0 && eq && static_cast<std::size_t>(eq - arg_) < sizeof name_) {
            std::memcpy(name_, arg_, static_cast<std::size_t>(eq - arg_));
            name_[eq - arg_] = '\0';
            inline_value_ = eq + 1;
        } else {
            std::size_t n = std::strlen(arg_);
            if (n >= sizeof name_) n = sizeof name_ - 1;
            std::memcpy(name_, arg_, n);
            name_[n] = '\0';
        }
    }

    bool is(const char* opt) const { return std::strcmp(name_, opt) == 0; }
    const char* text() const { return arg_; }

    // The option's value; nullptr (with the error written) when missing.
    const char* value() {
        if (inline_value_) return inline_value_;
        if (i_ + 1 >= argc_) {
            error_line("missing value for ", name_);
            return nullptr;
        }
        return argv_[++i_];
    }
    // False (with the error written) when a flag was given a value.
    bool no_value() const {
        if (inline_value_) error_line("option takes no value: ", name_);
        return !inline_value_;
    }

  private:
    int& i_;
    int argc_;
    char** argv_;
    const char* arg_;
    const char* inline_value_ = nullptr;
    char name_[64];
};

enum class Step { Ok, Help, Error, Unknown };

// `v` as an unsigned value in [lo, hi]; else "<before>v<after>" on stderr.
Step unsigned_value(const char* v, std::uint64_t lo, std::uint64_t hi, std::uint64_t& out, const char* before,
                    const char* after) {
    std::uint64_t n = 0;
    if (!parse_u64(v, n) || n < lo || n > hi) {
        error_line(before, v, after);
        return Step::Error;
    }
    out = n;
    return Step::Ok;
}

Step unsigned_option(Arg& a, std::uint64_t lo, std::uint64_t hi, std::uint64_t& out, const char* before,
                     const char* after) {
    const char* v = a.value();
    return v ? unsigned_value(v, lo, hi, out, before, after) : Step::Error;
}

// A non-empty string value.
Step string_option(Arg& a, const char*& out, const char* if_empty) {
    const char* v = a.value();
    if (!v) return Step::Error;
    if (!*v) {
        error_line(if_empty);
        return Step::Error;
    }
    out = v;
    return Step::Ok;
}

// A flag that sets `out`.
Step flag_option(const Arg& a, bool& out, bool to) {
    if (!a.no_value()) return Step::Error;
    out = to;
    return Step::Ok;
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

namespace {

// Options of both modes.
Step parse_common(Arg& a, Options& o) {
    if (a.is("--help") || a.is("-h")) {
        if (!a.no_value()) return Step::Error;
        write_all(1, kUsage, sizeof kUsage - 1);
        return Step::Help;
    }
    if (a.is("--profile")) {
        const char* v = a.value();
        if (!v) return Step::Error;
        if (parse_profile(v, o.profile)) return Step::Ok;
        error_line("invalid --profile '", v, "' (expected web|pipeline|game|mixed)");
        return Step::Error;
    }
    if (a.is("--threads")) {
        std::uint64_t t = o.threads;
        const Step step = unsigned_option(a, 1, kMaxThreads, t, "invalid --threads '", "' (expected 1..256)");
        o.threads = static_cast<unsigned>(t);
        return step;
    }
    if (a.is("--seed"))
        return unsigned_option(a, 0, ~std::uint64_t{0}, o.seed, "invalid --seed '", "' (expected an unsigned integer)");
    if (a.is("--wait-start")) return flag_option(a, o.wait_start, true);
    return Step::Unknown;
}

// The --dlopen-* timings and count; --dlopen-calls-wait also takes "signal".
Step parse_dlopen_timing(Arg& a, Options& o) {
    const bool calls = a.is("--dlopen-calls"), calls_wait = a.is("--dlopen-calls-wait");
    std::uint64_t& out = calls ? o.dlopen_calls : calls_wait ? o.dlopen_calls_wait_ms : o.dlopen_wait_ms;
    const char* v = a.value();
    if (!v) return Step::Error;
    if (calls_wait && std::strcmp(v, "signal") == 0) {
        out = kWaitForSignal;
        return Step::Ok;
    }
    return unsigned_value(v, 0, kMaxScale, out, "invalid value '", "' for a --dlopen option");
}

// Options of the exact phase.
Step parse_exact_phase(Arg& a, Options& o) {
    std::uint64_t n = 0;
    Step step = Step::Unknown;
    if (a.is("--scale"))
        return unsigned_option(a, 1, kMaxScale, o.scale, "invalid --scale '", "' (expected 1..100000000)");
    if (a.is("--truth")) return string_option(a, o.truth_path, "empty --truth path");
    if (a.is("--wait-exit")) return flag_option(a, o.wait_exit, true);
    if (a.is("--churn")) return unsigned_option(a, 0, kMaxScale, o.churn, "invalid --churn '", "'");
    if (a.is("--no-leak")) return flag_option(a, o.leak, false);
    if (a.is("--dlopen")) return string_option(a, o.dlopen_path, "empty --dlopen library");
    if (a.is("--dlopen-wait") || a.is("--dlopen-calls") || a.is("--dlopen-calls-wait"))
        return parse_dlopen_timing(a, o);
    if (a.is("--verbose") || a.is("-v")) return flag_option(a, o.verbose, true);
    if (a.is("--large-blocks")) {
        step = unsigned_option(a, 0, kMaxLargeBlocks, n, "invalid --large-blocks '", "' (expected 0 to 64)");
        if (step == Step::Ok) o.large_blocks = static_cast<unsigned>(n);
    } else if (a.is("--fork")) {
        step = unsigned_option(a, 0, kMaxForks, n, "invalid --fork '", "' (expected 0 to 64)");
        if (step == Step::Ok) o.forks = static_cast<unsigned>(n);
    }
    return step;
}

// Options of the throughput mode.
Step parse_throughput(Arg& a, Options& o) {
    if (a.is("--table")) {
        const Step step = unsigned_option(a, 1, std::uint64_t{1} << 24, o.table, "invalid --table '",
                                          "' (expected a power of two up to 16777216)");
        if (step != Step::Ok || (o.table & (o.table - 1)) == 0) return step;
        error_line("invalid --table: not a power of two");
        return Step::Error;
    }
    const bool seconds = a.is("--seconds");
    if (!seconds && !a.is("--warmup")) return Step::Unknown;
    const char* v = a.value();
    if (!v) return Step::Error;
    if (parse_seconds(v, seconds ? 0.01 : 0.0, seconds ? 86400.0 : 60.0, seconds ? o.seconds : o.warmup)) return Step::Ok;
    error_line(seconds ? "invalid --seconds '" : "invalid --warmup '", v,
               seconds ? "' (expected 0.01 to 86400)" : "' (expected 0 to 60)");
    return Step::Error;
}

}  // namespace

ParseResult parse_options(int argc, char** argv, Options& o) {
    const char* exact_only = nullptr;       // the last option of the exact phase given
    const char* throughput_only = nullptr;  // the last option of the throughput mode given
    for (int i = 1; i < argc; ++i) {
        Arg a(i, argc, argv);
        Step step = parse_common(a, o);
        if (step == Step::Unknown && (step = parse_exact_phase(a, o)) == Step::Ok) exact_only = a.text();
        if (step == Step::Unknown && (step = parse_throughput(a, o)) == Step::Ok) throughput_only = a.text();
        switch (step) {
            case Step::Ok:
                break;
            case Step::Help:
                return ParseResult::Help;
            case Step::Error:
                return ParseResult::Error;
            case Step::Unknown:
                error_line("unknown option: ", argv[i]);
                return ParseResult::Error;
        }
    }
    return modes_agree(o, exact_only, throughput_only) ? ParseResult::Ok : ParseResult::Error;
}

}  // namespace memscope::workload
