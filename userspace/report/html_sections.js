// The report's sections other than the flame graph. Each draws into its
// container and returns what it drew, for the page's self-check.

function noteP(text) { return el("p", { class: "note" }, text); }

// A site's innermost frame as "function" and "module, file:line".
function siteTitle(site) {
  const f = site.frames[0];
  if (!f) return { fn: "[no stack" + (site.stack_truncated_reason ? ": " + site.stack_truncated_reason : "") + "]", at: "" };
  return { fn: f.function || "[unknown]", at: [f.module, f.file ? `${f.file}:${f.line ?? "?"}` : ""].filter(Boolean).join(", ") };
}

// The innermost frame, with the whole stack one click away.
function siteCell(site) {
  const t = siteTitle(site);
  if (site.frames.length < 2) return el("td", { class: "fn" }, t.fn, el("div", { class: "ci" }, t.at));
  const stack = el("ol", {}, site.frames.map(f => el("li", {}, (f.function || "[unknown]") +
                                                               (f.file ? ` (${f.file}:${f.line ?? "?"})` : "") +
                                                               (f.inlined ? " [inlined]" : ""))));
  return el("td", { class: "fn" }, el("details", {}, el("summary", {}, t.fn), stack), el("div", { class: "ci" }, t.at));
}

function procLabel(report, pid) {
  const p = (report.processes || []).find(x => x.pid === pid);
  return p ? `${p.comm} (${pid})` : String(pid);
}

function ciText(ci, fmt) { return ci ? `${fmt(ci[0])} – ${fmt(ci[1])}` : ""; }

// Exact calls and bytes per log2 size class, as the kernel counted them.
function drawSizes(report, box) {
  const classes = (report.exact && report.exact.size_classes) || [];
  if (!classes.length) { box.append(noteP("No allocation was counted.")); return { bars: 0, calls: 0 }; }
  // Every class from the smallest to the largest seen, empty ones too, so
  // that the x axis is a true log2 scale.
  const lo = classes[0].class, hi = classes[classes.length - 1].class, byClass = new Map(classes.map(c => [c.class, c]));
  const items = [];
  for (let k = lo; k <= hi; k++) {
    const c = byClass.get(k) || { class: k, min: k ? 2 ** k : 0, max: 2 ** (k + 1) - 1, calls: 0, bytes: 0 };
    items.push({ label: fmtPow2(c.min), calls: c.calls, bytes: c.bytes,
                 range: `${fmtBytes(c.min)} – ${fmtBytes(c.max)}` });
  }
  const calls = barChart(items.map(i => ({ label: i.label, value: i.calls, title: `${i.range}: ${fmtCount(i.calls)} calls` })),
                         { label: "allocation calls by size", fmt: fmtCount, color: "#c0392b", xTitle: "calls, by requested size (bytes, log2 classes)" });
  const bytes = barChart(items.map(i => ({ label: i.label, value: i.bytes, title: `${i.range}: ${fmtBytes(i.bytes)}` })),
                         { label: "bytes requested by size", fmt: fmtBytes, bytes: true, color: "#2e86c1", xTitle: "bytes requested, by size class" });
  box.append(calls.svg, bytes.svg,
             noteP(`Exact: every allocation call counted by the kernel, ${fmtCount(report.exact.allocation_calls)} calls for ` +
                   `${fmtBytes(report.exact.allocation_bytes)}.`));
  return { bars: calls.drawn, calls: items.reduce((s, i) => s + i.calls, 0) };
}

