// The page's start: reads the report from its JSON block, draws every
// section, keeps the flame graph's state (mode, search, zoom) in the URL's
// fragment so that a view can be shared, and writes what it drew into
// #page-check as JSON: errors, the flame graph's top stack and the counts
// of what each section drew, which the page's test reads.

const pageErrors = [];
window.addEventListener("error", e => pageErrors.push(String(e.message || e)));

// The fragment's state: #mode=live&search=REGEX&focus=FRAME;FRAME...
function readState() {
  const q = new URLSearchParams(location.hash.slice(1));
  return { mode: q.get("mode") === "live" ? "live" : "alloc", search: q.get("search") || "",
           focus: q.get("focus") ? q.get("focus").split(";") : [] };
}

function writeState(st) {
  const q = new URLSearchParams();
  if (st.mode !== "alloc") q.set("mode", st.mode);
  if (st.search) q.set("search", st.search);
  if (st.focus.length) q.set("focus", st.focus.join(";"));
  const hash = q.toString();
  if (hash !== location.hash.slice(1)) history.replaceState(null, "", hash ? "#" + hash : location.pathname);
}

function drawSummary(report) {
  const targets = report.targets || [];
  document.getElementById("subtitle").textContent =
    targets.map(t => `${t.comm} (${t.pid})`).slice(0, 4).join(", ") + (targets.length > 4 ? ` and ${targets.length - 4} more` : "");
  const live = (report.processes || []).reduce((s, p) => s + p.estimated.live_bytes, 0);
  const top = (report.sites || [])[0];
  const facts = [
    ["traced for", fmtSeconds(report.duration_s)],
    ["allocations (exact)", `${fmtCount(report.exact.allocation_calls)} calls, ${fmtBytes(report.exact.allocation_bytes)}`],
    ["frees (exact)", fmtCount(report.exact.free_calls)],
    ["live at the end (estimated)", fmtBytes(live)],
    ["top site", top ? siteTitle(top).fn : "–"],
    ["probes", report.mechanism],
  ];
  document.getElementById("summary").replaceChildren(
    ...facts.map(([k, v]) => el("span", {}, k + ": ", el("b", {}, v))));
}

// The flame graph and its controls; returns what it drew.
function setupFlame(report, check) {
  const canvas = document.getElementById("flame"), search = document.getElementById("fg-search");
  const matchOut = document.getElementById("fg-match");
  const st = readState();
  const trees = { alloc: buildFlameTree(report, "alloc"), live: buildFlameTree(report, "live") };
  const fg = new FlameGraph(canvas, document.getElementById("fg-tip"), () => {
    st.focus = pathOf(fg.focus);
    const m = fg.matchedValue();
    matchOut.textContent = fg.pattern ? `matched ${fmtBytes(m)}, ${fmtPct(fg.root.value ? m / fg.root.value : 0)} of the graph` : "";
    writeState(st);
  });
  const note = document.getElementById("fg-note");
  const setMode = mode => {
    st.mode = mode;
    fg.setTree(trees[mode]);
    note.textContent = (mode === "live" ? "Estimated bytes still allocated when tracing ended" : "Estimated bytes allocated") +
      ` by call stack, root at the top: ${fmtBytes(trees[mode].value)} in all. ` +
      "Widths are the report's estimates, sampled calls weighted by their inverse sampling probability.";
    fg.onChange();
  };
  for (const r of document.querySelectorAll('input[name="fg-mode"]')) {
    r.checked = r.value === st.mode;
    r.addEventListener("change", () => setMode(r.value));
  }
  document.getElementById("fg-reset").addEventListener("click", () => fg.zoom(fg.root));
  document.addEventListener("keydown", e => { if (e.key === "Escape") fg.zoom(fg.root); });
  search.value = st.search;
  search.addEventListener("input", () => { st.search = search.value; fg.search(search.value); });
  const focus = st.focus;
  setMode(st.mode);
  fg.focus = nodeAt(fg.root, focus) || fg.root;
  fg.search(st.search);

  const top = heaviestLeaf(trees.alloc);
  const underRoot = fg.drawn.filter(d => d.depth === fg.depthOf(fg.focus) + 1 && !d.faded)
                            .sort((a, b) => b.w - a.w)[0];
  check.flame = {
    mode: st.mode, total: fg.root.value, canvas_width: canvas.clientWidth, drawn: fg.drawn.length,
    top_stack: top ? pathOf(top) : [], top_value: top ? top.self : 0,
    top_drawn: top ? pathOf(top).every((_, i, p) => fg.drawn.some(d => d.w > 0 && pathOf(d.node).join("\n") === p.slice(0, i + 1).join("\n"))) : false,
    widest_under_focus: underRoot ? { name: underRoot.node.name, value: underRoot.node.value, width: underRoot.w } : null,
    focus: pathOf(fg.focus), focus_width: (fg.drawn.find(d => d.node === fg.focus) || { w: 0 }).w,
    search: fg.pattern ? fg.pattern.source : "", matched: fg.matchedValue(),
  };
}

function section(check, name, id, draw, report) {
  const box = document.getElementById(id);
  try {
    check[name] = draw(report, box);
  } catch (e) {
    pageErrors.push(`${name}: ${e && e.stack ? e.stack : e}`);
    box.append(el("p", { class: "error" }, `This section could not be drawn: ${e}`));
  }
}

function main() {
  const check = {};
  let report;
  try {
    report = JSON.parse(document.getElementById("report-data").textContent);
  } catch (e) {
    pageErrors.push("report data: " + e);
  }
  if (report) {
    try { drawSummary(report); } catch (e) { pageErrors.push("summary: " + (e.stack || e)); }
    try { setupFlame(report, check); } catch (e) { pageErrors.push("flame graph: " + (e.stack || e)); }
    section(check, "sizes", "sizes", drawSizes, report);
    section(check, "cost", "cost", drawCost, report);
    section(check, "timeline", "timeline", drawTimeline, report);
    section(check, "sites", "sites", drawSites, report);
    section(check, "leaks", "leaks", drawLeaks, report);
    section(check, "lifetimes", "lifetimes", drawLifetimes, report);
    section(check, "sampling", "sampling", drawSampling, report);
  }
  // Anything fetched (a script, a style, a font, an image) would break the
  // promise of a page that works offline: none is expected.
  check.resources = performance.getEntriesByType("resource").map(r => r.name);
  check.errors = pageErrors;
  document.getElementById("page-check").textContent = JSON.stringify(check);
}

main();
