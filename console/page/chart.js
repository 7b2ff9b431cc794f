// SPDX-License-Identifier: MIT
// SVG charts built with DOM calls (no markup strings): the line chart of an alert's
// values with the rule's levels, and the small 24-hour sparklines of the gauges.
"use strict";
(function () {
  const NS = "http://www.w3.org/2000/svg";

  function el(name, attrs, text) {
    const e = document.createElementNS(NS, name);
    for (const k in attrs) e.setAttribute(k, String(attrs[k]));
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function range(values) {
    let lo = Infinity, hi = -Infinity;
    for (const v of values) { if (v < lo) lo = v; if (v > hi) hi = v; }
    if (lo === hi) { lo -= 1; hi += 1; }
    const pad = (hi - lo) * 0.08;
    return [lo - pad, hi + pad];
  }

  // points: [{t: ms, v}], levels: [{at, label, severity}], marks: [{t, label}].
  function lineChart(opt) {
    const W = 640, H = 260, L = 52, R = 12, T = 14, B = 34;
    const svg = el("svg", {viewBox: `0 0 ${W} ${H}`, role: "img", class: "linechart"});
    svg.appendChild(el("title", {}, opt.title));
    svg.appendChild(el("desc", {}, opt.desc));
    const pts = opt.points;
    if (!pts.length) return svg;
    const ts = pts.map(p => p.t).concat(opt.marks.map(m => m.t));
    const t0 = Math.min(...ts), t1 = Math.max(...ts) || t0 + 1;
    const [v0, v1] = range(pts.map(p => p.v).concat(opt.levels.map(l => l.at)));
    const x = t => L + (W - L - R) * ((t - t0) / Math.max(1, t1 - t0));
    const y = v => T + (H - T - B) * (1 - (v - v0) / (v1 - v0));
    svg.appendChild(el("rect", {x: L, y: T, width: W - L - R, height: H - T - B, class: "plot"}));
    for (const v of [v0, (v0 + v1) / 2, v1]) {
      svg.appendChild(el("text", {x: L - 6, y: y(v) + 4, class: "axis", "text-anchor": "end"},
        opt.fmtValue(v)));
    }
    svg.appendChild(el("text", {x: L, y: H - 10, class: "axis"}, opt.fmtTime(t0)));
    svg.appendChild(el("text", {x: W - R, y: H - 10, class: "axis", "text-anchor": "end"},
      opt.fmtTime(t1)));
    for (const l of opt.levels) {
      svg.appendChild(el("line", {x1: L, x2: W - R, y1: y(l.at), y2: y(l.at),
        class: "level level-" + (l.severity || "clear")}));
      svg.appendChild(el("text", {x: W - R - 4, y: y(l.at) - 4, class: "level-label",
        "text-anchor": "end"}, l.label));
    }
    for (const m of opt.marks) {
      svg.appendChild(el("line", {x1: x(m.t), x2: x(m.t), y1: T, y2: H - B, class: "mark"}));
      const right = x(m.t) > W / 2; // the label on the side with room
      svg.appendChild(el("text", {x: x(m.t) + (right ? -3 : 3), y: T + 12, class: "mark-label",
        "text-anchor": right ? "end" : "start"}, m.label));
    }
    const d = pts.map((p, i) => (i ? "L" : "M") + x(p.t).toFixed(1) + " " + y(p.v).toFixed(1)).join(" ");
    svg.appendChild(el("path", {d, class: "series"}));
    if (pts.length <= 200) {
      for (const p of pts) svg.appendChild(el("circle", {cx: x(p.t), cy: y(p.v), r: 2.2, class: "dot"}));
    }
    return svg;
  }

  function sparkline(values, label) {
    const W = 120, H = 28;
    const svg = el("svg", {viewBox: `0 0 ${W} ${H}`, role: "img", class: "spark",
      width: W, height: H});
    svg.appendChild(el("title", {}, label));
    if (values.length < 2) return svg;
    const [v0, v1] = range(values);
    const d = values.map((v, i) => (i ? "L" : "M") + (2 + (W - 4) * i / (values.length - 1)).toFixed(1)
      + " " + (2 + (H - 4) * (1 - (v - v0) / (v1 - v0))).toFixed(1)).join(" ");
    svg.appendChild(el("path", {d, class: "series"}));
    return svg;
  }

  window.Charts = {lineChart, sparkline};
})();
