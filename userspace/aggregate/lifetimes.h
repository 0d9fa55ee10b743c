// How long sampled blocks lived, per site: each sampled block that ends
// goes into one bucket by the time between its allocation record and its
// free record (both CLOCK_MONOTONIC, kept at the records' 1.024 us
// resolution), weighted as its allocation was, so that each bucket is an
// estimate of the calls (and bytes) of the site whose blocks lived that long.
// Blocks still allocated at the end are the site's live sums (SiteStats);
// blocks whose end was never seen go to `unknown`, so that the buckets of a
// site add up to its estimated allocations.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace memscope {

enum LifetimeBucket : uint8_t {
  kUnder1ms = 0,  // [0, 1 ms): "temporary"
  kUnder10ms,     // [1 ms, 10 ms)
  kUnder100ms,    // [10 ms, 100 ms)
  kUnder1s,       // [100 ms, 1 s)
  kUnder10s,      // [1 s, 10 s)
  kLonger,        // 10 s or more
  kEndUnseen,     // freed, but the free was not seen (see SiteLifetimes)
  kLifetimeBuckets
};

// Upper bounds of the freed buckets but the last, in ns.
inline constexpr std::array<uint64_t, kLonger> kLifetimeBoundsNs = {1'000'000, 10'000'000, 100'000'000, 1'000'000'000,
                                                                    10'000'000'000};

// The bucket of a block that lived `ns` (never kEndUnseen).
inline LifetimeBucket lifetime_bucket(uint64_t ns) {
  unsigned b = 0;
  while (b < kLonger && ns >= kLifetimeBoundsNs[b]) ++b;
  return static_cast<LifetimeBucket>(b);
}

// The buckets' names in the report.
inline constexpr std::array<std::string_view, kLifetimeBuckets> kLifetimeBucketNames = {
    "lt_1ms", "1ms_10ms", "10ms_100ms", "100ms_1s", "1s_10s", "ge_10s", "end_unseen"};

// One bucket's weighted sums, as SiteStats keeps them: for a block of
// weight w and size x, count += w, bytes += w x, and the variance
// estimates gain w(w-1) and w(w-1) x^2.
struct LifetimeSums {
  uint64_t sampled = 0;
  double count = 0, bytes = 0, var_count = 0, var_bytes = 0;

  void add(double w, double size) {
    const double v = w * (w - 1);
    sampled += 1;
    count += w;
    bytes += w * size;
    var_count += v;
    var_bytes += v * size * size;
  }
  void add(const LifetimeSums& o) {
    sampled += o.sampled;
    count += o.count;
    bytes += o.bytes;
    var_count += o.var_count;
    var_bytes += o.var_bytes;
  }
  // Estimates multiplied by k (the duty cycle's 1 / coverage): variances by k^2.
  void scale(double k) {
    count *= k;
    bytes *= k;
    var_count *= k * k;
    var_bytes *= k * k;
  }
};

// A site's ended blocks by lifetime. kEndUnseen holds blocks whose free the
// agent never received: a pointer allocated again while its block was still
// live here (the free record was lost, e.g. dropped with a full ring), and
// blocks the agent did not follow because its live table was at --max-live.
struct SiteLifetimes {
  std::array<LifetimeSums, kLifetimeBuckets> buckets{};

  void add(const SiteLifetimes& o) {
    for (size_t b = 0; b < buckets.size(); ++b) buckets[b].add(o.buckets[b]);
  }
  void scale(double k) {
    for (auto& b : buckets) b.scale(k);
  }
};

}  // namespace memscope
