// Building the page without ever parsing text as HTML: every piece of session text
// (untrusted: it came from a model, a tool or a file) becomes a text node.

/** `h("a", {href: "#/x", class: "c"}, "text", child)`: an element, children appended. */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (key === "class") {
      el.className = value;
    } else if (key === "dataset") {
      Object.assign(el.dataset, value);
    } else {
      el.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

/** Appends strings (as text), numbers and nodes; skips null and false; flattens arrays. */
export function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
  return el;
}

/** Empties `el` and puts `children` in it. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

const SVG_NS = "http://www.w3.org/2000/svg";

/** An SVG element with attributes (numbers and strings only). */
export function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null) continue;
    if (key === "class") el.setAttribute("class", value);
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

const grouping = new Intl.NumberFormat("en-US");

/** 12,345 (or "–" when there is no number). */
export function num(n) {
  return typeof n === "number" && Number.isFinite(n) ? grouping.format(n) : "–";
}

/** $0.0123 with enough digits for small sums. */
export function usd(n) {
  if (typeof n !== "number" || !Number.isFinite(n)) return "–";
  if (n === 0) return "$0";
  return n >= 1 ? `$${n.toFixed(2)}` : `$${n.toPrecision(3)}`;
}

/** "3 min ago", "2 d ago": how long before now `iso` was. */
export function ago(iso) {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return String(iso ?? "–");
  const s = Math.max(0, Math.round((Date.now() - t) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

/** A time element showing `ago`, the exact time in its title. */
export function when(iso) {
  return h("time", { datetime: iso, title: iso }, ago(iso));
}

/** The last path component of a project key (the full key in the title). */
export function projectLabel(project) {
  const text = String(project ?? "");
  const parts = text.split("/").filter(Boolean);
  return h("span", { class: "project", title: text }, parts.length ? parts[parts.length - 1] : text);
}
