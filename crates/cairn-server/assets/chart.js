// Tokens and cost per provider request, as an inline SVG: one bar per request
// (tokens, left scale) and a line of its cost (right scale). Built with DOM calls.

import { h, num, svg, usd } from "./dom.js";

const W = 720;
const H = 160;
const PAD = { left: 56, right: 56, top: 10, bottom: 22 };

/** `requests`: [{seq, ts, tokens, cost}] in order. Returns a figure element. */
export function requestChart(requests) {
  const figure = h("figure", { class: "chart", id: "request-chart" });
  if (!requests.length) {
    figure.appendChild(h("figcaption", {}, "No provider requests yet."));
    return figure;
  }
  const maxTokens = Math.max(1, ...requests.map((r) => r.tokens));
  const maxCost = Math.max(...requests.map((r) => r.cost), 0);
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const step = plotW / requests.length;
  const barW = Math.max(1, Math.min(24, step * 0.7));
  const y = (t) => PAD.top + plotH - (t / maxTokens) * plotH;
  const yCost = (c) => PAD.top + plotH - (maxCost > 0 ? (c / maxCost) * plotH : 0);
  const chart = svg("svg", {
    viewBox: `0 0 ${W} ${H}`,
    role: "img",
    "aria-label": `tokens and cost of ${requests.length} requests`,
  });
  chart.appendChild(svg("line", { class: "axis", x1: PAD.left, y1: PAD.top + plotH, x2: W - PAD.right, y2: PAD.top + plotH }));
  chart.appendChild(svg("text", { class: "scale", x: PAD.left - 4, y: PAD.top + 8, "text-anchor": "end" }, num(maxTokens)));
  chart.appendChild(svg("text", { class: "scale", x: PAD.left - 4, y: PAD.top + plotH, "text-anchor": "end" }, "0"));
  chart.appendChild(svg("text", { class: "scale cost", x: W - PAD.right + 4, y: PAD.top + 8 }, usd(maxCost)));
  const points = [];
  requests.forEach((r, i) => {
    const cx = PAD.left + step * i + step / 2;
    const bar = svg("rect", {
      class: "bar",
      x: cx - barW / 2,
      y: y(r.tokens),
      width: barW,
      height: Math.max(0.5, PAD.top + plotH - y(r.tokens)),
    });
    bar.appendChild(svg("title", {}, `#${r.seq} ${r.model || ""}: ${num(r.tokens)} tokens, ${usd(r.cost)}`));
    chart.appendChild(bar);
    points.push(`${cx.toFixed(1)},${yCost(r.cost).toFixed(1)}`);
  });
  if (maxCost > 0) chart.appendChild(svg("polyline", { class: "cost-line", points: points.join(" ") }));
  chart.appendChild(svg("text", { class: "scale", x: PAD.left, y: H - 6 }, `request 1`));
  chart.appendChild(svg("text", { class: "scale", x: W - PAD.right, y: H - 6, "text-anchor": "end" }, `request ${requests.length}`));
  figure.appendChild(chart);
  figure.appendChild(h("figcaption", {}, h("span", { class: "key-bar" }, "tokens"), " per request · ", h("span", { class: "key-cost" }, "cost"), " per request"));
  return figure;
}
