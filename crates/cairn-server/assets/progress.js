// Checkpoints (save_progress) by session id, latest first; a click shows the series.

import { get } from "./api.js";
import { h, projectLabel, replace, when } from "./dom.js";

export function mount(main, { id }) {
  const list = h("section", { id: "progress" }, h("p", { class: "muted" }, "loading…"));
  replace(main, h("h2", {}, "Progress"), list);
  (async () => {
    const answer = await get("/api/progress");
    const latest = Array.isArray(answer) ? answer : answer.sessions ?? answer.checkpoints ?? [];
    if (!latest.length) {
      replace(list, h("p", { class: "muted" }, "No checkpoints yet: agents save them with the save_progress tool."));
      return;
    }
    const items = latest.map((c) => {
      const sid = String(c.session_id ?? c.id ?? "");
      const series = h("div", { class: "series" });
      const details = h("details", { class: "progress-session", dataset: { session: sid } },
        h("summary", {}, h("strong", {}, sid), " ", projectLabel(c.project), " ", when(c.created_at ?? c.updated_at), " ",
          h("span", { class: "muted" }, firstLine(c.summary ?? c.title ?? ""))),
        series);
      let loaded = false;
      details.addEventListener("toggle", () => {
        if (!details.open || loaded) return;
        loaded = true;
        showSeries(series, sid).catch((e) => replace(series, h("p", { class: "error-text" }, e.message)));
      });
      if (id && id === sid) details.open = true;
      return details;
    });
    replace(list, ...items);
    if (id) document.querySelector(`details[data-session="${CSS.escape(id)}"]`)?.scrollIntoView();
  })().catch((e) => replace(list, h("p", { class: "error-text" }, e.message)));
}

function firstLine(text) {
  return String(text).split("\n")[0];
}

async function showSeries(box, sid) {
  const answer = await get(`/api/progress/${encodeURIComponent(sid)}`);
  const rounds = [...(answer.checkpoints ?? [])].reverse();
  if (!rounds.length) {
    replace(box, h("p", { class: "muted" }, answer.message ?? "No checkpoints."));
    return;
  }
  replace(box, h("ol", { class: "rounds" }, rounds.map((c) =>
    h("li", {},
      h("div", { class: "event-head" }, h("span", { class: "label" }, `round ${c.round_id}`), when(c.created_at), c.instance ? h("span", { class: "muted" }, ` ${c.instance}`) : null),
      h("p", { class: "pre-wrap" }, String(c.summary ?? "")),
      listOf("decisions", c.decisions_made),
      listOf("next steps", c.next_steps),
      listOf("files", c.files_touched)))));
}

function listOf(label, items) {
  if (!Array.isArray(items) || !items.length) return null;
  return h("div", { class: "facts" }, h("span", { class: "label" }, label), h("ul", {}, items.map((t) => h("li", {}, String(t)))));
}
