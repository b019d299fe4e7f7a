// One session: totals, the tokens/cost chart, the timeline (live over SSE) and a box
// that runs a turn through /acp with the answer streaming in.

import { runTurn } from "./acp.js";
import { get, stream } from "./api.js";
import { requestChart } from "./chart.js";
import { h, num, projectLabel, replace, usd, when } from "./dom.js";
import { Timeline } from "./timeline.js";

const PAGE = 500;
/** Events shown at first, and added by each "earlier" click. */
const WINDOW = 1000;

export function mount(main, { name }) {
  const stops = [];
  let disposed = false;
  const header = h("section", { class: "session-head" }, h("h2", {}, name));
  const chartBox = h("section", { class: "chart-box" });
  const events = h("section", { class: "timeline", id: "timeline", "aria-live": "polite" });
  const state = h("span", { class: "live-state", id: "live-state" }, "loading…");
  const composer = composerBox(name);
  replace(main, header, chartBox, h("div", { class: "timeline-head" }, h("h3", {}, "Timeline"), state), events, composer.el);
  const timeline = new Timeline(events);

  let chartTimer = null;
  const redrawChart = () => {
    if (chartTimer) return;
    chartTimer = setTimeout(() => {
      chartTimer = null;
      replace(chartBox, requestChart(timeline.requests));
    }, 100);
  };

  (async () => {
    let session;
    try {
      session = await get(`/api/sessions/${encodeURIComponent(name)}`);
    } catch (e) {
      replace(header, h("h2", {}, name), h("p", { class: "error-text" }, e.message));
      state.textContent = "";
      return;
    }
    if (disposed) return;
    replace(header, ...headOf(session));
    composer.setProject(String(session.project ?? ""));
    // The latest events (a long history stays in the store until asked for), page by
    // page, then the stream from the last seq shown.
    const head = Number(session.head_seq) || 0;
    let first = Math.max(0, head - WINDOW);
    timeline.lastSeq = first;
    if (first > 0) events.before(earlierButton());
    for (;;) {
      const page = await get(`/api/sessions/${encodeURIComponent(name)}/events`, { after: timeline.lastSeq, limit: PAGE });
      if (disposed) return;
      const list = page.events ?? [];
      for (const ev of list) timeline.add(ev);
      if (!page.next_after || !list.length) break;
    }
    redrawChart();

    function earlierButton() {
      const button = h("button", { type: "button", id: "earlier", class: "more" }, `show the ${num(first)} earlier events`);
      button.addEventListener("click", async () => {
        button.disabled = true;
        const from = Math.max(0, first - WINDOW);
        const older = new Timeline(h("div"));
        older.lastSeq = from;
        while (older.lastSeq < first) {
          const page = await get(`/api/sessions/${encodeURIComponent(name)}/events`, { after: older.lastSeq, limit: Math.min(PAGE, first - older.lastSeq) });
          const list = (page.events ?? []).filter((ev) => ev.seq <= first);
          for (const ev of list) older.add(ev);
          if (!list.length) break;
        }
        events.prepend(...older.el.childNodes);
        timeline.requests.unshift(...older.requests);
        timeline.images.push(...older.images);
        redrawChart();
        first = from;
        if (first > 0) button.replaceWith(earlierButton());
        else button.remove();
      });
      return button;
    }
    if (location.hash.includes("seq=")) {
      const seq = new URLSearchParams(location.hash.split("?")[1]).get("seq");
      document.getElementById(`seq-${seq}`)?.scrollIntoView({ block: "center" });
    }
    stops.push(
      stream(
        `/api/sessions/${encodeURIComponent(name)}/stream`,
        () => ({ after: timeline.lastSeq }),
        ({ data }) => {
          let ev;
          try {
            ev = JSON.parse(data);
          } catch {
            return;
          }
          if (!ev || typeof ev !== "object" || ev.seq === undefined) return;
          const row = timeline.add(ev);
          if (row) {
            row.classList.add("new");
            composer.stored(ev);
            redrawChart();
            refreshTotals();
          }
        },
        { onState: (s) => (state.textContent = s) },
      ),
    );
  })().catch((e) => {
    state.textContent = `error: ${e.message}`;
  });

  let totalsTimer = null;
  function refreshTotals() {
    clearTimeout(totalsTimer);
    totalsTimer = setTimeout(async () => {
      try {
        const s = await get(`/api/sessions/${encodeURIComponent(name)}`);
        if (!disposed) replace(header, ...headOf(s));
      } catch {
        /* the totals stay as they were */
      }
    }, 300);
  }

  return () => {
    disposed = true;
    clearTimeout(totalsTimer);
    clearTimeout(chartTimer);
    stops.forEach((stop) => stop());
    composer.dispose();
    timeline.dispose();
  };
}

