// Tokens and cost per day, week, model, project or session: the report `cairn usage`
// prints, from /api/usage.

import { get } from "./api.js";
import { h, num, replace, usd } from "./dom.js";

const GROUPINGS = ["day", "week", "model", "project", "session"];
const TOKEN_KEYS = ["input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "reasoning_tokens"];

export function mount(main, _params, query) {
  const by = GROUPINGS.includes(query.get("by")) ? query.get("by") : "day";
  const project = query.get("project") ?? "";
  const tabs = h("nav", { class: "tabs" }, GROUPINGS.map((g) => {
    const q = new URLSearchParams({ by: g });
    if (project) q.set("project", project);
    return h("a", { href: `#/usage?${q}`, class: g === by ? "current" : null }, `by ${g}`);
  }));
  const body = h("section", { id: "usage" }, h("p", { class: "muted" }, "loading…"));
  replace(main, h("h2", {}, "Usage"), tabs, body);
  const report = get("/api/usage", { by, project });
  report
    .then((answer) => replace(body, table(by, answer.rows ?? []), answer.truncated ? h("p", { class: "muted" }, "Only the most recently active sessions are counted.") : null))
    .catch((e) => replace(body, h("p", { class: "error-text" }, e.message)));
}

function tokens(row) {
  const u = row.usage ?? row;
  if (typeof row.total_tokens === "number") return row.total_tokens;
  if (typeof row.tokens === "number") return row.tokens;
  return TOKEN_KEYS.map((k) => Number(u[k]) || 0).reduce((a, b) => a + b, 0);
}

function table(by, rows) {
  if (!rows.length) return h("p", { class: "muted" }, "No usage recorded yet.");
  const max = Math.max(1, ...rows.map(tokens));
  const total = { tokens: 0, cost: 0, requests: 0 };
  const body = h("tbody", {}, rows.map((r) => {
    const key = r.key ?? "–";
    const t = tokens(r);
    const u = r.usage ?? r;
    total.tokens += t;
    total.cost += Number(r.cost_usd) || 0;
    total.requests += Number(r.requests) || 0;
    const bar = h("span", { class: "bar" });
    bar.style.width = `${(100 * t) / max}%`;
    return h("tr", {},
      h("td", {}, by === "session" ? h("a", { href: `#/session/${encodeURIComponent(key)}` }, String(key)) : String(key)),
      h("td", { class: "n" }, num(r.requests)),
      h("td", { class: "n" }, num(Number(u.input_tokens))),
      h("td", { class: "n" }, num(Number(u.output_tokens))),
      h("td", { class: "n" }, num(Number(u.cache_read_tokens))),
      h("td", { class: "n" }, num(t)),
      h("td", { class: "n" }, usd(Number(r.cost_usd))),
      h("td", { class: "bar-cell" }, bar));
  }));
  return h("table", { class: "list", id: "usage-table" },
    h("thead", {}, h("tr", {}, [by, "requests", "input", "output", "cache read", "tokens", "cost", ""].map((c) => h("th", {}, c)))),
    body,
    h("tfoot", {}, h("tr", {}, h("td", {}, "total"), h("td", { class: "n" }, num(total.requests)), h("td"), h("td"), h("td"),
      h("td", { class: "n" }, num(total.tokens)), h("td", { class: "n" }, usd(total.cost)), h("td"))));
}
