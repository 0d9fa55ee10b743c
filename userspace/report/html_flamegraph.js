// The flame graph: the report's sites folded into a tree of function names
// (as the folded-stacks export folds them), drawn on a canvas root at the
// top. Click a frame to zoom to it, search to highlight frames by name.

const FRAME_H = 18;

function flameNode(name, parent) {
  return { name, parent, value: 0, self: 0, children: new Map(), where: null };
}

function processName(p) { return `${p.comm} (${p.pid})`; }

// A site's identity within its process, for telling the leaks --top left
// out of the sites apart from those listed (the JSON has no site ids).
function siteKey(s) { return s.frames.map(f => f.address + "/" + f.function).join(";"); }

// A site's frames outermost first; a stack not recorded is one frame that
// says why, so that its bytes still show.
function stackOf(site) {
  if (!site.frames.length) {
    const why = site.stack_truncated_reason;
    return [{ function: "[no stack" + (why ? ": " + why : "") + "]", module: "" }];
  }
  return site.frames.slice().reverse();
}

// Each process's sites, then its leak sites that --top left out of them
// (those add live bytes only: the JSON keeps no allocated bytes for them).
function flameSites(report) {
  const out = [];
  for (const p of report.processes || []) {
    const listed = new Set(p.sites.map(siteKey));
    for (const s of p.sites)
      out.push({ proc: p, site: s, alloc: s.estimated.bytes, live: s.estimated.live_bytes });
    for (const l of p.leaks)
      if (!listed.has(siteKey(l))) out.push({ proc: p, site: l, alloc: 0, live: l.estimated.live_bytes });
  }
  return out;
}

// The tree for `mode` ("alloc" or "live"). What the listed sites do not
// hold of a process's total (sites --top left out) is one frame of its own,
// so that processes keep their true proportions.
function buildFlameTree(report, mode) {
  const root = flameNode("all processes", null);
  const listed = new Map();
  for (const { proc, site, alloc, live } of flameSites(report)) {
    const v = mode === "live" ? live : alloc;
    const key = processName(proc);
    listed.set(key, (listed.get(key) || 0) + v);
    if (!(v > 0)) continue;
    let node = child(root, key);
    node.value += v;
    for (const f of stackOf(site)) {
      node = child(node, f.function || "[unknown]");
      node.value += v;
      if (!node.where) node.where = f;
    }
    node.self += v;
  }
  for (const p of report.processes || []) {
    const total = mode === "live" ? p.estimated.live_bytes : p.estimated.bytes;
    const rest = total - (listed.get(processName(p)) || 0);
    if (rest < 1) continue;
    const pn = child(root, processName(p));
    const other = child(pn, `[other sites: ${p.totals.sites - p.sites.length} not listed, see --top]`);
    other.value += rest;
    other.self += rest;
    pn.value += rest;
  }
  for (const pn of root.children.values()) root.value += pn.value;
  return root;
}

function child(node, name) {
  let c = node.children.get(name);
  if (!c) node.children.set(name, (c = flameNode(name, node)));
  return c;
}

function pathOf(node) {
  const names = [];
  for (let n = node; n && n.parent; n = n.parent) names.unshift(n.name);
  return names;
}

function nodeAt(root, path) {
  let n = root;
  for (const name of path) {
    n = n.children.get(name);
    if (!n) return null;
  }
  return n;
}

// The node holding the most bytes itself: the top site's stack.
function heaviestLeaf(root) {
  let best = null;
  const visit = n => {
    if (n.parent && (!best || n.self > best.self)) best = n;
    for (const c of n.children.values()) visit(c);
  };
  visit(root);
  return best;
}

function frameColor(node, depth) {
  if (depth === 0) return "#b9b9bf";
  if (depth === 1) return "#8fa9c8";
  if (node.name.startsWith("[")) return "#c8c8c8";
  let h = 0;
  for (const ch of node.name) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return `hsl(${8 + (h % 42)}, ${70 + (h % 20)}%, ${58 + ((h >> 8) % 14)}%)`;
}

class FlameGraph {
  constructor(canvas, tip, onChange) {
    this.canvas = canvas;
    this.tip = tip;
    this.onChange = onChange;
    this.root = null;
    this.focus = null;
    this.pattern = null;
    this.drawn = [];
    canvas.addEventListener("mousemove", e => this.hover(e));
    canvas.addEventListener("mouseleave", () => { this.tip.hidden = true; });
    canvas.addEventListener("click", e => {
      const hit = this.hit(e);
      if (hit) this.zoom(hit.node);
    });
    window.addEventListener("resize", () => this.draw());
  }

  setTree(root) {
    const path = this.focus ? pathOf(this.focus) : [];
    this.root = root;
    this.focus = nodeAt(root, path) || root;
    this.draw();
  }

  zoom(node) {
    this.focus = node || this.root;
    this.draw();
    this.onChange();
  }

