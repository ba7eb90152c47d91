// Hand-written SVG line charts for the Duet dashboard: no library, no build step.
// lineChart(svg, spec) redraws the chart in place from a spec:
//   { series: [{ name, cls, points: [[timeMs, value|null], ...], dashed }],
//     refs: [{ value, label }],      // horizontal reference lines (SLOs)
//     empty: "text when no series has a point" }
// Nulls break a line. The <svg> gets data-points (points drawn) so tests and people can tell
// an empty chart from a drawn one.

const NS = "http://www.w3.org/2000/svg";
const W = 640, H = 220;
const PAD = { left: 52, right: 12, top: 12, bottom: 26 };

function el(name, attrs, text) {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

/** A "nice" upper bound and tick step for values up to max. */
function niceScale(max) {
  if (!(max > 0)) return { top: 1, step: 0.25 };
  const raw = max / 4;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map(m => m * mag).find(s => s >= raw);
  return { top: Math.ceil(max / step) * step, step };
}

function fmtNumber(v) {
  if (v === 0) return "0";
  if (Math.abs(v) >= 1000) return (v / 1000).toFixed(v % 1000 === 0 ? 0 : 1) + "k";
  if (Math.abs(v) < 1) return v.toFixed(2).replace(/0+$/, "").replace(/\.$/, "");
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}

function fmtTime(ms) {
  return new Date(ms).toLocaleTimeString([], { hour12: false });
}

export function lineChart(svg, spec) {
  while (svg.firstChild) svg.removeChild(svg.firstChild);
  const series = spec.series || [];
  const refs = (spec.refs || []).filter(r => r.value !== null && r.value !== undefined);
  let tMin = Infinity, tMax = -Infinity, vMax = 0, drawn = 0;
  for (const s of series) {
    for (const [t, v] of s.points) {
      tMin = Math.min(tMin, t); tMax = Math.max(tMax, t);
      if (v !== null && v !== undefined) { vMax = Math.max(vMax, v); drawn++; }
    }
  }
  svg.setAttribute("data-points", String(drawn));
  if (drawn === 0) {
    svg.appendChild(el("text", { x: W / 2, y: H / 2, "text-anchor": "middle", class: "empty" },
      spec.empty || "no data yet"));
    return;
  }
  for (const r of refs) vMax = Math.max(vMax, r.value);
  if (tMax === tMin) { tMin -= 1000; tMax += 1000; }
  const { top, step } = niceScale(vMax * 1.05);
  const x = t => PAD.left + (t - tMin) / (tMax - tMin) * (W - PAD.left - PAD.right);
  const y = v => H - PAD.bottom - v / top * (H - PAD.top - PAD.bottom);

  for (let v = 0; v <= top + step / 2; v += step) {
    svg.appendChild(el("line", { x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v), class: "axis" }));
    svg.appendChild(el("text", { x: PAD.left - 6, y: y(v) + 4, "text-anchor": "end", class: "tick" }, fmtNumber(v)));
  }
  let previous = null;
  for (let i = 0; i <= 3; i++) {
    const t = tMin + (tMax - tMin) * i / 3;
    const label = fmtTime(t);
    if (label === previous) continue; // a span of seconds: one label per distinct second
    previous = label;
    const anchor = i === 0 ? "start" : i === 3 ? "end" : "middle";
    svg.appendChild(el("text", { x: x(t), y: H - 6, "text-anchor": anchor, class: "tick" }, label));
  }
  for (const r of refs) {
    svg.appendChild(el("line", { x1: PAD.left, x2: W - PAD.right, y1: y(r.value), y2: y(r.value), class: "ref" }));
    svg.appendChild(el("text", { x: W - PAD.right - 4, y: y(r.value) - 4, "text-anchor": "end", class: "ref-label" }, r.label));
  }
  for (const s of series) {
    let run = [];
    const flush = () => {
      if (run.length > 1) {
        svg.appendChild(el("polyline", { points: run.join(" "), class: "series " + s.cls }));
      }
      run = [];
    };
    for (const [t, v] of s.points) {
      if (v === null || v === undefined) { flush(); continue; }
      run.push(x(t).toFixed(1) + "," + y(v).toFixed(1));
    }
    flush();
    const few = s.points.length <= 120;
    for (const [t, v] of s.points) {
      if (v === null || v === undefined) continue;
      if (few || t === tMax) {
        svg.appendChild(el("circle", { cx: x(t).toFixed(1), cy: y(v).toFixed(1), r: 2.5, class: "pt " + s.cls }));
      }
    }
  }
}

/** Fills a legend element: a key per series, then notes (such as "no forecast yet"). */
export function legend(node, keys, notes) {
  while (node.firstChild) node.removeChild(node.firstChild);
  for (const k of keys) {
    const span = document.createElement("span");
    span.className = "key " + k.cls;
    const sw = document.createElement("span");
    sw.className = "swatch";
    span.appendChild(sw);
    span.appendChild(document.createTextNode(k.name));
    node.appendChild(span);
  }
  for (const n of notes || []) {
    const span = document.createElement("span");
    span.className = "note";
    span.textContent = n;
    node.appendChild(span);
  }
}