function headOf(s) {
  const u = s.usage ?? {};
  const total = s.total_tokens ?? Object.values(u).reduce((a, b) => a + (Number(b) || 0), 0);
  const parent = s.parent_name
    ? h("a", { href: `#/session/${encodeURIComponent(s.parent_name)}` }, s.parent_name)
    : s.parent_id
      ? `${s.parent_id} (deleted)`
      : null;
  const fact = (label, value) => h("div", { class: "fact" }, h("dt", {}, label), h("dd", {}, value));
  return [
    h("h2", {}, String(s.name ?? ""), s.title ? h("span", { class: "title" }, ` — ${s.title}`) : null),
    h("dl", { class: "totals", id: "totals" },
      fact("project", projectLabel(s.project)),
      fact("model", String(s.model ?? "–")),
      fact("status", h("span", { class: `status status-${s.status}` }, String(s.status ?? "–"))),
      fact("last active", when(s.updated_at)),
      parent ? fact("parent", parent) : null,
      fact("messages", num(s.message_count)),
      fact("tool calls", num(s.tool_call_count)),
      fact("compactions", num(s.compaction_count)),
      fact("live context", `${num(s.live_tokens)} tokens`),
      fact("tokens", num(total)),
      fact("in / out", `${num(u.input_tokens)} / ${num(u.output_tokens)}`),
      fact("cache read / write", `${num(u.cache_read_tokens)} / ${num(u.cache_write_tokens)}`),
      fact("cost", usd(s.cost_usd)),
      fact("events", num(s.head_seq)),
    ),
  ];
}

/** The send box: a turn over /acp, the answer streaming into a bubble that gives way
 *  to the stored message when it arrives on the session's stream. */
function composerBox(name) {
  let project = "";
  let turn = null;
  let bubble = null;
  let answerStored = false; // an assistant message of this turn reached the timeline
  const input = h("textarea", { id: "message", rows: 3, placeholder: "Send a message to this session (Ctrl+Enter)", required: true });
  const send = h("button", { type: "submit", id: "send" }, "Send");
  const stop = h("button", { type: "button", id: "stop", disabled: true }, "Stop");
  const status = h("span", { class: "turn-state", id: "turn-state" });
  const live = h("div", { class: "streaming", id: "streaming" });
  const form = h("form", { class: "composer", id: "composer" }, live, input, h("div", { class: "buttons" }, send, stop, status));

  const clearLive = () => {
    live.replaceChildren();
    bubble = null;
  };

  const permission = (params) =>
    new Promise((resolve) => {
      const call = params.toolCall ?? {};
      const box = h("div", { class: "permission" }, h("p", {}, `Allow ${call.title ?? call.kind ?? "this tool call"}?`));
      for (const option of params.options ?? []) {
        box.appendChild(h("button", {
          type: "button",
          onclick: () => {
            box.remove();
            resolve(option.optionId);
          },
        }, String(option.name ?? option.optionId)));
      }
      live.appendChild(box);
    });

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!text || turn) return;
    input.value = "";
    const answer = h("div", { class: "md answer" });
    const thought = h("pre", { class: "thought" });
    bubble = h("div", { class: "event message role-assistant pending", id: "pending-answer" },
      h("div", { class: "event-head" }, h("span", { class: "label" }, "assistant · streaming")), thought, answer);
    replace(live, h("div", { class: "event message role-user pending" }, h("div", { class: "event-head" }, h("span", { class: "label" }, "user · sending")), h("p", {}, text)), bubble);
    let answerText = "";
    answerStored = false;
    send.disabled = true;
    stop.disabled = false;
    status.textContent = "running…";
    turn = runTurn(name, project, text, {
      update: (u) => {
        const kind = u.sessionUpdate;
        const chunk = u.content?.type === "text" ? String(u.content.text ?? "") : "";
        if (kind === "agent_message_chunk") {
          answerText += chunk;
          answer.textContent = answerText;
        } else if (kind === "agent_thought_chunk") {
          thought.textContent += chunk;
        } else if (kind === "tool_call") {
          answer.appendChild(h("div", { class: "tool-name" }, `tool: ${u.title ?? u.kind ?? ""}`));
        }
      },
      permission,
    });
    turn.done
      .then((reason) => {
        status.textContent = reason === "end_turn" ? "done" : `stopped: ${reason}`;
      })
      .catch((err) => {
        status.textContent = `failed: ${err.message}`;
        live.appendChild(h("p", { class: "error-text" }, err.message));
      })
      .finally(() => {
        turn = null;
        if (answerStored) clearLive();
        send.disabled = false;
        stop.disabled = true;
      });
  });
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) form.requestSubmit();
  });
  stop.addEventListener("click", () => {
    turn?.stop();
    status.textContent = "stopping…";
  });

  return {
    el: form,
    setProject(p) {
      project = p;
    },
    /** A stored event arrived: the streamed bubbles give way to the stored messages. */
    stored(ev) {
      if (ev.kind !== "message" || ev.role !== "assistant" || !bubble) return;
      answerStored = true;
      if (!turn) clearLive();
    },
    dispose() {
      turn?.stop();
    },
  };
}
