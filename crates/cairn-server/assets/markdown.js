// A small markdown renderer that builds DOM nodes directly: no HTML string is ever
// parsed, so a message containing <script> or <img onerror=…> shows as that text.
// Covers what models write: headings, paragraphs, fenced and inline code, emphasis,
// links (http, https and mailto only), lists, block quotes, tables and rules.
// Nesting is bounded, so hostile input cannot exhaust the stack.

import { h } from "./dom.js";

const MAX_DEPTH = 6;
const SAFE_PROTOCOLS = new Set(["http:", "https:", "mailto:"]);

/** `text` as markdown, in a fragment of safe nodes. */
export function renderMarkdown(text) {
  const out = document.createDocumentFragment();
  blocks(String(text ?? "").replace(/\r\n?/g, "\n").split("\n"), out, 0);
  return out;
}

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)/;
const HEADING = /^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
const RULE = /^ {0,3}([-*_])(\s*\1){2,}\s*$/;
const QUOTE = /^ {0,3}> ?(.*)$/;
const ITEM = /^( {0,12})([-*+]|\d{1,9}[.)])\s+(.*)$/;
const TABLE_SEP = /^\s*\|?\s*:?-{1,}:?\s*(\|\s*:?-{1,}:?\s*)*\|?\s*$/;

function startsBlock(line) {
  return FENCE.test(line) || HEADING.test(line) || RULE.test(line) || QUOTE.test(line) || ITEM.test(line);
}

function blocks(lines, parent, depth) {
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (line.trim() === "") {
      i++;
      continue;
    }
    if (depth >= MAX_DEPTH) {
      // Too deep to structure further: the rest as plain text.
      parent.appendChild(h("p", {}, lines.slice(i).join("\n")));
      return;
    }
    let m;
    if ((m = FENCE.exec(line))) {
      const fence = m[1];
      const body = [];
      i++;
      while (i < lines.length && !lines[i].trim().startsWith(fence)) body.push(lines[i++]);
      i++; // the closing fence (or the end)
      const code = h("code", {}, body.join("\n"));
      if (m[2]) code.dataset.lang = m[2];
      parent.appendChild(h("pre", {}, code));
      continue;
    }
    if ((m = HEADING.exec(line))) {
      // Headings inside a chat message are sub-headings of the page.
      const level = Math.min(6, m[1].length + 2);
      parent.appendChild(inline(h(`h${level}`), m[2], depth));
      i++;
      continue;
    }
    if (RULE.test(line)) {
      parent.appendChild(h("hr"));
      i++;
      continue;
    }
    if (QUOTE.test(line)) {
      const body = [];
      while (i < lines.length && (m = QUOTE.exec(lines[i]))) {
        body.push(m[1]);
        i++;
      }
      const quote = h("blockquote");
      blocks(body, quote, depth + 1);
      parent.appendChild(quote);
      continue;
    }
    if ((m = ITEM.exec(line))) {
      i = list(lines, i, parent, depth);
      continue;
    }
    if (line.includes("|") && i + 1 < lines.length && TABLE_SEP.test(lines[i + 1]) && lines[i + 1].includes("-")) {
      i = table(lines, i, parent, depth);
      continue;
    }
    const para = [line];
    i++;
    while (i < lines.length && lines[i].trim() !== "" && !startsBlock(lines[i])) para.push(lines[i++]);
    parent.appendChild(inline(h("p"), para.join("\n"), depth));
  }
}

/** A list starting at `lines[start]`; returns the index after it. */
function list(lines, start, parent, depth) {
  const first = ITEM.exec(lines[start]);
  const indent = first[1].length;
  const ordered = /\d/.test(first[2]);
  const el = ordered ? h("ol") : h("ul");
  if (ordered) {
    const n = parseInt(first[2], 10);
    if (n !== 1) el.setAttribute("start", String(n));
  }
  let i = start;
  while (i < lines.length) {
    const m = ITEM.exec(lines[i]);
    if (!m || m[1].length !== indent || /\d/.test(m[2]) !== ordered) break;
    const body = [m[3]];
    i++;
    // Continuation: indented deeper than the marker, or a lazy paragraph line.
    while (i < lines.length) {
      const next = lines[i];
      const sub = ITEM.exec(next);
      if (sub && sub[1].length <= indent) break;
      if (next.trim() === "") {
        if (i + 1 < lines.length && /^\s+/.test(lines[i + 1]) && lines[i + 1].search(/\S/) > indent) {
          body.push("");
          i++;
          continue;
        }
        break;
      }
      if (!sub && next.search(/\S/) <= indent && startsBlock(next)) break;
      body.push(next.slice(Math.min(next.search(/\S/), indent + 2)));
      i++;
    }
    const item = h("li");
    if (body.length === 1) inline(item, body[0], depth + 1);
    else blocks(body, item, depth + 1);
    el.appendChild(item);
  }
  parent.appendChild(el);
  return i;
}

