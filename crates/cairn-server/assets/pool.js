// The agent pool: live instances, open topics by state, blockers, file conflicts,
// handoffs and messages. Refreshed every two seconds while the page is visible.

import { get } from "./api.js";
import { h, projectLabel, replace, when } from "./dom.js";

const REFRESH_MS = 2000;

export function mount(main) {
  const body = h("section", { id: "pool" }, h("p", { class: "muted" }, "loading…"));
  const state = h("span", { class: "live-state", id: "live-state" });
  replace(main, h("div", { class: "timeline-head" }, h("h2", {}, "Pool"), state), body);
  let timer = null;
  let stopped = false;
  let lastText = "";
  const refresh = async () => {
    timer = null;
    if (stopped) return;
    if (document.visibilityState !== "hidden") {
      try {
        const status = await get("/api/pool");
        // Redrawn only when something changed, so an open <details> stays open.
        const text = JSON.stringify({ ...status, generated_at: null, instances: (status.instances ?? []).map((i) => ({ ...i, last_seen: null })) });
        if (!stopped && text !== lastText) {
          lastText = text;
          replace(body, ...render(status));
        }
        state.textContent = "live";
      } catch (e) {
        state.textContent = `error: ${e.message}`;
      }
    }
    if (!stopped) timer = setTimeout(refresh, REFRESH_MS);
  };
  refresh();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

function section(title, id, items, row, empty) {
  return h("section", { class: "pool-part", id },
    h("h3", {}, `${title} (${items.length})`),
    items.length ? h("ul", {}, items.map((x) => h("li", {}, row(x)))) : h("p", { class: "muted" }, empty));
}

function render(s) {
  const topics = s.open_topics ?? [];
  const byState = (st) => topics.filter((t) => t.state === st);
  const topic = (t) => [
    h("strong", {}, String(t.topic)), " ", h("span", { class: `status status-${t.state}` }, String(t.state)), " ",
    h("span", {}, String(t.holder ?? "")), " ", projectLabel(t.project), " since ", when(t.since),
    t.summary ? h("div", { class: "muted" }, String(t.summary)) : null,
    t.affects?.length ? h("div", { class: "files" }, `files: ${t.affects.join(", ")}`) : null,
    t.contested_by?.length ? h("div", { class: "warning" }, `contested by ${t.contested_by.join(", ")}`) : null,
  ];
  return [
    section("Active agents", "pool-instances", s.instances ?? [], (i) => [
      h("strong", {}, String(i.instance)), i.client ? ` (${i.client})` : "", " ", projectLabel(i.project), " last seen ", when(i.last_seen)],
      "No agent heard from recently."),
    section("Blocked", "pool-blocked", byState("blocked"), topic, "Nothing blocked."),
    section("Started", "pool-started", byState("started"), topic, "No topic started."),
    section("Claimed", "pool-claimed", byState("claimed"), topic, "No topic claimed."),
    section("Blockers", "pool-blockers", s.blockers ?? [], (b) => [
      h("strong", {}, String(b.topic)), ` (${b.instance}) `, String(b.summary ?? ""), " since ", when(b.since)], "No blockers."),
    section("File conflicts", "pool-conflicts", s.conflicts ?? [], (c) => h("span", { class: "warning" }, String(c.warning ?? "")), "No file conflicts."),
    section("Handoffs", "pool-handoffs", s.handoffs ?? [], (x) => [
      h("strong", {}, String(x.topic)), ` from ${x.from} `, when(x.at), h("div", { class: "pre-wrap" }, String(x.notes ?? ""))], "No handoffs waiting."),
    section("Messages", "pool-messages", s.messages ?? [], (m) => [
      h("strong", {}, String(m.topic)), ` (${m.instance}) `, when(m.at), h("div", {}, String(m.summary ?? ""))], "No messages in the last day."),
    section("Recently completed", "pool-completed", s.recently_completed ?? [], (c) => [
      h("strong", {}, String(c.topic)), ` (${c.instance}) `, when(c.completed_at), h("div", { class: "muted" }, String(c.summary ?? ""))], "Nothing completed in the last day."),
  ];
}