  // A regular expression, or the text itself where it is not one.
  search(text) {
    if (!text) this.pattern = null;
    else {
      try { this.pattern = new RegExp(text, "i"); }
      catch (_) { this.pattern = new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), "i"); }
    }
    this.draw();
    this.onChange();
  }

  matches(node) { return this.pattern !== null && node.parent !== null && this.pattern.test(node.name); }

  // Bytes under matching frames, each counted once (not again below a match).
  matchedValue() {
    let sum = 0;
    const visit = n => {
      if (this.matches(n)) { sum += n.value; return; }
      for (const c of n.children.values()) visit(c);
    };
    if (this.pattern) visit(this.root);
    return sum;
  }

  depthOf(node) { return pathOf(node).length; }

  maxDepth(node) {
    let d = 0;
    for (const c of node.children.values()) d = Math.max(d, 1 + this.maxDepth(c));
    return d;
  }

  draw() {
    if (!this.root) return;
    const width = this.canvas.clientWidth || 800, ratio = window.devicePixelRatio || 1;
    const focusDepth = this.depthOf(this.focus);
    const rows = focusDepth + 1 + this.maxDepth(this.focus);
    const height = Math.max(1, rows) * FRAME_H;
    this.canvas.width = Math.round(width * ratio);
    this.canvas.height = Math.round(height * ratio);
    this.canvas.style.height = height + "px";
    const ctx = this.canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    ctx.font = '12px system-ui, "DejaVu Sans", sans-serif';
    ctx.textBaseline = "middle";
    this.drawn = [];
    // The focus's ancestors span the width, faded; the focus and what is
    // below it are drawn in proportion to their bytes.
    for (let n = this.focus.parent, d = focusDepth - 1; n; n = n.parent, d--)
      this.frame(ctx, n, 0, width, d, true);
    const scale = this.focus.value > 0 ? width / this.focus.value : 0;
    const visit = (n, x, d) => {
      const w = n.value * scale;
      if (w < 0.3) return;
      this.frame(ctx, n, x, w, d, false);
      let cx = x;
      const kids = [...n.children.values()].sort((a, b) => b.value - a.value || (a.name < b.name ? -1 : 1));
      for (const c of kids) {
        visit(c, cx, d + 1);
        cx += c.value * scale;
      }
    };
    visit(this.focus, 0, focusDepth);
  }

  frame(ctx, node, x, w, depth, faded) {
    const y = depth * FRAME_H;
    ctx.globalAlpha = faded ? 0.45 : 1;
    ctx.fillStyle = this.matches(node) ? "#d633c2" : frameColor(node, depth);
    ctx.fillRect(x, y, Math.max(w - 1, 0.5), FRAME_H - 1);
    if (w > 28) {
      ctx.fillStyle = "#111";
      const label = depth === 0 ? `${node.name}: ${fmtBytes(node.value)}` : node.name;
      ctx.fillText(fitText(ctx, label, w - 8), x + 4, y + FRAME_H / 2);
    }
    ctx.globalAlpha = 1;
    this.drawn.push({ node, x, w, depth, faded });
  }

  hit(e) {
    const r = this.canvas.getBoundingClientRect(), x = e.clientX - r.left, y = e.clientY - r.top;
    const depth = Math.floor(y / FRAME_H);
    return this.drawn.find(d => d.depth === depth && x >= d.x && x < d.x + d.w) || null;
  }

  hover(e) {
    const hit = this.hit(e);
    if (!hit) { this.tip.hidden = true; return; }
    const n = hit.node, f = n.where;
    const lines = [
      el("div", {}, el("b", {}, n.name)),
      el("div", {}, `${fmtBytes(n.value)}: ${fmtPct(n.value / this.root.value)} of all` +
                    (this.focus !== this.root ? `, ${fmtPct(n.value / this.focus.value)} of the zoomed frame` : "")),
    ];
    if (n.self > 0 && n.children.size) lines.push(el("div", {}, `allocating here itself: ${fmtBytes(n.self)}`));
    if (f && f.module) lines.push(el("div", {}, `in ${f.module}` + (f.file ? ` at ${f.file}:${f.line ?? "?"}` : "") +
                                               (f.inlined ? " (inlined)" : "")));
    lines.push(el("div", { class: "note" }, "click to zoom"));
    this.tip.replaceChildren(...lines);
    this.tip.hidden = false;
    this.tip.style.left = Math.min(e.clientX + 12, window.innerWidth - 360) + "px";
    this.tip.style.top = e.clientY + 14 + "px";
  }
}

// `text` cut with an ellipsis to fit `width` pixels.
function fitText(ctx, text, width) {
  if (ctx.measureText(text).width <= width) return text;
  let lo = 0, hi = text.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (ctx.measureText(text.slice(0, mid) + "…").width <= width) lo = mid;
    else hi = mid - 1;
  }
  return lo > 0 ? text.slice(0, lo) + "…" : "";
}
