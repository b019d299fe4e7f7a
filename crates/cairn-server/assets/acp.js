// A minimal Agent Client Protocol client over the daemon's /acp WebSocket (one
// JSON-RPC message per text frame): enough to run one turn of an existing session
// from the page — initialize, resume (or load) the session, prompt, cancel — and to
// answer the agent's permission requests.

import { token } from "./api.js";

const PROTOCOL_VERSION = 1;

/** The /acp URL of this daemon; the token rides as a query parameter (a browser
 *  WebSocket cannot send an Authorization header). */
function acpUrl() {
  const url = new URL("/acp", location.origin);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  const t = token();
  if (t) url.searchParams.set("token", t);
  return url.href;
}

export class AcpConnection {
  /**
   * `handlers.update(update)` gets each `session/update`; `handlers.permission(params)`
   * returns a promise of the chosen optionId (or null to cancel).
   */
  constructor(handlers) {
    this.handlers = handlers;
    this.nextId = 1;
    this.pending = new Map();
    this.closed = null;
  }

  open() {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(acpUrl());
      this.ws = ws;
      ws.onopen = () => resolve(this);
      ws.onerror = () => reject(new Error("cannot connect to /acp"));
      ws.onclose = (e) => {
        const why = new Error(`connection closed${e.reason ? `: ${e.reason}` : ""}`);
        this.closed = why;
        for (const { reject: fail } of this.pending.values()) fail(why);
        this.pending.clear();
        reject(why);
      };
      ws.onmessage = (e) => this.receive(e.data);
    });
  }

  receive(text) {
    let msg;
    try {
      msg = JSON.parse(text);
    } catch {
      return;
    }
    if (msg.method && msg.id !== undefined) {
      this.answerRequest(msg);
    } else if (msg.method) {
      if (msg.method === "session/update") this.handlers.update?.(msg.params?.update ?? {});
    } else if (msg.id !== undefined && this.pending.has(msg.id)) {
      const { resolve, reject } = this.pending.get(msg.id);
      this.pending.delete(msg.id);
      if (msg.error) reject(new Error(msg.error.message || JSON.stringify(msg.error)));
      else resolve(msg.result);
    }
  }

  async answerRequest(msg) {
    if (msg.method === "session/request_permission") {
      let optionId = null;
      try {
        optionId = await this.handlers.permission?.(msg.params ?? {});
      } catch {
        optionId = null;
      }
      const outcome = optionId ? { outcome: "selected", optionId } : { outcome: "cancelled" };
      this.send({ jsonrpc: "2.0", id: msg.id, result: { outcome } });
    } else {
      this.send({ jsonrpc: "2.0", id: msg.id, error: { code: -32601, message: `the page does not offer ${msg.method}` } });
    }
  }

  send(msg) {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  request(method, params) {
    if (this.closed) return Promise.reject(this.closed);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.send({ jsonrpc: "2.0", id, method, params });
    });
  }

  notify(method, params) {
    this.send({ jsonrpc: "2.0", method, params });
  }

  close() {
    this.ws?.close(1000);
  }
}

/**
 * Runs one turn of session `name` (of project `cwd`): opens a connection, resumes the
 * session (no replay; load when the agent cannot resume), prompts, and closes, so the
 * session's lease is held only while the turn runs. Returns `{stop, done}`: `stop()`
 * cancels the turn, `done` resolves to the stop reason.
 */
export function runTurn(name, cwd, text, handlers) {
  const conn = new AcpConnection(handlers);
  let cancelled = false;
  const done = (async () => {
    await conn.open();
    try {
      const init = await conn.request("initialize", {
        protocolVersion: PROTOCOL_VERSION,
        clientCapabilities: { fs: { readTextFile: false, writeTextFile: false }, terminal: false },
        clientInfo: { name: "cairn-dashboard", version: "1" },
      });
      const canResume = Boolean(init?.agentCapabilities?.sessionCapabilities?.resume);
      const params = { sessionId: name, cwd, mcpServers: [] };
      if (canResume) await conn.request("session/resume", params);
      else {
        // Replay arrives as updates before the answer: not shown, the timeline has it.
        const show = conn.handlers.update;
        conn.handlers.update = () => {};
        await conn.request("session/load", params);
        conn.handlers.update = show;
      }
      if (cancelled) return "cancelled";
      const result = await conn.request("session/prompt", {
        sessionId: name,
        prompt: [{ type: "text", text }],
      });
      return result?.stopReason ?? "end_turn";
    } finally {
      conn.close();
    }
  })();
  return {
    done,
    stop() {
      cancelled = true;
      conn.notify("session/cancel", { sessionId: name });
    },
  };
}
