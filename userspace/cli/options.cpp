#include "cli/options.h"

#include <CLI/CLI.hpp>

#include <cmath>
#include <cstdio>
#include <map>

#include "common/error.h"
#include "report/metrics_endpoint.h"

namespace memscope {
namespace {

// What the command line gives before it becomes Options.
struct RawOptions {
  bool sample_all = false;
  uint64_t small_below = 0, large_above = 0;
  std::string sampling = "tiers";
  std::string duty;
  CLI::Option* duty_window = nullptr;
  CLI::Option* window_releases = nullptr;
  std::vector<std::string> outputs;
  std::string format;
  std::string folded_value = "alloc";
};

void add_target_options(CLI::App& app, Options& o) {
  app.add_option("-p,--pid", o.pids, "Trace this running process (repeatable)")
      ->check([](const std::string& s) -> std::string {
        bool digits = !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
        return digits && s.size() < 10 && std::stol(s) > 0 ? "" : "'" + s + "' is not a process ID";
      });
  app.add_option("--comm", o.follow.comms,
                 "Trace every process named NAME (its comm), running now or started later (repeatable)");
  app.add_flag("--follow-children", o.follow.children,
               "Also trace the processes the traced ones fork, and their children, as they appear");
  app.add_flag("--all", o.follow.all,
               "Trace every process on the machine that uses an allocator (system-wide; every process mapping a "
               "probed object pays for its traps)");
  app.add_option("command", o.command, "Command to start and trace from its first allocation (after --)");
}

void add_output_options(CLI::App& app, Options& o, RawOptions& raw) {
  app.add_option("-d,--duration", o.duration_s, "Stop after SECONDS (default: until Ctrl-C or the targets exit)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("-i,--interval", o.interval_s, "Print a summary line on stderr every SECONDS")
      ->check(CLI::NonNegativeNumber);
  app.add_option("-o,--output", raw.outputs,
                 "Write the report to FILE, in the format its name ends with: .json, .pb.gz (pprof), .folded (folded "
                 "stacks), .speedscope.json, .html (a page with a flame graph); '-' for stdout; repeatable (default: "
                 "memscope-report.json)")
      ->allow_extra_args(false);  // one FILE per -o: what follows is not another output
  app.add_option("--format", raw.format,
                 "json, pprof, folded, speedscope or html: the format of every -o, whatever its name");
  app.add_option("--folded-value", raw.folded_value,
                 "What folded stacks are weighted by: alloc (estimated bytes allocated) or live (estimated bytes "
                 "still live at the end)")
      ->check(CLI::IsMember({"alloc", "live"}))
      ->capture_default_str();
  app.add_option("--top", o.top, "Keep the N sites and leaks with the most bytes (0: all)")->capture_default_str();
}

void add_sampling_options(CLI::App& app, Options& o, RawOptions& raw) {
  app.add_flag("--sample-all", raw.sample_all, "Record every call (exact per-site figures, highest cost)");
  app.add_option("--small-rate", o.tiers.rate[0], "Sampling rate of small allocations")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--medium-rate", o.tiers.rate[1], "Sampling rate of medium allocations")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--large-rate", o.tiers.rate[2], "Sampling rate of large allocations")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  raw.small_below = o.tiers.medium_min;
  raw.large_above = o.tiers.large_min - 1;
  app.add_option("--small-below", raw.small_below, "Allocations below BYTES are small")->capture_default_str();
  app.add_option("--large-above", raw.large_above, "Allocations above BYTES are large")->capture_default_str();
  app.add_option("--always-above", o.tiers.always_min,
                 "Allocations of at least BYTES are always sampled, whatever their tier's rate (0: off)")
      ->capture_default_str();
  app.add_option("--guarantee", o.tiers.guarantee, "Sample at least one call in every N (0: off)")
      ->capture_default_str();
  app.add_option("--sampling", raw.sampling,
                 "tiers: per-tier rates (default); bytes: Poisson sampling on bytes, a block of s bytes "
                 "sampled with probability 1-exp(-s/INTERVAL), as heapprofd and tcmalloc do")
      ->check(CLI::IsMember({"tiers", "bytes"}))
      ->capture_default_str();
  app.add_option("--byte-interval", o.tiers.byte_interval, "Mean bytes between samples with --sampling=bytes")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
}

void add_budget_options(CLI::App& app, Options& o, RawOptions& raw) {
  app.add_option("--max-events", o.max_events_per_s,
                 "Adaptive: keep records into userspace under N per second, rates tuned for the best byte estimates")
      ->check(CLI::PositiveNumber);
  app.add_option("--max-overhead", o.max_overhead_pct,
                 "Adaptive: keep the CPU added to the traced processes under PCT percent")
      ->check(CLI::Range(0.01, 1000.0));
  app.add_option("--max-sampled", o.max_sampled_pct,
                 "Adaptive: keep the share of allocation calls that become records under PCT percent")
      ->check(CLI::Range(0.001, 100.0));
  app.add_option("--duty-cycle", raw.duty,
                 "Attach the allocating probes for WINDOW seconds in every PERIOD (e.g. 1/30); free, delete and "
                 "realloc stay attached; estimates are scaled by the share of work the windows covered")
      ->check([](const std::string& s) -> std::string {
        double w = 0, p = 0;
        char slash = 0;
        int end = 0;
        const bool ok = sscanf(s.c_str(), "%lf%c%lf%n", &w, &slash, &p, &end) == 3 &&
                        end == static_cast<int>(s.size()) && slash == '/' && std::isfinite(w) && std::isfinite(p) &&
                        w >= 0.05 && p >= w && p <= 86400;
        return ok ? "" : "'" + s + "' is not WINDOW/PERIOD in seconds (WINDOW >= 0.05, WINDOW <= PERIOD <= 86400)";
      });
  raw.duty_window =
      app.add_option("--duty-window", o.max_overhead_window_s,
                     "With --max-overhead: window length in seconds when the probes alone exceed the budget and the "
                     "optimizer cycles them (0: never cycle; default: chosen with the windows' share of time, a window "
                     "about every 6 s, 0.1-1 s long with session probes; 1 s with classic ones, --all or "
                     "--window-releases)")
          ->check(CLI::Range(0.0, 3600.0));
  raw.window_releases = app.add_flag(
      "--window-releases", o.window_releases,
      "With --max-overhead: free, delete and realloc get release windows of their own too (no trap per free "
      "between windows; frees, live and leaks then estimated, on a coverage clock measured up to 33% off on "
      "one host: see docs/lifetimes.md#release-windows); without it they stay attached and every sampled "
      "block's end is seen");
  app.add_option("--control-interval", o.control_interval_s, "Seconds between the optimizer's decisions")
      ->capture_default_str()
      ->check(CLI::Range(0.05, 3600.0));
}

void add_probe_options(CLI::App& app, Options& o) {
  app.add_option("--ringbuf-size", o.limits.ringbuf_bytes, "Ring buffer size in bytes (power of two)")
      ->capture_default_str()
      ->check([](const std::string& s) -> std::string {
        unsigned long long v = std::stoull(s);
        return v >= 4096 && (v & (v - 1)) == 0 ? "" : "must be a power of two of at least 4096";
      });
  app.add_option("--max-live", o.limits.live_entries, "Sampled live blocks tracked at once")->capture_default_str();
  app.add_option("--max-sites", o.limits.max_sites, "Distinct call sites kept")->capture_default_str();
  app.add_option("--stack-entries", o.limits.stack_entries, "Distinct stacks kept")->capture_default_str();
  std::map<std::string, ProbeMode> modes{
      {"auto", ProbeMode::Auto}, {"session", ProbeMode::Session}, {"classic", ProbeMode::Classic}};
  app.add_option(
         "--probe-mode", o.probe_mode,
         "auto: session probes where the kernel has them (6.13+), else classic; session; classic (uprobe + uretprobe)")
      ->transform(CLI::CheckedTransformer(modes, CLI::ignore_case))
      ->default_str("auto");
  std::map<std::string, PlacementMode> placements{{"smart", PlacementMode::Smart}, {"entry", PlacementMode::Entry}};
  app.add_option("--placement", o.placement,
                 "smart: probe the first instruction the kernel emulates with the arguments intact (found per "
                 "binary with Capstone); entry: offset 0")
      ->transform(CLI::CheckedTransformer(placements, CLI::ignore_case))
      ->default_str("smart");
  app.add_flag("-v,--verbose", o.verbose, "Say more on stderr (probe sites, libbpf warnings)");
  app.add_flag("--syscall-counts", o.syscall_counts,
               "Count anonymous mmap, munmap and brk calls (their tracepoints slow every syscall on the host, "
               "traced or not, while tracing; measured in docs/measurements.md)");
}

// The options' combinations checked, and the raw values put in place.
// Prints a one-line error and returns false when they do not fit.
bool finish_options(Options& o, const RawOptions& raw) {
  if (o.pids.empty() && o.command.empty() && !o.follow.all && o.follow.comms.empty()) {
    fprintf(stderr,
            "memscope-bpf: error: nothing to trace: give --pid PID, --comm NAME, --all or -- COMMAND [ARGS...] (see "
            "--help)\n");
    return false;
  }
  for (const auto& name : o.follow.comms)
    if (name.empty() || name.find('/') != std::string::npos) {
      fprintf(stderr, "memscope-bpf: error: --comm '%s' is not a process name (see --help)\n", name.c_str());
      return false;
    }
  if (o.follow.all && (!o.pids.empty() || !o.follow.comms.empty())) {
    fprintf(
        stderr,
        "memscope-bpf: error: --all traces every process; it cannot be combined with --pid or --comm (see --help)\n");
    return false;
  }
  if (raw.duty_window->count() && o.max_overhead_pct <= 0) {
    fprintf(stderr,
            "memscope-bpf: error: --duty-window sets the windows --max-overhead chooses; give --max-overhead too (see "
            "--help)\n");
    return false;
  }
  if (raw.window_releases->count() && o.max_overhead_pct <= 0) {
    fprintf(stderr,
            "memscope-bpf: error: --window-releases windows the release probes under --max-overhead; give "
            "--max-overhead too (see --help)\n");
    return false;
  }
  if (!raw.duty.empty()) {
    char slash;
    sscanf(raw.duty.c_str(), "%lf%c%lf", &o.duty_window_s, &slash, &o.duty_period_s);
    if (o.max_overhead_pct > 0) {
      fprintf(
          stderr,
          "memscope-bpf: error: --duty-cycle fixes the windows; --max-overhead chooses them: give one (see --help)\n");
      return false;
    }
  }
  if (o.follow.children && !o.follow.all) {
    // Children inherit classic probes only (see attach/inherited_uprobes.h).
    if (o.probe_mode == ProbeMode::Session) {
      fprintf(stderr,
              "memscope-bpf: error: --follow-children needs classic probes (session links cannot follow forks); drop "
              "--probe-mode session (see --help)\n");
      return false;
    }
    o.probe_mode = ProbeMode::Classic;
    // Inherited probes live in every child: windows cannot take them away.
    if (o.duty_window_s > 0) {
      fprintf(stderr,
              "memscope-bpf: error: --duty-cycle cannot be combined with --follow-children (the children's inherited "
              "probes stay) (see --help)\n");
      return false;
    }
    o.max_overhead_window_s = 0;
  }
  o.follow.placement = o.placement;
  o.follow.verbose = o.verbose;
  o.tiers.medium_min = raw.small_below;
  o.tiers.large_min = raw.large_above + 1;
  o.tiers.by_bytes = raw.sampling == "bytes";
  if (raw.sample_all) {
    o.tiers.rate = {1.0, 1.0, 1.0};
    o.tiers.by_bytes = false;
    if (o.max_events_per_s > 0 || o.max_overhead_pct > 0 || o.max_sampled_pct > 0) {
      fprintf(stderr,
              "memscope-bpf: error: --sample-all records every call; it cannot be combined with --max-events, "
              "--max-overhead or --max-sampled (see --help)\n");
      return false;
    }
    // Outside the windows of a duty cycle blocks go unrecorded: their
    // frees must not each cost a record.
    o.limits.record_every_free = o.duty_window_s <= 0;
  }
  o.limits.syscall_programs = o.syscall_counts;
  try {
    validate(o.tiers);
    o.outputs = select_outputs(raw.outputs, raw.format);
    o.folded_value = raw.folded_value == "live" ? FoldedValue::live : FoldedValue::alloc;
  } catch (const Error& e) {
    fprintf(stderr, "memscope-bpf: error: %s (see --help)\n", e.what());
    return false;
  }
  return true;
}

void add_metrics_options(CLI::App& app, Options& o) {
  app.add_flag("--live", o.live,
               "A top-like view on stderr each interval (-i, default 1 s): fastest and largest sites, totals, rates, "
               "drops, cost; plain interval lines when stderr is not a terminal");
  app.add_option("--metrics-addr", o.metrics_addr,
                 "Serve Prometheus metrics at http://ADDR/metrics while tracing: PORT (on 127.0.0.1), HOST:PORT");
}

// The address must parse before anything is attached.
bool check_metrics_addr(const Options& o) {
  if (o.metrics_addr.empty()) return true;
  try {
    metrics_listen_address(o.metrics_addr);
    return true;
  } catch (const Error& e) {
    fprintf(stderr, "memscope-bpf: error: %s (see --help)\n", e.what());
    return false;
  }
}

}  // namespace

std::optional<Options> parse_options(int argc, char** argv, int& exit_code) {
  Options o;
  RawOptions raw;
  CLI::App app{
      "memscope-bpf: trace the memory allocations of running processes with eBPF uprobes.\n"
      "Exact call and byte counts for every call; size-tiered sampling for stacks, sites and leaks.",
      "memscope-bpf"};
  app.set_version_flag("--version", "memscope-bpf 0.1.0");
  app.footer("Compare two reports: memscope-bpf diff OLD.json NEW.json (see memscope-bpf diff --help).\n");
  add_target_options(app, o);
  add_output_options(app, o, raw);
  add_sampling_options(app, o, raw);
  add_budget_options(app, o, raw);
  add_probe_options(app, o);
  add_metrics_options(app, o);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    exit_code = app.exit(e);
    return std::nullopt;
  } catch (const CLI::CallForVersion& e) {
    exit_code = app.exit(e);
    return std::nullopt;
  } catch (const CLI::ParseError& e) {
    fprintf(stderr, "memscope-bpf: error: %s (see --help)\n", e.what());
    exit_code = 2;
    return std::nullopt;
  }
  if (o.live && o.interval_s == 0) o.interval_s = 1;
  if (!finish_options(o, raw) || !check_metrics_addr(o)) {
    exit_code = 2;
    return std::nullopt;
  }
  return o;
}

}  // namespace memscope
