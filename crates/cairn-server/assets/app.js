// The dashboard's shell: hash routes to pages, the navigation, and the token prompt.
// Each page's `mount(main, params, query)` may return a function that stops its
// streams and timers when the page is left.

import { setToken, token, whenUnauthorized } from "./api.js";
import * as pool from "./pool.js";
import * as progress from "./progress.js";
import * as session from "./session.js";
import * as sessions from "./sessions.js";
import * as usage from "./usage.js";

const ROUTES = [
  [/^\/?$/, sessions, () => ({})],
  [/^\/sessions$/, sessions, () => ({})],
  [/^\/session\/([^/]+)$/, session, (m) => ({ name: decodeURIComponent(m[1]) })],
  [/^\/progress$/, progress, () => ({})],
  [/^\/progress\/([^/]+)$/, progress, (m) => ({ id: decodeURIComponent(m[1]) })],
  [/^\/pool$/, pool, () => ({})],
  [/^\/usage$/, usage, () => ({})],
];

const main = document.getElementById("main");
let leave = null;

function route() {
  const raw = location.hash.replace(/^#/, "");
  const [path, search = ""] = raw.split("?");
  // "#seq-12" anchors inside a session page are not routes.
  if (path.startsWith("seq-")) return;
  const query = new URLSearchParams(search);
  if (typeof leave === "function") leave();
  leave = null;
  for (const [re, page, params] of ROUTES) {
    const m = re.exec(path);
    if (m) {
      markNav(path);
      leave = page.mount(main, params(m), query);
      return;
    }
  }
  main.replaceChildren();
  main.appendChild(document.createTextNode(`No page at ${path}.`));
}

function markNav(path) {
  const section = path.split("/")[1] || "sessions";
  for (const a of document.querySelectorAll("header nav a")) {
    const current = a.dataset.section === section || (section === "session" && a.dataset.section === "sessions");
    if (current) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
}

// The token: asked once, kept in this tab's session storage.
const dialog = document.getElementById("token-dialog");
const tokenInput = document.getElementById("token-input");
let asking = null;
whenUnauthorized(() => {
  if (!asking) {
    asking = new Promise((resolve) => {
      document.getElementById("token-error").hidden = !token();
      tokenInput.value = "";
      dialog.showModal();
      dialog.addEventListener(
        "close",
        () => {
          setToken(tokenInput.value.trim());
          asking = null;
          resolve();
        },
        { once: true },
      );
    });
  }
  return asking;
});
document.getElementById("forget-token").addEventListener("click", () => {
  setToken("");
  route();
});

window.addEventListener("hashchange", route);
route();