function cells(row) {
  let text = row.trim();
  if (text.startsWith("|")) text = text.slice(1);
  if (text.endsWith("|") && !text.endsWith("\\|")) text = text.slice(0, -1);
  return text.split(/(?<!\\)\|/).map((c) => c.trim().replace(/\\\|/g, "|"));
}

/** A table whose header is `lines[start]`; returns the index after it. */
function table(lines, start, parent, depth) {
  const head = h("tr");
  for (const c of cells(lines[start])) head.appendChild(inline(h("th"), c, depth));
  const body = h("tbody");
  let i = start + 2;
  while (i < lines.length && lines[i].includes("|") && lines[i].trim() !== "") {
    const tr = h("tr");
    for (const c of cells(lines[i])) tr.appendChild(inline(h("td"), c, depth));
    body.appendChild(tr);
    i++;
  }
  parent.appendChild(h("div", { class: "table-wrap" }, h("table", {}, h("thead", {}, head), body)));
  return i;
}

// Inline spans, earliest match first. Each pattern's first group is the content.
const INLINE = [
  { re: /(`+)([\s\S]*?[^`])\1(?!`)/, make: (m) => h("code", {}, m[2].replace(/^ (.*) $/s, "$1")) },
  { re: /\[([^\]\n]{1,1000})\]\(\s*<?([^()\s<>]{1,2000})>?(?:\s+"[^"]*")?\s*\)/, make: link },
  { re: /<(https?:\/\/[^\s<>]{1,2000})>/, make: (m) => link([m[0], m[1], m[1]], true) },
  { re: /\bhttps?:\/\/[^\s<>()\]]*[^\s<>()\].,;:!?'"]/, make: (m) => link([m[0], m[0], m[0]], true) },
  { re: /(\*\*|__)(?=\S)([\s\S]*?\S)\1/, make: (m, d) => inline(h("strong"), m[2], d + 1) },
  { re: /~~(?=\S)([\s\S]*?\S)~~/, make: (m, d) => inline(h("del"), m[1], d + 1) },
  { re: /(?<![\w*])\*(?=[^\s*])([^*]*?[^\s*])\*(?![\w*])/, make: (m, d) => inline(h("em"), m[1], d + 1) },
  { re: /(?<![\w_])_(?=[^\s_])([^_]*?[^\s_])_(?![\w_])/, make: (m, d) => inline(h("em"), m[1], d + 1) },
  { re: /\\([\\`*_{}[\]()#+\-.!|~<>])/, make: (m) => document.createTextNode(m[1]) },
  { re: / {2,}\n|\\\n/, make: () => h("br") },
];

/** Fills `el` with the inline content of `text`; returns `el`. Each rule's next match
 *  is remembered until the scan passes it, so a long text is scanned about once per
 *  rule, not once per span. */
function inline(el, text, depth) {
  if (depth >= MAX_DEPTH) {
    el.appendChild(document.createTextNode(text));
    return el;
  }
  const rules = INLINE.map((rule) => ({ rule, re: new RegExp(rule.re.source, "g"), next: undefined }));
  let pos = 0;
  while (pos < text.length) {
    let best = null;
    for (const r of rules) {
      if (r.next === undefined || (r.next !== null && r.next.index < pos)) {
        r.re.lastIndex = pos;
        r.next = r.re.exec(text);
      }
      if (r.next && (best === null || r.next.index < best.next.index)) best = r;
    }
    if (!best) break;
    const m = best.next;
    if (m.index > pos) el.appendChild(document.createTextNode(text.slice(pos, m.index)));
    el.appendChild(best.rule.make(m, depth));
    pos = m.index + Math.max(1, m[0].length);
  }
  if (pos < text.length) el.appendChild(document.createTextNode(text.slice(pos)));
  return el;
}

/** A link when the target is http(s) or mailto; otherwise the text as written. */
function link(m, bare) {
  const [whole, label, target] = m;
  let url;
  try {
    url = new URL(target, "http://invalid.invalid/");
  } catch {
    return document.createTextNode(whole);
  }
  if (!SAFE_PROTOCOLS.has(url.protocol) || url.host === "invalid.invalid") {
    return document.createTextNode(whole);
  }
  return h("a", { href: url.href, target: "_blank", rel: "noopener noreferrer nofollow" }, bare ? label : label);
}