// Per process: RSS beside the estimated live heap, and the allocation rate
// from the exact cumulative counts of consecutive samples.
function drawTimeline(report, box) {
  const procs = (report.processes || []).filter(p => p.memory && p.memory.timeline.length)
                                        .sort((a, b) => b.estimated.bytes - a.estimated.bytes);
  if (!procs.length) { box.append(noteP("No memory samples: the run was shorter than one sample period.")); return { points: 0, rate_points: 0 }; }
  const shown = procs.slice(0, 6);
  let points = 0, ratePoints = 0, peakRate = 0;
  for (const p of shown) {
    const tl = p.memory.timeline;
    const series = [
      { name: "RSS", color: PALETTE[1], points: tl.map(s => [s.t, s.rss_bytes]) },
      { name: "RSS anonymous", color: PALETTE[5], points: tl.map(s => [s.t, s.rss_anon_bytes]) },
      { name: "live heap (estimated)", color: PALETTE[0], points: tl.map(s => [s.t, s.heap_live_bytes_estimated]) },
    ];
    if (tl[0].mapped_anon_bytes !== undefined)
      series.push({ name: "anonymous mmap since start", color: PALETTE[3], points: tl.map(s => [s.t, s.mapped_anon_bytes]) });
    const tMax = Math.max(report.duration_s || 0, tl[tl.length - 1].t);
    const mem = lineChart(series, { label: "memory over time", fmt: fmtBytes, bytes: true, tMax, height: 190 });
    points += mem.drawn;
    const charts = [el("h3", {}, processName(p)), legend(series), mem.svg];
    if (tl.length > 1 && tl[0].allocation_bytes !== undefined) {
      const rate = [];
      for (let i = 1; i < tl.length; i++) {
        const dt = tl[i].t - tl[i - 1].t;
        // The mean rate over the interval, drawn across it.
        if (dt > 0) rate.push([tl[i - 1].t, (tl[i].allocation_bytes - tl[i - 1].allocation_bytes) / dt]);
      }
      peakRate = Math.max(peakRate, ...rate.map(p => p[1]));
      const rs = [{ name: "bytes allocated per second (counted by the kernel)", color: PALETTE[4], points: rate, step: true }];
      const r = lineChart(rs, { label: "allocation rate", fmt: v => fmtBytes(v) + "/s", bytes: true, tMax, height: 150 });
      ratePoints += r.drawn;
      charts.push(legend(rs), r.svg);
    } else if (tl.length > 1) {
      charts.push(noteP("This report's timeline has no allocation counts (written by an older memscope-bpf)."));
    }
    box.append(el("div", { class: "process-timeline" }, charts));
  }
  if (procs.length > shown.length) box.append(noteP(`${procs.length - shown.length} more processes are in the JSON.`));
  box.append(noteP("RSS is measured from /proc; the live heap is estimated from the sampled blocks not yet freed. " +
                   "RSS growing while the live heap does not points at fragmentation or the allocator keeping memory."));
  return { points, rate_points: ratePoints, peak_rate: peakRate };
}

function drawSites(report, box) {
  const sites = report.sites || [];
  if (!sites.length) { box.append(noteP("No sampled allocation.")); return { rows: 0, functions: [] }; }
  const max = Math.max(...sites.map(s => s.estimated.ci95.bytes[1]));
  const rows = sites.map((s, i) => el("tr", {},
    el("td", { class: "num" }, i + 1), siteCell(s), el("td", {}, procLabel(report, s.pid)),
    el("td", {}, intervalBar(s.estimated.bytes, s.estimated.ci95.bytes, max, PALETTE[0])),
    el("td", { class: "num" }, fmtBytes(s.estimated.bytes), el("div", { class: "ci" }, ciText(s.estimated.ci95.bytes, fmtBytes))),
    el("td", { class: "num" }, fmtCount(s.estimated.count), el("div", { class: "ci" }, ciText(s.estimated.ci95.count, fmtCount))),
    el("td", { class: "num" }, fmtBytes(s.estimated.live_bytes)),
    el("td", { class: "num" }, s.sampled.allocations)));
  box.append(el("table", {},
    el("thead", {}, el("tr", {}, ["#", "where (innermost frame; click for the stack)", "process", "bytes, 95% interval",
                                  "bytes", "allocations", "live at end", "sampled"].map((h, i) => el("th", i > 3 ? { class: "num" } : {}, h)))),
    el("tbody", {}, rows)));
  const total = report.totals ? report.totals.sites : sites.length;
  box.append(noteP(`${sites.length} of ${total} sites, by estimated bytes allocated. Estimates are unbiased sums over ` +
                   `the sampled calls; the interval is their 95% confidence interval.` +
                   ((report.sampling && report.sampling.quality) ?
                    ` ${fmtPct(report.sampling.quality.bytes_within_5pct)} of the bytes are at sites known within 5%.` : "")));
  return { rows: rows.length, functions: sites.map(s => siteTitle(s).fn) };
}

