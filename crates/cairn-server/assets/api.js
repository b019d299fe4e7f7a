// The daemon's JSON API, with the bearer token the page asked for once (kept in this
// tab's session storage, never in the URL of a request).

const TOKEN_KEY = "cairn.token";

export function token() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

function headers(extra) {
  const out = { Accept: "application/json", ...extra };
  const t = token();
  if (t) out.Authorization = `Bearer ${t}`;
  return out;
}

/** Raised for an answer other than 2xx; `status` 401 means the token is missing or wrong. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// Called on 401 so the shell can ask for the token; resolves when a new one is set.
let onUnauthorized = async () => {};
export function whenUnauthorized(handler) {
  onUnauthorized = handler;
}

async function failure(response) {
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    message = body.error?.message || body.error || body.message || message;
  } catch {
    /* not JSON: keep the status line */
  }
  return new ApiError(response.status, String(message));
}

/** GET `path` with `params` (empty values left out) as JSON; asks for the token on 401. */
export async function get(path, params = {}, { signal } = {}) {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "") url.searchParams.set(k, String(v));
  }
  for (let attempt = 0; ; attempt++) {
    const response = await fetch(url, { headers: headers(), signal, cache: "no-store" });
    if (response.ok) return response.json();
    if (response.status === 401 && attempt < 3) {
      await onUnauthorized();
      continue;
    }
    throw await failure(response);
  }
}

/** The bytes at `path` as an object URL (for images: an <img> cannot send the token). */
export async function blobUrl(path, { signal } = {}) {
  const response = await fetch(new URL(path, location.origin), { headers: headers({ Accept: "*/*" }), signal });
  if (!response.ok) throw await failure(response);
  return URL.createObjectURL(await response.blob());
}

/**
 * Server-Sent Events from `path`, read with fetch so the token travels in a header
 * (EventSource cannot send one). Calls `onEvent({event, data, id})` for each event and
 * reconnects after a drop, resuming from `resumeParams()`. Returns a stop function.
 */
export function stream(path, resumeParams, onEvent, { onState } = {}) {
  const controller = new AbortController();
  let stopped = false;
  (async () => {
    let delay = 500;
    while (!stopped) {
      try {
        const url = new URL(path, location.origin);
        for (const [k, v] of Object.entries(resumeParams())) {
          if (v !== undefined && v !== null && v !== "") url.searchParams.set(k, String(v));
        }
        const response = await fetch(url, {
          headers: headers({ Accept: "text/event-stream" }),
          signal: controller.signal,
          cache: "no-store",
        });
        if (response.status === 401) {
          await onUnauthorized();
          continue;
        }
        if (!response.ok) throw await failure(response);
        onState?.("live");
        delay = 500;
        if ((await readEvents(response.body, onEvent)) === "end") {
          onState?.("ended");
          return;
        }
      } catch (e) {
        if (stopped) return;
        onState?.(`reconnecting (${e.message || e})`);
      }
      if (stopped) return;
      onState?.("reconnecting");
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 10_000);
    }
  })();
  return () => {
    stopped = true;
    controller.abort();
  };
}

async function readEvents(body, onEvent) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n?/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const chunk = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = { event: "message", data: "", id: null };
      const data = [];
      for (const line of chunk.split("\n")) {
        if (line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const val = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "data") data.push(val);
        else if (field === "event") event.event = val;
        else if (field === "id") event.id = val;
      }
      if (!data.length) continue;
      event.data = data.join("\n");
      // The server's last word (the session was deleted): no reconnecting.
      if (event.event === "end") return "end";
      onEvent(event);
    }
  }
}
