// Under a duty cycle a site's figure is what the windows saw, divided by the
// coverage (the share of the process's work they held). Its error has two
// parts: the sampling inside windows, and which stretches of the run the
// windows happened to hold: a site busy in some phases of the work and idle
// in others reads high or low depending on where the windows fell. The
// records' own variance counts only the first.
//
// Each window k gives the site's estimate y_k and the work clock's advance
// z_k; with K windows holding a share c of the work, the estimate
// sum(y) / c is a two-stage sample: stretches of the run (the windows), then
// calls within them (the records). Its variance, estimated as usual for a
// ratio estimator over the first stage,
//   K (1 - c) / c^2 * s^2  +  v / c,
//   s^2 = sum (y_k - R z_k)^2 / (K - 1),   R = sum(y) / sum(z),
// where v is the records' own variance estimate (unscaled). The windows are
// taken as a simple random sample of stretches of the run (a regular
// schedule is a systematic one, for which this is the usual estimate); with
// c = 1 it is the records' variance alone. With few windows s^2 is itself
// uncertain, so its term is widened by (t_{K-1, 0.975} / 1.96)^2: the
// report's +-1.96 standard deviations are then close to Student's t
// interval.
#pragma once
#include <cstdint>
#include <optional>

namespace memscope {

// One window's advance of a process's work clocks: its frees, its user
// CPU, its probe hits, the sampled user-mode clock's ticks. Which clock the
// coverage is measured on is known only at the end (sampling/
// coverage_clock.h), so the sums below keep every one; a clock corrected
// for the traps (less so much per hit) is linear in them.
struct WindowDelta {
  double frees = 0, user_cpu_s = 0, hits = 0, user_ticks = 0;
};

// The clock the coverage used, in the terms of WindowDelta: the frees, the
// user CPU or the ticks, less `per_hit` (in the clock's unit) per hit.
struct ClockChoice {
  enum class Kind { frees, user_cpu, user_ticks };
  Kind kind = Kind::frees;
  double per_hit = 0;
  double z(const WindowDelta& d) const {
    switch (kind) {
      case Kind::frees: return d.frees;
      case Kind::user_cpu: return d.user_cpu_s - per_hit * d.hits;
      case Kind::user_ticks: return d.user_ticks - per_hit * d.hits;
    }
    return 0;
  }
};

// A process's clocks over its windows: how many, and the sums of each
// window's advances and of their products, from which any ClockChoice's
// sum of z and of z^2 follows.
struct WindowClock {
  uint64_t windows = 0;
  double f = 0, ff = 0, u = 0, h = 0, uu = 0, uh = 0, hh = 0, t = 0, tt = 0, th = 0;
  void add(const WindowDelta& d) {
    windows += 1;
    f += d.frees;
    ff += d.frees * d.frees;
    u += d.user_cpu_s;
    h += d.hits;
    uu += d.user_cpu_s * d.user_cpu_s;
    uh += d.user_cpu_s * d.hits;
    hh += d.hits * d.hits;
    t += d.user_ticks;
    tt += d.user_ticks * d.user_ticks;
    th += d.user_ticks * d.hits;
  }
  double z(const ClockChoice& c) const {
    switch (c.kind) {
      case ClockChoice::Kind::frees: return f;
      case ClockChoice::Kind::user_cpu: return u - c.per_hit * h;
      case ClockChoice::Kind::user_ticks: return t - c.per_hit * h;
    }
    return 0;
  }
  double zz(const ClockChoice& c) const {
    const double k = c.per_hit;
    switch (c.kind) {
      case ClockChoice::Kind::frees: return ff;
      case ClockChoice::Kind::user_cpu: return uu - 2 * k * uh + k * k * hh;
      case ClockChoice::Kind::user_ticks: return tt - 2 * k * th + k * k * hh;
    }
    return 0;
  }
};

// One figure of one site (its estimated calls, or bytes) over the same
// windows: the sum of y_k^2 and of y_k times each clock's advance (the sum
// of y_k is the figure itself).
struct WindowSums {
  double yy = 0, yf = 0, yu = 0, yh = 0, yt = 0;
  void add(double y, const WindowDelta& d) {
    yy += y * y;
    yf += y * d.frees;
    yu += y * d.user_cpu_s;
    yh += y * d.hits;
    yt += y * d.user_ticks;
  }
  double yz(const ClockChoice& c) const {
    switch (c.kind) {
      case ClockChoice::Kind::frees: return yf;
      case ClockChoice::Kind::user_cpu: return yu - c.per_hit * yh;
      case ClockChoice::Kind::user_ticks: return yt - c.per_hit * yh;
    }
    return 0;
  }
};

// The two-sided 97.5% quantile of Student's t with `df` degrees of freedom
// (df >= 1; 1.96 for large df).
double student_t975(uint64_t df);

// The variance of y_total / coverage, where y_total is the sum of the
// window figures, `sampling` the records' variance estimate behind it, and
// coverage = clock.z(choice) / (the process's whole work), in (0, 1]. nullopt with
// fewer than two windows or no clock: then only the records' variance,
// scaled by 1 / coverage^2, can be given.
std::optional<double> window_variance(double y_total, double sampling, const WindowSums& sums,
                                      const WindowClock& clock, const ClockChoice& choice, double coverage);

}  // namespace memscope
