// A session's events as a timeline: messages rendered as markdown, tool calls
// collapsible with their results beside them, compaction boundaries with the summary
// that replaced them, knowledge items, images, links to sub-agent sessions.
// Every piece of session text goes through text nodes or the safe markdown renderer.

import { blobUrl } from "./api.js";
import { h, num, usd, when } from "./dom.js";
import { renderMarkdown } from "./markdown.js";

/** Text longer than this is shown as plain text until asked for (markdown of a huge
 *  tool dump helps nobody and costs time). */
const MARKDOWN_LIMIT = 100_000;
const RESULT_PREVIEW = 20_000;

function sessionLink(name) {
  return h("a", { href: `#/session/${encodeURIComponent(name)}`, class: "session-link" }, name);
}

/** A link to event `seq` on this page that scrolls to it (the hash holds the route). */
function seqLink(seq, text, cls) {
  return h("a", {
    href: `#seq-${seq}`,
    class: cls,
    title: `event ${seq}`,
    onclick: (e) => {
      e.preventDefault();
      document.getElementById(`seq-${seq}`)?.scrollIntoView({ block: "center" });
    },
  }, text);
}

function tokensOf(usage) {
  if (!usage) return 0;
  return ["input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "reasoning_tokens"]
    .map((k) => Number(usage[k]) || 0)
    .reduce((a, b) => a + b, 0);
}

function markdownOrPlain(text) {
  if (text.length <= MARKDOWN_LIMIT) return h("div", { class: "md" }, renderMarkdown(text));
  const box = h("div", { class: "md" }, h("pre", { class: "plain" }, text.slice(0, MARKDOWN_LIMIT)));
  box.appendChild(
    h("button", {
      type: "button",
      class: "more",
      onclick: (e) => {
        e.target.replaceWith(h("pre", { class: "plain" }, text.slice(MARKDOWN_LIMIT)));
      },
    }, `show the remaining ${num(text.length - MARKDOWN_LIMIT)} characters`),
  );
  return box;
}

function preview(text) {
  if (text.length <= RESULT_PREVIEW) return h("pre", { class: "result-text" }, text);
  const pre = h("pre", { class: "result-text" }, text.slice(0, RESULT_PREVIEW));
  return h("div", {}, pre, h("button", {
    type: "button",
    class: "more",
    onclick: (e) => {
      pre.textContent = text;
      e.target.remove();
    },
  }, `show all ${num(text.length)} characters`));
}

function jsonText(value) {
  try {
    return JSON.stringify(value, null, 2);
  } catch {
    return String(value);
  }
}

export class Timeline {
  constructor(container) {
    this.el = container;
    this.lastSeq = 0;
    this.toolSlots = new Map(); // tool_use id → the result slot in its <details>
    this.requests = []; // [{seq, ts, model, tokens, cost}] for the chart
    this.images = []; // object URLs to revoke
  }

  /** Appends `event` unless it was already shown (a stream may repeat the last one). */
  add(event) {
    const seq = Number(event.seq);
    if (!Number.isFinite(seq) || seq <= this.lastSeq) return null;
    this.lastSeq = seq;
    const row = this.render(event);
    row.id = `seq-${seq}`;
    row.dataset.seq = String(seq);
    this.el.appendChild(row);
    return row;
  }

  dispose() {
    for (const url of this.images) URL.revokeObjectURL(url);
  }

  noteRequest(event, record) {
    if (!record.usage && record.cost_usd === undefined) return;
    this.requests.push({
      seq: event.seq,
      ts: event.ts,
      model: record.model,
      tokens: tokensOf(record.usage),
      cost: Number(record.cost_usd) || 0,
    });
  }

  render(event) {
    switch (event.kind) {
      case "message":
        return this.message(event);
      case "compaction":
        return this.compaction(event);
      case "knowledge":
        return h("div", { class: "event knowledge" },
          this.head(event, `knowledge · ${event.knowledge_kind ?? ""}${event.pinned ? " · pinned" : ""}`),
          h("p", {}, String(event.text ?? "")));
      case "command":
        return h("div", { class: "event command" }, this.head(event, "command"),
          h("code", {}, [event.name, ...(Array.isArray(event.args) ? event.args : [])].join(" ")));
      case "error":
        return h("div", { class: "event error" }, this.head(event, `error · ${event.error_kind ?? ""}${event.status ? ` · ${event.status}` : ""}`),
          h("p", {}, String(event.message ?? "")));
      case "hint":
        return h("div", { class: "event note" }, this.head(event, "hint"),
          `live context ${num(event.live_tokens)} tokens passed ${num(event.threshold)}`);
      case "compression":
        this.noteRequest(event, event);
        return h("div", { class: "event note" }, this.head(event, `compression · ${event.outcome ?? ""}`),
          String(event.reason ?? ""));
      default:
        return h("div", { class: "event note" }, this.head(event, String(event.kind ?? "event")),
          h("details", {}, h("summary", {}, "fields"), h("pre", {}, jsonText(event))));
    }
  }

  head(event, label) {
    return h("div", { class: "event-head" },
      h("span", { class: "label" }, label),
      seqLink(event.seq, `#${event.seq}`, "seq"),
      when(event.ts));
  }

  message(event) {
    const role = String(event.role ?? "?");
    const row = h("div", { class: `event message role-${role}${event.interrupted ? " interrupted" : ""}` });
    const meta = [];
    if (event.model) meta.push(event.model);
    if (event.usage) meta.push(`${num(tokensOf(event.usage))} tokens`);
    if (event.cost_usd !== undefined) meta.push(usd(Number(event.cost_usd)));
    if (event.interrupted) meta.push("interrupted");
    if (event.command) meta.push(`/run ${event.command}`);
    row.appendChild(this.head(event, [role, ...meta].join(" · ")));
    if (role === "assistant") this.noteRequest(event, event);
    const folded = [];
    for (const block of Array.isArray(event.content) ? event.content : []) {
      const el = this.block(block, event, folded);
      if (el) row.appendChild(el);
    }
    if (folded.length) {
      row.classList.add("folded");
      row.appendChild(h("p", { class: "note" }, "results shown with their calls: ",
        folded.map((f, i) => [i ? ", " : "", seqLink(f.seq, `${f.name} (#${f.seq})`)])));
    }
    if (event.subagent?.session) {
      const s = event.subagent;
      row.appendChild(h("p", { class: "subagent" }, "sub-agent session ", sessionLink(String(s.session)),
        ` · ${s.model ?? ""} · ${num(Number(s.requests))} requests · ${num(tokensOf(s.usage))} tokens · ${usd(Number(s.cost_usd))}`));
    }
    return row;
  }

  block(block, event, folded) {
    switch (block?.type) {
      case "text":
        return markdownOrPlain(String(block.text ?? ""));
      case "thinking":
        return h("details", { class: "thinking" }, h("summary", {}, "thinking"), h("pre", {}, String(block.text ?? "")));
      case "tool_use": {
        const slot = h("div", { class: "tool-result pending" }, "no result yet");
        slot.dataset.call = JSON.stringify({ seq: event.seq, name: String(block.name ?? "tool") });
        const details = h("details", { class: "tool-call" },
          h("summary", {}, h("span", { class: "tool-name" }, String(block.name ?? "tool")), " ", h("span", { class: "tool-brief" }, brief(block.input))),
          h("pre", { class: "tool-input" }, jsonText(block.input)),
          slot);
        this.toolSlots.set(String(block.id), slot);
        return details;
      }
      case "tool_result": {
        const content = this.resultContent(block);
        const slot = this.toolSlots.get(String(block.tool_use_id));
        if (slot) {
          folded.push(JSON.parse(slot.dataset.call));
          slot.className = `tool-result${block.is_error ? " failed" : ""}`;
          slot.replaceChildren(h("div", { class: "label" }, `result #${event.seq}${block.is_error ? " · error" : ""}${event.interrupted ? " · interrupted" : ""}`), content);
          return null;
        }
        return h("details", { class: "tool-call orphan" },
          h("summary", {}, `tool result${block.is_error ? " (error)" : ""}`), content);
      }
      case "image":
        return this.image(block);
      case "video":
        return h("p", { class: "note" }, `video (${block.mime ?? "?"}, ${String(block.sha256 ?? "").slice(0, 12)}…)`);
      default:
        return h("details", { class: "note" }, h("summary", {}, `${block?.type ?? "unknown"} block`), h("pre", {}, jsonText(block)));
    }
  }

  resultContent(block) {
    const c = block.content;
    if (typeof c === "string") return preview(c);
    const box = h("div");
    for (const inner of Array.isArray(c) ? c : []) {
      if (inner?.type === "text") box.appendChild(preview(String(inner.text ?? "")));
      else if (inner?.type === "image") box.appendChild(this.image(inner));
      else box.appendChild(h("pre", {}, jsonText(inner)));
    }
    return box;
  }

  image(block) {
    const sha = String(block.sha256 ?? "");
    const figure = h("figure", { class: "image" }, h("figcaption", {}, `${block.mime ?? "image"} · ${sha.slice(0, 12)}`));
    if (!/^[0-9a-f]{64}$/.test(sha)) return figure;
    blobUrl(`/api/attachments/${sha}`)
      .then((url) => {
        this.images.push(url);
        figure.prepend(h("img", { src: url, alt: `image ${sha.slice(0, 12)}`, loading: "lazy" }));
      })
      .catch((e) => figure.appendChild(h("span", { class: "error-text" }, ` (not shown: ${e.message})`)));
    return figure;
  }

  compaction(event) {
    this.noteRequest(event, event);
    const [first, last] = Array.isArray(event.replaces) ? event.replaces : ["?", "?"];
    const row = h("div", { class: "event compaction" },
      this.head(event, `compaction of #${first}–#${last}${event.method ? ` · ${event.method}` : ""}`),
      h("p", { class: "boundary" }, `live context ${num(Number(event.tokens_before))} → ${num(Number(event.tokens_after))} tokens${event.focus ? ` · focus: ${event.focus}` : ""}`));
    const summary = h("details", { class: "summary", open: true }, h("summary", {}, "summary that replaced them"), markdownOrPlain(String(event.summary ?? "")));
    row.appendChild(summary);
    const knowledge = Array.isArray(event.knowledge) ? event.knowledge : [];
    if (knowledge.length) {
      row.appendChild(h("ul", { class: "knowledge-list" },
        knowledge.map((k) => h("li", {}, h("span", { class: "label" }, String(k.kind ?? "")), " ", String(k.text ?? "")))));
    }
    return row;
  }
}

/** One line about a tool call's input: its command, path or first field. */
function brief(input) {
  if (!input || typeof input !== "object") return "";
  const v = input.command ?? input.path ?? input.file_path ?? input.pattern ?? input.query ?? Object.values(input)[0];
  const text = typeof v === "string" ? v : JSON.stringify(v ?? "");
  return text.length > 120 ? `${text.slice(0, 120)}…` : text;
}
