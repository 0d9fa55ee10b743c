#include "report/text_summary.h"

#include <algorithm>
#include <string>

#include "common/terminal_safe.h"
#include "report/lifetime_report.h"
#include "targets/api_names.h"

namespace memscope {

std::string human_bytes(double bytes);

std::string rates_text(const TierConfig& c) {
  char buf[96];
  if (c.by_bytes)
    snprintf(buf, sizeof buf, "bytes mode, 1 sample per %s", human_bytes(static_cast<double>(c.byte_interval)).c_str());
  else snprintf(buf, sizeof buf, "rates %.4g/%.4g/%.4g", c.rate[0], c.rate[1], c.rate[2]);
  return buf;
}

std::string human_bytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024.0 && u < 4) {
    bytes /= 1024.0;
    ++u;
  }
  char buf[32];
  snprintf(buf, sizeof buf, u ? "%.1f %s" : "%.0f %s", bytes, units[u]);
  return buf;
}

void print_rate_change(FILE* out, double elapsed_s, const TierConfig& from, const TierConfig& to,
                       const std::string& reason) {
  fprintf(out, "[%7.1fs] rates small %.4g -> %.4g, medium %.4g -> %.4g, large %.4g -> %.4g (%s)\n", elapsed_s,
          from.rate[0], to.rate[0], from.rate[1], to.rate[1], from.rate[2], to.rate[2], reason.c_str());
}

void print_interval(FILE* out, double elapsed_s, double interval_s, const ExactCounts& d, double est_live_bytes,
                    uint64_t records_total, const TierConfig& rates) {
  uint64_t allocs = d.allocation_calls(), frees = d.free_calls();
  uint64_t bytes = 0;
  for (unsigned a = 0; a < MS_API_COUNT; ++a) bytes += d.api_total(a).bytes;
  fprintf(out,
          "[%7.1fs] allocs %llu (%.0f/s, %s)  frees %llu  sampled %llu  dropped %llu  live(est) %s  records %llu  %s\n",
          elapsed_s, static_cast<unsigned long long>(allocs), interval_s > 0 ? allocs / interval_s : 0.0,
          human_bytes(static_cast<double>(bytes)).c_str(), static_cast<unsigned long long>(frees),
          static_cast<unsigned long long>(d.stats[MS_STAT_SAMPLED]),
          static_cast<unsigned long long>(d.stats[MS_STAT_DROPPED]), human_bytes(est_live_bytes).c_str(),
          static_cast<unsigned long long>(records_total), rates_text(rates).c_str());
}

namespace {
// Printed on stderr: the names are escaped (common/terminal_safe.h).
std::string where(const SiteReport& s) {
  if (s.frames.empty()) return "[no stack]";
  const Frame& f = s.frames.front();
  std::string w = f.function + " (" + f.module;
  if (!f.file.empty()) w += " " + f.file.substr(f.file.find_last_of('/') + 1) + ":" + std::to_string(f.line);
  w += ")";
  if (s.frames.size() > 1) w += " <- " + s.frames[1].function;
  return terminal_safe(w);
}

// The sites with the most allocations freed within 1 ms (lifetime_report.h),
// and why the lifetimes are incomplete when they are.
void print_temporaries(FILE* out, const Report& r, size_t n) {
  if (!r.temporaries.empty()) fprintf(out, "  temporary, freed within 1 ms (%zu sites):\n", r.total_temporary_sites);
  for (size_t i = 0; i < r.temporaries.size() && i < n; ++i) {
    const SiteReport& s = r.temporaries[i];
    const LifetimeSums& t = s.lifetimes.buckets[kUnder1ms];
    const auto share = temporary_share(s.estimated, s.lifetimes);
    fprintf(out, "  %3zu. %8.0f of %8.0f allocs (%3.0f%%), %10s  %s\n", i + 1, t.count, s.estimated.count,
            share ? 100 * share->count.value : 0.0, human_bytes(t.bytes).c_str(), where(s).c_str());
  }
  for (const auto& why : lifetime_caveats(r))
    fprintf(out, "  lifetimes incomplete: %s\n", why.substr(0, why.find(':')).c_str());
}
}  // namespace