function drawLeaks(report, box) {
  const leaks = report.leaks || [];
  const windowed = report.duty_cycle && report.duty_cycle.releases_windowed;
  if (!leaks.length) {
    box.append(noteP(windowed ? "No site had more sampled blocks alive at the end than the frees missed between release windows explain."
                              : "No sampled block was still allocated at the end."));
    return { rows: 0 };
  }
  const max = Math.max(...leaks.map(s => s.estimated.ci95.live_bytes[1]));
  const rows = leaks.map((s, i) => el("tr", {},
    el("td", { class: "num" }, i + 1), siteCell(s), el("td", {}, procLabel(report, s.pid)),
    el("td", {}, intervalBar(s.estimated.live_bytes, s.estimated.ci95.live_bytes, max, PALETTE[3])),
    el("td", { class: "num" }, fmtBytes(s.estimated.live_bytes), el("div", { class: "ci" }, ciText(s.estimated.ci95.live_bytes, fmtBytes))),
    el("td", { class: "num" }, fmtCount(s.estimated.live_count), el("div", { class: "ci" }, ciText(s.estimated.ci95.live_count, fmtCount))),
    el("td", { class: "num" }, fmtSeconds(s.oldest_age_s)),
    el("td", { class: "num" }, s.sampled_live)));
  box.append(el("table", {},
    el("thead", {}, el("tr", {}, ["#", "where", "process", "live bytes, 95% interval", "live bytes", "blocks", "oldest",
                                  "sampled"].map((h, i) => el("th", i > 3 ? { class: "num" } : {}, h)))),
    el("tbody", {}, rows)));
  box.append(noteP("Blocks sampled and not freed when tracing ended, estimated as the allocations are; " +
                   "the oldest one's age is measured."));
  return { rows: rows.length };
}

const LIFETIME_COLORS = ["#c0392b", "#e67e22", "#f1c40f", "#27ae60", "#2e86c1", "#1b4f72", "#8e44ad", "#95a5a6"];

// Per site, its blocks by how long they lived (the "lifetimes" the report
// has when the agent measured them), as shares of its estimated count.
function drawLifetimes(report, box) {
  const sites = (report.sites || []).filter(s => Array.isArray(s.lifetimes) && s.lifetimes.length);
  if (!report.lifetimes || !sites.length) {
    box.append(noteP("This report has no per-site lifetimes."));
    return { rows: 0 };
  }
  const names = report.lifetimes.buckets.map(b => b.bucket);
  const color = name => LIFETIME_COLORS[Math.max(0, names.indexOf(name)) % LIFETIME_COLORS.length];
  const label = b => b.min_s === null || b.min_s === undefined ? b.bucket.replace("_", " ")
                   : b.max_s === null || b.max_s === undefined ? `≥ ${fmtSeconds(b.min_s)}`
                   : `${fmtSeconds(b.min_s)} – ${fmtSeconds(b.max_s)}`;
  box.append(legend(report.lifetimes.buckets.map(b => ({ name: label(b), color: color(b.bucket) }))));
  const rows = sites.map(s => {
    const total = s.lifetimes.reduce((a, b) => a + b.count, 0);
    const svg = svgEl("svg", { width: 420, height: 14, viewBox: "0 0 420 14" });
    let x = 0;
    for (const b of s.lifetimes) {
      const w = total > 0 ? (b.count / total) * 420 : 0;
      if (w > 0) svg.append(titled(svgEl("rect", { x, y: 2, width: w, height: 10, fill: color(b.bucket) }),
                                   `${b.bucket}: ${fmtCount(b.count)} blocks (${fmtPct(b.count / total)}), ` +
                                   `95% interval ${ciText(b.ci95.count, fmtCount)}`));
      x += w;
    }
    const share = s.temporary && s.temporary.share_count;
    return el("tr", {}, siteCell(s), el("td", {}, procLabel(report, s.pid)), el("td", {}, svg),
              el("td", { class: "num" }, share ? fmtPct(share.value) : "–",
                 el("div", { class: "ci" }, share ? ciText(share.ci95, fmtPct) : "")));
  });
  box.append(el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "where"), el("th", {}, "process"),
                                                 el("th", {}, "blocks by lifetime"), el("th", { class: "num" }, "temporary"))),
                el("tbody", {}, rows)));
  const notes = [report.lifetimes.temporary ? "Temporary: " + report.lifetimes.temporary + "." : ""];
  if (report.lifetimes.complete === false) notes.push("Incomplete: " + (report.lifetimes.caveats || []).join("; "));
  box.append(noteP(notes.filter(Boolean).join(" ")));
  return { rows: rows.length };
}

