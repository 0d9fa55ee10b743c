// Formatting and small SVG charts for the HTML report: no library, so that
// the page stays one file that works offline.

const SVG_NS = "http://www.w3.org/2000/svg";

// An element with attributes and children (strings become text nodes, so
// names from the report are never parsed as markup).
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const c of children.flat()) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
  return e;
}

function svgEl(tag, attrs, ...children) {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const c of children.flat()) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
  return e;
}

// A tooltip the browser shows on hover.
function titled(node, text) {
  node.append(svgEl("title", {}, text));
  return node;
}

function fmtBytes(b) {
  if (b === null || b === undefined || !isFinite(b)) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = Math.abs(b), i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  const digits = i === 0 ? 0 : v < 10 ? 2 : v < 100 ? 1 : 0;
  return (b < 0 ? "-" : "") + +v.toFixed(digits) + " " + units[i];
}

function fmtCount(n) {
  if (n === null || n === undefined || !isFinite(n)) return "–";
  const a = Math.abs(n);
  if (a >= 1e9) return (n / 1e9).toFixed(a >= 1e10 ? 1 : 2) + " G";
  if (a >= 1e6) return (n / 1e6).toFixed(a >= 1e7 ? 1 : 2) + " M";
  if (a >= 1e4) return (n / 1e3).toFixed(a >= 1e5 ? 0 : 1) + " k";
  return Number.isInteger(n) ? String(n) : n.toFixed(n < 10 ? 2 : 1);
}

function fmtSeconds(s) {
  if (s === null || s === undefined || !isFinite(s)) return "–";
  if (s === 0) return "0 s";
  if (s >= 100) return s.toFixed(0) + " s";
  if (s >= 1) return s.toFixed(2) + " s";
  if (s >= 1e-3) return (s * 1e3).toFixed(s >= 0.01 ? 1 : 2) + " ms";
  return (s * 1e6).toFixed(1) + " µs";
}

function fmtPct(x) {
  if (x === null || x === undefined || !isFinite(x)) return "–";
  if (x === 0) return "0%";
  return (x * 100).toFixed(x < 0.001 ? 3 : x < 0.1 ? 2 : 1) + "%";
}

// A size class's lower bound as a short label: 0, 2, 4, ... 1K, 2K ... 1G.
function fmtPow2(n) {
  const units = ["", "K", "M", "G", "T", "P", "E"];
  let i = 0;
  while (n >= 1024 && n % 1024 === 0 && i < units.length - 1) { n /= 1024; i++; }
  return n + units[i];
}

// A "nice" axis maximum and step for values up to `max`: 1, 2, 2.5 or 5
// times a power of ten; of KiB, MiB, ... where `binary` (byte axes).
function niceScale(max, ticks, binary) {
  if (!(max > 0)) return { max: 1, step: 1 };
  let unit = 1;
  if (binary) while (max / unit >= 1024) unit *= 1024;
  const raw = max / unit / ticks, mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map(m => m * mag).find(s => s >= raw);
  return { max: Math.ceil(max / unit / step) * step * unit, step: step * unit };
}

const PALETTE = ["#c0392b", "#2e86c1", "#27ae60", "#8e44ad", "#d68910", "#17a589", "#7f8c8d"];

function legend(items) {
  return el("div", { class: "legend" },
            items.map(it => el("span", {}, el("i", { style: "background:" + it.color }), it.name)));
}

// Vertical bars, one per item {label, value, title}; returns the SVG and
// the number of bars drawn.
function barChart(items, opts) {
  const w = opts.width || 520, h = opts.height || 180, left = 58, bottom = 34, top = 8;
  const plotW = w - left - 8, plotH = h - top - bottom;
  const scale = niceScale(Math.max(0, ...items.map(i => i.value)), 4, opts.bytes);
  const svg = svgEl("svg", { viewBox: `0 0 ${w} ${h}`, width: "100%", role: "img", "aria-label": opts.label });
  for (let v = 0; v <= scale.max + 1e-9; v += scale.step) {
    const y = top + plotH - (v / scale.max) * plotH;
    svg.append(svgEl("line", { class: "grid", x1: left, x2: w - 8, y1: y, y2: y }),
               svgEl("text", { x: left - 4, y: y + 4, "text-anchor": "end" }, opts.fmt(v)));
  }
  const slot = plotW / Math.max(1, items.length), labelEvery = Math.ceil(28 / slot);
  let drawn = 0;
  items.forEach((it, i) => {
    const bh = (it.value / scale.max) * plotH, x = left + i * slot;
    const bar = svgEl("rect", { x: x + 1, y: top + plotH - bh, width: Math.max(1, slot - 2), height: bh,
                                fill: opts.color || PALETTE[0], "data-value": it.value });
    svg.append(titled(bar, it.title));
    drawn++;
    if (i % labelEvery === 0)
      svg.append(svgEl("text", { x: x + slot / 2, y: h - bottom + 14, "text-anchor": "middle" }, it.label));
  });
  svg.append(svgEl("line", { class: "axis", x1: left, x2: w - 8, y1: top + plotH, y2: top + plotH }));
  if (opts.xTitle) svg.append(svgEl("text", { x: left + plotW / 2, y: h - 4, "text-anchor": "middle" }, opts.xTitle));
  return { svg, drawn };
}