void print_final(FILE* out, const Report& r, size_t top) {
  for (const auto& t : r.targets) {
    fprintf(out, "memscope-bpf: PID %d (%s) allocator %s%s\n", t.process.pid, terminal_safe(t.process.comm).c_str(),
            terminal_safe(t.allocator.path).c_str(), t.exited ? " [exited]" : "");
    if (t.pid_reused)
      fprintf(out, "  its PID was taken by %u later process%s after it exited: their figures are in these\n",
              t.pid_reused, t.pid_reused == 1 ? "" : "es");
    for (const auto& e : t.execs)
      fprintf(out, "  exec'd %s at %.2f s: %s%s\n", terminal_safe(e.exe).c_str(),
              e.time_ns > r.start_ns ? static_cast<double>(e.time_ns - r.start_ns) / 1e9 : 0.0,
              e.traced ? "traced" : "not traced: ", terminal_safe(e.not_traced_because).c_str());
    const MemoryTrack& m = t.memory;
    if (m.followed)
      fprintf(out, "  memory: anonymous mmap %llu (%s), munmap %llu (%s) + %llu other; brk %llu calls, +%s -%s\n",
              static_cast<unsigned long long>(m.vm.mmap_calls),
              human_bytes(static_cast<double>(m.vm.mmap_bytes)).c_str(),
              static_cast<unsigned long long>(m.vm.munmap_calls),
              human_bytes(static_cast<double>(m.vm.munmap_bytes)).c_str(),
              static_cast<unsigned long long>(m.vm.other_munmap_calls), static_cast<unsigned long long>(m.vm.brk_calls),
              human_bytes(static_cast<double>(m.vm.brk_grow_bytes)).c_str(),
              human_bytes(static_cast<double>(m.vm.brk_shrink_bytes)).c_str());
    if (!m.timeline.empty()) {
      const MemorySample& s = m.timeline.back();
      fprintf(out, "  at %.1f s: RSS %s (anonymous %s), live heap (est.) %s\n", s.t_s,
              human_bytes(static_cast<double>(s.rss_bytes)).c_str(),
              human_bytes(static_cast<double>(s.rss_anon_bytes)).c_str(), human_bytes(s.heap_live_bytes).c_str());
    }
  }
  fprintf(out, "  traced %.2f s; exact calls:", r.duration_s);
  for (unsigned a = 0; a < MS_API_COUNT; ++a) {
    ms_count c = r.exact.api_total(a);
    if (c.calls) fprintf(out, " %s %llu", std::string(api_name(a)).c_str(), static_cast<unsigned long long>(c.calls));
  }
  fputc('\n', out);
  if (r.duty.enabled) {
    fprintf(out, "  allocation windows: %llu (the last %.2g s every %.3g s; open %.1f of %.1f s); allocations estimated from them\n",
            static_cast<unsigned long long>(r.duty.windows), r.duty.window_s, r.duty.period_s, r.duty.open_s,
            r.duty.total_s);
    const bool one = std::any_of(r.duty.windows_by_process.begin(), r.duty.windows_by_process.end(),
                                 [](const auto& w) { return w.second < 2; });
    if (one)
      fprintf(out,
              "  note: a process traced in one window only: its 95%% intervals hold the records' variance, not the "
              "spread between windows (trace longer for more windows)\n");
  }
  if (r.duty.releases_windowed)
    fprintf(out,
            "  release windows: free and delete counted inside them only (%llu windows, %.1f s); frees estimated per "
            "process in processes[].duty_cycle.releases, live and leaks estimated from the frees seen\n",
            static_cast<unsigned long long>(r.duty.release_windows), r.duty.release_open_s);
  fprintf(out, "  sampled %llu records, dropped %llu\n",
          static_cast<unsigned long long>(r.exact.stats[MS_STAT_SAMPLED]),
          static_cast<unsigned long long>(r.exact.stats[MS_STAT_DROPPED]));
  if (const uint64_t lost = r.exact.stats[MS_STAT_DROPPED]) {
    const uint64_t frees = std::min(r.exact.stats[MS_STAT_DROPPED_FREES], lost);
    fprintf(out,
            "  WARNING: %llu records were dropped (ring buffer full; raise --ringbuf-size): %llu allocations "
            "(site estimates low), %llu frees (live bytes and leaks high)\n",
            static_cast<unsigned long long>(lost), static_cast<unsigned long long>(lost - frees),
            static_cast<unsigned long long>(frees));
  }
  // Lost process events and full per-process tables leave calls out of
  // processes[], never out of the totals: said, not silent.
  if (const uint64_t lost = r.process_stats[MS_PROC_STAT_EVENTS_LOST])
    fprintf(out,
            "  WARNING: %llu process events were lost (event ring full): processes forked, exec'd or exited then may "
            "be missing from the report's processes; their calls are in the totals\n",
            static_cast<unsigned long long>(lost));
  if (const uint64_t full = r.process_stats[MS_PROC_STAT_FULL])
    fprintf(out,
            "  WARNING: %llu calls of %zu processes were not counted per process (its table was full); they are in "
            "the totals\n",
            static_cast<unsigned long long>(full), r.processes_not_counted);
  size_t n = top ? top : 10;
  fprintf(out, "  top sites by estimated bytes (%zu sites):\n", r.total_sites);
  for (size_t i = 0; i < r.sites.size() && i < n; ++i)
    fprintf(out, "  %3zu. %10s in %8.0f allocs  %s\n", i + 1, human_bytes(r.sites[i].estimated.bytes).c_str(),
            r.sites[i].estimated.count, where(r.sites[i]).c_str());
  if (!r.leaks.empty()) {
    fprintf(out, "  still live at the end (%zu sites):\n", r.total_leak_sites);
    for (size_t i = 0; i < r.leaks.size() && i < n; ++i)
      fprintf(out, "  %3zu. %10s in %8.0f blocks, oldest %.1f s  %s\n", i + 1,
              human_bytes(r.leaks[i].estimated.live_bytes).c_str(), r.leaks[i].estimated.live_count,
              r.leaks[i].oldest_live_age_s, where(r.leaks[i]).c_str());
  }
  print_temporaries(out, r, n);
}

}  // namespace memscope