// The sampling rates over the run, and why each change was made.
function drawSampling(report, box) {
  const s = report.sampling || {};
  const facts = [
    ["mode", s.mode === "bytes" ? `bytes, one sample per ${fmtBytes(s.byte_interval)} on average` : "size tiers"],
    ["sampled calls", fmtCount(s.sampled_events)], ["records lost (ring full)", fmtCount(s.dropped_events)],
  ];
  if (s.thresholds)
    facts.push(["tiers", `small < ${fmtBytes(s.thresholds.medium_min)} ≤ medium < ${fmtBytes(s.thresholds.large_min)} ≤ large; ` +
                         `always from ${fmtBytes(s.thresholds.always_min)}`]);
  if (s.adaptive && s.adaptive.max_events_per_s) facts.push(["budget", `${fmtCount(s.adaptive.max_events_per_s)} records/s`]);
  if (s.adaptive && s.adaptive.max_overhead_pct) facts.push(["overhead budget", `${s.adaptive.max_overhead_pct}%`]);
  box.append(el("div", { class: "facts" }, facts.map(([k, v]) => el("span", {}, k + ": ", el("b", {}, v)))));
  const changes = s.changes || [];
  if (!changes.length) { box.append(noteP("The report has no sampling history.")); return { changes: 0, points: 0 }; }
  const tiers = ["small", "medium", "large"];
  const series = tiers.map((t, i) => ({ name: t + " tier", color: PALETTE[i], step: true,
                                        points: changes.map(c => [c.time_s, c.rates[t]]) }));
  const chart = lineChart(series, { label: "sampling rates over time", fmt: fmtPct, height: 160,
                                    tMax: Math.max(report.duration_s || 0, changes[changes.length - 1].time_s, 1e-3) });
  box.append(legend(series), chart.svg);
  const last = changes.slice(-40);
  box.append(el("table", {},
    el("thead", {}, el("tr", {}, ["time", "small", "medium", "large", "why"].map((h, i) => el("th", i && i < 4 ? { class: "num" } : {}, h)))),
    el("tbody", {}, last.map(c => el("tr", {}, el("td", {}, fmtSeconds(c.time_s)),
                                     tiers.map(t => el("td", { class: "num" }, fmtPct(c.rates[t]))), el("td", {}, c.reason))))));
  if (last.length < changes.length) box.append(noteP(`The last ${last.length} of ${changes.length} decisions.`));
  return { changes: last.length, points: chart.drawn };
}

// What tracing cost: the agent's own CPU and memory, and the time the probes
// added to the traced processes (their traps, counted, times the cost per
// trap measured on this host).
function drawCost(report, box) {
  const a = report.agent || {}, dur = report.duration_s || 0;
  const cpu = (a.cpu_user_s || 0) + (a.cpu_system_s || 0);
  const procs = report.processes || [];
  const hits = procs.reduce((s, p) => s + (p.probe_hits ? p.probe_hits.total : 0), 0);
  const added = procs.some(p => p.added_time_s !== null && p.added_time_s !== undefined)
                  ? procs.reduce((s, p) => s + (p.added_time_s || 0), 0) : null;
  const hitNs = report.sampling && report.sampling.adaptive ? report.sampling.adaptive.hit_cost_ns : null;
  const rows = [
    ["agent CPU", fmtSeconds(cpu), dur > 0 ? `${fmtPct(cpu / dur)} of one CPU over ${fmtSeconds(dur)}` : ""],
    ["of which setup / report", `${fmtSeconds(a.setup_cpu_s)} / ${fmtSeconds(a.finish_cpu_s)}`, "once per run"],
    ["traced processes' CPU", fmtSeconds(a.target_cpu_s),
     a.target_cpu_s > 0 ? `agent: ${fmtPct(cpu / a.target_cpu_s)} of it` + (a.target_cpu_complete === false ? " (a process ended early)" : "") : ""],
    ["probe traps", fmtCount(hits), "counted by the kernel"],
    ["time the probes added", added === null ? "not measured" : fmtSeconds(added),
     added !== null && hitNs ? `${hitNs.toFixed(0)} ns per trap, measured` +
                               (a.target_cpu_s > 0 ? `; ${fmtPct(added / a.target_cpu_s)} of the processes' CPU` : "") : ""],
    ["agent peak memory", fmtBytes(a.max_rss_bytes), `tables ${fmtBytes(a.table_bytes)}, ${fmtCount(a.live_blocks)} blocks followed`],
  ];
  const s = report.sampling;
  if (s) rows.push(["records drained", fmtCount(s.records_received),
                    `${fmtCount(s.dropped_events)} lost with the ring buffer full` +
                    (a.drain_batches ? `; ${fmtCount(a.drain_batches)} batches` : "")]);
  box.append(el("table", {}, el("tbody", {}, rows.map(([k, v, n]) =>
    el("tr", {}, el("th", {}, k), el("td", { class: "num" }, v), el("td", { class: "ci" }, n))))));
  return { rows: rows.length, agent_cpu_s: cpu };
}
