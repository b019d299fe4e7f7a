// Every session of every project, newest first, paged by cursor; a project filter and
// a full-text search box (its hits link to the event they matched).

import { get } from "./api.js";
import { h, num, projectLabel, replace, usd, when } from "./dom.js";

const LIMIT = 50;

function pick(obj, ...keys) {
  for (const k of keys) if (obj?.[k] !== undefined && obj[k] !== null) return obj[k];
  return undefined;
}

/** The link of a listed session: chat sessions to their timeline, checkpoint ids to Progress. */
function entryLink(entry) {
  const id = String(pick(entry, "id", "name") ?? "");
  return entry.kind === "checkpoint"
    ? h("a", { href: `#/progress/${encodeURIComponent(id)}`, class: "session-link" }, id)
    : h("a", { href: `#/session/${encodeURIComponent(id)}`, class: "session-link" }, id);
}

export function mount(main, _params, query) {
  const q = query.get("q") ?? "";
  const project = query.get("project") ?? "";
  const cursor = query.get("cursor") ?? "";
  const search = h("input", { type: "search", id: "search", name: "q", value: q, placeholder: "Search every message…", "aria-label": "full-text search" });
  const projectInput = h("input", { type: "text", id: "project", name: "project", value: project, placeholder: "all projects", list: "projects", "aria-label": "project filter" });
  const datalist = h("datalist", { id: "projects" });
  const form = h("form", { class: "filters", role: "search" }, search, projectInput, datalist, h("button", { type: "submit" }, "Search"),
    q || project ? h("a", { href: "#/sessions", class: "clear" }, "clear") : null);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const next = new URLSearchParams();
    if (search.value.trim()) next.set("q", search.value.trim());
    if (projectInput.value.trim()) next.set("project", projectInput.value.trim());
    location.hash = `#/sessions${next.size ? `?${next}` : ""}`;
  });
  const results = h("section", { id: "results" }, h("p", { class: "muted" }, "loading…"));
  replace(main, h("h2", {}, q ? "Search" : "Sessions"), form, results);

  const load = q ? showHits(results, q, project) : showSessions(results, project, cursor, query, datalist);
  load
    .then(() => {
      // The benchmark reads this: ms from the navigation's start to the rendered list.
      document.body.dataset.rendered = performance.now().toFixed(1);
    })
    .catch((e) => replace(results, h("p", { class: "error-text" }, e.message)));
}

async function showSessions(results, project, cursor, query, datalist) {
  const page = await get("/api/sessions", { project, limit: LIMIT, cursor });
  const rows = Array.isArray(page) ? page : pick(page, "sessions", "items") ?? [];
  const next = Array.isArray(page) ? null : pick(page, "next_cursor", "cursor", "next");
  const projects = new Set();
  const tbody = h("tbody");
  for (const s of rows) {
    projects.add(String(s.project ?? ""));
    const tokens = pick(s, "tokens", "total_tokens");
    tbody.appendChild(
      h("tr", { class: `kind-${s.kind ?? "chat"}` },
        h("td", {}, entryLink(s), s.title ? h("div", { class: "muted title" }, String(s.title)) : null),
        h("td", {}, projectLabel(s.project)),
        h("td", {}, s.kind === "checkpoint" ? h("span", { class: "status" }, "checkpoint") : h("span", { class: `status status-${s.status}` }, String(s.status ?? "–"))),
        h("td", {}, String(pick(s, "model") ?? "–")),
        h("td", { class: "n" }, num(pick(s, "message_count", "messages"))),
        h("td", { class: "n" }, num(tokens)),
        h("td", { class: "n" }, usd(pick(s, "cost_usd", "cost"))),
        h("td", {}, when(pick(s, "updated_at", "last_active")))),
    );
  }
  for (const p of projects) datalist.appendChild(h("option", { value: p }));
  const pager = h("nav", { class: "pager" });
  if (query.get("cursor")) {
    const first = new URLSearchParams(query);
    first.delete("cursor");
    pager.appendChild(h("a", { href: `#/sessions${first.size ? `?${first}` : ""}` }, "← newest"));
  }
  if (next) {
    const older = new URLSearchParams(query);
    older.set("cursor", String(next));
    pager.appendChild(h("a", { href: `#/sessions?${older}`, id: "older" }, "older →"));
  }
  replace(results,
    rows.length
      ? h("table", { class: "list", id: "sessions" },
          h("thead", {}, h("tr", {}, ["session", "project", "status", "model", "messages", "tokens", "cost", "last active"].map((c) => h("th", {}, c)))),
          tbody)
      : h("p", { class: "muted" }, "No sessions yet."),
    pager);
}

async function showHits(results, q, project) {
  const answer = await get("/api/search", { q, project });
  const hits = Array.isArray(answer) ? answer : answer.hits ?? [];
  const list = h("ol", { class: "hits", id: "hits" });
  for (const hit of hits) {
    const id = String(hit.id ?? hit.session ?? "");
    const href = hit.kind === "checkpoint"
      ? `#/progress/${encodeURIComponent(id)}`
      : `#/session/${encodeURIComponent(id)}${hit.seq ? `?seq=${hit.seq}` : ""}`;
    list.appendChild(h("li", {},
      h("div", {}, h("a", { href, class: "session-link" }, id), " ", h("span", { class: "muted" }, [hit.role, hit.seq ? `#${hit.seq}` : null].filter(Boolean).join(" ")), " ", projectLabel(hit.project), " ", when(hit.at)),
      snippet(String(hit.snippet ?? ""))));
  }
  replace(results, hits.length ? list : h("p", { class: "muted" }, `Nothing matches “${q}”.`));
}

/** The search's snippet, its matches (written `[like this]`) marked. */
function snippet(text) {
  const p = h("p", { class: "snippet" });
  const parts = text.split(/\[([^\[\]]{1,200})\]/);
  parts.forEach((part, i) => p.appendChild(i % 2 ? h("mark", {}, part) : document.createTextNode(part)));
  return p;
}