// Lines over time: series [{name, color, points: [[t, v], ...], step}];
// `step` draws a value held until the next point. Returns the SVG and the
// number of points drawn.
function lineChart(series, opts) {
  const w = opts.width || 1000, h = opts.height || 200, left = 66, bottom = 30, top = 8, right = 12;
  const plotW = w - left - right, plotH = h - top - bottom;
  const all = series.flatMap(s => s.points);
  const tMax = opts.tMax !== undefined ? opts.tMax : Math.max(1e-9, ...all.map(p => p[0]));
  const yScale = niceScale(Math.max(0, ...all.map(p => p[1])), 4, opts.bytes);
  const xs = t => left + (t / tMax) * plotW, ys = v => top + plotH - (v / yScale.max) * plotH;
  const svg = svgEl("svg", { viewBox: `0 0 ${w} ${h}`, width: "100%", role: "img", "aria-label": opts.label });
  for (let v = 0; v <= yScale.max + 1e-9; v += yScale.step)
    svg.append(svgEl("line", { class: "grid", x1: left, x2: w - right, y1: ys(v), y2: ys(v) }),
               svgEl("text", { x: left - 4, y: ys(v) + 4, "text-anchor": "end" }, opts.fmt(v)));
  const tScale = niceScale(tMax, 8);
  for (let t = 0; t <= tMax + 1e-9; t += tScale.step)
    svg.append(svgEl("text", { x: xs(t), y: h - bottom + 14, "text-anchor": "middle" }, +t.toFixed(3) + " s"));
  svg.append(svgEl("line", { class: "axis", x1: left, x2: w - right, y1: top + plotH, y2: top + plotH }));
  let drawn = 0;
  for (const s of series) {
    if (!s.points.length) continue;
    let d = "";
    s.points.forEach(([t, v], i) => {
      if (i === 0) d += `M${xs(t)},${ys(v)}`;
      else d += s.step ? `H${xs(t)}V${ys(v)}` : `L${xs(t)},${ys(v)}`;
    });
    if (s.step) d += `H${xs(tMax)}`;
    svg.append(svgEl("path", { d, fill: "none", stroke: s.color, "stroke-width": 1.8, "data-series": s.name }));
    for (const [t, v] of s.points)
      svg.append(titled(svgEl("circle", { cx: xs(t), cy: ys(v), r: 2.2, fill: s.color }),
                        `${s.name} at ${t.toFixed(2)} s: ${opts.fmt(v)}`));
    drawn += s.points.length;
  }
  return { svg, drawn };
}

// An estimate with its 95% interval on a shared scale: a bar to the
// estimate and a whisker over the interval.
function intervalBar(estimate, ci, max, color) {
  const w = 160, h = 14, x = v => Math.max(0, Math.min(w, (v / max) * w));
  const svg = svgEl("svg", { width: w, height: h, viewBox: `0 0 ${w} ${h}` });
  svg.append(svgEl("rect", { x: 0, y: 3, width: x(estimate), height: 8, fill: color, opacity: 0.75 }));
  if (ci) {
    svg.append(svgEl("line", { x1: x(ci[0]), x2: x(ci[1]), y1: 7, y2: 7, stroke: "#222", "stroke-width": 1 }),
               svgEl("line", { x1: x(ci[0]), x2: x(ci[0]), y1: 3, y2: 11, stroke: "#222" }),
               svgEl("line", { x1: x(ci[1]), x2: x(ci[1]), y1: 3, y2: 11, stroke: "#222" }));
  }
  return svg;
}
