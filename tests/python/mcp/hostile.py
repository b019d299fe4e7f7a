"""Hostile input against `cairn mcp`, over stdio (raw JSON-RPC lines, so that
malformed messages and stdout purity can be checked) and over HTTP (raw
requests: tokens, Origin, Host, malformed and oversize bodies).

Every refusal must name the field or the rule (bad tool arguments as a tool
result with isError, protocol errors as JSON-RPC/HTTP errors), the server must
keep serving, and nothing may be written.

    python hostile.py --binary BIN --home DIR --project DIR --transport stdio|http
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from typing import Any

import httpx2
from harness import check, common_args, finish, run_cli, server_env, start_http_server

SUMMARY_LIMIT = 64 * 1024
ITEM_LIMIT = 4 * 1024
BODY_LIMIT = 4 * 1024 * 1024


def save_args(**overrides: Any) -> dict[str, Any]:
    args: dict[str, Any] = {"session_id": "hostile", "summary": "fine"}
    args.update(overrides)
    return args


# Tool calls that must be refused, with what the error must mention.
REFUSED_CALLS: list[tuple[str, str, dict[str, Any], list[str]]] = [
    ("summary over 64 KiB", "save_progress", save_args(summary="s" * (SUMMARY_LIMIT + 1)), ["summary", "64 KiB"]),
    ("list item over 4 KiB", "save_progress", save_args(files_touched=["f" * (ITEM_LIMIT + 1)]), ["files_touched", "4 KiB"]),
    ("list over 1000 items", "save_progress", save_args(next_steps=[f"step {i}" for i in range(1001)]), ["next_steps", "1000"]),
    ("separated list over 1000 items", "save_progress", save_args(decisions_made=",".join(f"d{i}" for i in range(1001))), ["decisions_made", "1000"]),
    ("summary of the wrong type", "save_progress", save_args(summary=42), ["summary", "string"]),
    ("list of the wrong type", "save_progress", save_args(files_touched={"a": 1}), ["files_touched"]),
    ("list item of the wrong type", "save_progress", save_args(next_steps=["ok", 7]), ["next_steps", "item 2"]),
    ("missing session_id", "save_progress", {"summary": "no id"}, ["session_id", "missing"]),
    ("empty session_id", "save_progress", save_args(session_id="  "), ["session_id", "empty"]),
    ("multi-line session_id", "save_progress", save_args(session_id="a\nb"), ["session_id"]),
    ("unknown pool action", "pool_signal", {"action": "done", "topic": "t", "summary": "s"}, ["claimed", "handoff", "signaling"]),
    ("pool summary over 64 KiB", "pool_signal", {"action": "claimed", "topic": "t", "summary": "s" * (SUMMARY_LIMIT + 1)}, ["summary", "64 KiB"]),
    ("affects over 1000 items", "pool_signal", {"action": "claimed", "topic": "t", "summary": "s", "affects": [f"f{i}" for i in range(1001)]}, ["affects", "1000"]),
    ("missing topic", "pool_signal", {"action": "claimed", "summary": "s"}, ["topic"]),
    ("latest of the wrong type", "get_progress", {"session_id": "x", "latest": 3}, ["latest", "boolean"]),
    ("limit out of range", "list_sessions", {"limit": 0}, ["limit"]),
    ("project that does not exist", "save_progress", save_args(project="/definitely/not/here"), ["project"]),
]

# Protocol-level refusals stay JSON-RPC errors (code -32602).
PROTOCOL_REFUSALS: list[tuple[str, str, dict[str, Any], list[str]]] = [
    ("unknown tool", "drop_database", {}, ["drop_database", "save_progress"]),
]


class StdioPeer:
    """A `cairn mcp` process spoken to in raw JSON-RPC lines."""

    def __init__(self, args) -> None:
        self.process = subprocess.Popen(
            [args.binary, "mcp"],
            cwd=args.project,
            env=server_env(args),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.stdout_lines: list[bytes] = []
        self.responses: dict[Any, dict[str, Any]] = {}
        self.lock = threading.Condition()
        threading.Thread(target=self._pump, daemon=True).start()
        threading.Thread(target=self._drain_stderr, daemon=True).start()
        self.next_id = 0

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self.lock:
                self.stdout_lines.append(line)
                try:
                    message = json.loads(line)
                except ValueError:
                    message = None
                if isinstance(message, dict) and "id" in message:
                    self.responses[message["id"]] = message
                self.lock.notify_all()

    def _drain_stderr(self) -> None:
        assert self.process.stderr is not None
        for _ in self.process.stderr:
            pass

    def send_raw(self, data: bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(data)
        self.process.stdin.flush()

    def request(self, method: str, params: dict[str, Any] | None = None, *, raw_body: bytes | None = None) -> dict[str, Any]:
        self.next_id += 1
        request_id = self.next_id
        if raw_body is None:
            message: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
            if params is not None:
                message["params"] = params
            raw_body = json.dumps(message).encode()
        self.send_raw(raw_body + b"\n")
        return self.wait_for(request_id)

    def wait_for(self, request_id: Any, timeout: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self.lock:
            while request_id not in self.responses:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no response to request {request_id}")
                self.lock.wait(remaining)
            return self.responses.pop(request_id)

    def notify(self, method: str) -> None:
        self.send_raw(json.dumps({"jsonrpc": "2.0", "method": method}).encode() + b"\n")

    def close(self) -> int:
        assert self.process.stdin is not None
        self.process.stdin.close()
        return self.process.wait(timeout=30)


def initialize_params() -> dict[str, Any]:
    return {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "hostile", "version": "1"},
    }


def check_tool_refusal(name: str, response: dict[str, Any], words: list[str]) -> None:
    """Bad arguments: a tool result with isError true (MCP 2025-11-25) whose text
    names the argument and the rule, so that the model can correct itself."""
    result = response.get("result")
    check(f"{name}: tool result with isError", isinstance(result, dict) and result.get("isError") is True, response)
    text = " ".join(c.get("text", "") for c in result.get("content", []))
    check(f"{name}: names {words}", all(w in text for w in words), result)


def check_refusal(name: str, response: dict[str, Any], words: list[str], code: int = -32602) -> None:
    error = response.get("error")
    check(f"{name}: JSON-RPC error", isinstance(error, dict) and "result" not in response, response)
    check(f"{name}: code {code}", error["code"] == code, error)
    text = error["message"] + json.dumps(error.get("data"))
    check(f"{name}: names {words}", all(w in text for w in words), error)


def stdio_hostile(args) -> None:
    peer = StdioPeer(args)
    init = peer.request("initialize", initialize_params())
    check("stdio: initialize answered", "result" in init, init)
    peer.notify("notifications/initialized")

    for name, tool, arguments, words in REFUSED_CALLS:
        response = peer.request("tools/call", {"name": tool, "arguments": arguments})
        check_tool_refusal(f"stdio {name}", response, words)
    for name, tool, arguments, words in PROTOCOL_REFUSALS:
        response = peer.request("tools/call", {"name": tool, "arguments": arguments})
        check_refusal(f"stdio {name}", response, words)

    # Arguments that are not an object at all: a malformed request, answered with its id.
    response = peer.request("tools/call", {"name": "save_progress", "arguments": "not an object"})
    check("stdio: non-object arguments refused", response.get("error", {}).get("code") == -32602, response)

    # Malformed JSON-RPC: a line that is not JSON gets a parse error (id null, code
    # -32700) and is otherwise ignored; JSON that is not a JSON-RPC message is an
    # Invalid Request; both leave the server up.
    peer.send_raw(b'{"jsonrpc":"2.0","id":999,"method":\n')
    peer.send_raw(b"this is not json\n")
    peer.send_raw(json.dumps({"jsonrpc": "2.0", "id": 1000, "bogus": True}).encode() + b"\n")
    response = peer.request("ping")
    check("stdio: alive after malformed lines", response.get("result") == {}, response)
    response = peer.wait_for(1000)
    check("stdio: a non-request object is an Invalid Request with its id",
          response.get("error", {}).get("code") == -32600, response)
    response = peer.wait_for(None)
    check("stdio: a line that is not JSON gets a parse error",
          response.get("error", {}).get("code") == -32700, response)
    response = peer.request("no/such/method", {})
    check("stdio: unknown method is method-not-found", response.get("error", {}).get("code") == -32601, response)

    # A message over the body limit: answered with the limit, the server stays up.
    huge = "x" * (BODY_LIMIT + 10)
    big = json.dumps({
        "jsonrpc": "2.0", "id": 4242, "method": "tools/call",
        "params": {"name": "save_progress", "arguments": {"session_id": "hostile-big", "summary": huge}},
    }).encode()
    peer.send_raw(big + b"\n")
    response = peer.wait_for(4242)
    check_refusal("stdio oversize body", response, ["4 MiB", "limit"], code=-32600)
    check("stdio oversize body names the limit in data", response["error"]["data"]["limit"] == BODY_LIMIT, response)

    response = peer.request("tools/call", {"name": "get_progress", "arguments": {"session_id": "hostile"}})
    check("stdio: nothing was written", response["result"]["structuredContent"]["found"] is False, response)
    response = peer.request("tools/call", {"name": "get_progress", "arguments": {"session_id": "hostile-big"}})
    check("stdio: oversize body wrote nothing", response["result"]["structuredContent"]["found"] is False, response)
    response = peer.request("tools/call", {"name": "save_progress", "arguments": save_args(summary="after the storm")})
    check("stdio: still serving", response["result"]["structuredContent"]["status"] == "saved", response)

    code = peer.close()
    check("stdio: clean exit on EOF", code == 0, code)
    bad = []
    for line in peer.stdout_lines:
        try:
            message = json.loads(line)
        except ValueError:
            bad.append(line[:200])
            continue
        if not (isinstance(message, dict) and message.get("jsonrpc") == "2.0"):
            bad.append(line[:200])
    check("stdio: stdout carries only JSON-RPC", not bad and peer.stdout_lines, bad)


def sse_or_json(response: httpx2.Response) -> dict[str, Any]:
    kind = response.headers.get("content-type", "")
    if "text/event-stream" in kind:
        for line in response.text.splitlines():
            if line.startswith("data:") and line[5:].strip():
                message = json.loads(line[5:].strip())
                if "id" in message:
                    return message
        raise AssertionError(f"no message in SSE body: {response.text[:500]}")
    return response.json()


def http_hostile(args) -> None:
    token = "correct-horse"
    server = start_http_server(args, token=token)
    url = server.url
    base_headers = {
        "Accept": "application/json, text/event-stream",
        "Content-Type": "application/json",
    }
    auth = {"Authorization": f"Bearer {token}"}
    init_body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": initialize_params()})
    try:
        with httpx2.Client(timeout=30) as http:
            r = http.post(url, headers=base_headers, content=init_body)
            check("http: missing token is 401", r.status_code == 401, (r.status_code, r.text))
            check("http: 401 says Bearer", r.headers.get("www-authenticate") == "Bearer", dict(r.headers))
            check("http: 401 body is a JSON-RPC error", r.json()["error"]["data"]["field"] == "Authorization", r.text)
            r = http.post(url, headers={**base_headers, "Authorization": "Bearer wrong"}, content=init_body)
            check("http: wrong token is 401", r.status_code == 401, r.status_code)
            r = http.get(url, headers={"Authorization": "Bearer wrong", "Accept": "text/event-stream"})
            check("http: wrong token on GET is 401", r.status_code == 401, r.status_code)

            headers = {**base_headers, **auth}
            r = http.post(url, headers={**headers, "Origin": "http://evil.example"}, content=init_body)
            check("http: foreign Origin refused", r.status_code == 403, (r.status_code, r.text))
            port = url.split(":")[2].split("/")[0]
            r = http.post(url, headers={**headers, "Host": f"evil.example:{port}"}, content=init_body)
            check("http: foreign Host refused", r.status_code in (400, 403), (r.status_code, r.text))
            r = http.post(url, headers={**headers, "Origin": f"http://localhost:{port}"}, content=init_body)
            check("http: local Origin accepted", r.status_code == 200, (r.status_code, r.text))

            r = http.post(url, headers=headers, content=b'{"jsonrpc":"2.0","id":1,"method":')
            check("http: malformed JSON is 400", r.status_code == 400, (r.status_code, r.text))
            check("http: malformed JSON is a parse error", r.json()["error"]["code"] == -32700, r.text)

            big = json.dumps({
                "jsonrpc": "2.0", "id": 2, "method": "tools/call",
                "params": {"name": "save_progress", "arguments": {"session_id": "hostile-big", "summary": "x" * (BODY_LIMIT + 10)}},
            })
            # The server answers 413 without reading the rest and closes the connection;
            # ask for that close so the client never reuses the dropped connection.
            closing = {**headers, "connection": "close"}
            r = http.post(url, headers=closing, content=big)
            check("http: over-limit body is 413", r.status_code == 413, r.status_code)
            error = r.json()["error"]
            check("http: 413 names the limit", "4 MiB" in error["message"] and error["data"]["limit"] == BODY_LIMIT, error)

            def chunks():
                piece = b"x" * (1024 * 1024)
                yield b'{"jsonrpc":"2.0","id":3,"method":"ping","params":{"pad":"'
                for _ in range(5):
                    yield piece
                yield b'"}}'

            r = http.post(url, headers=closing, content=chunks())
            check("http: chunked over-limit body is 413", r.status_code == 413, r.status_code)

            # A real session: argument refusals come back as isError tool results.
            r = http.post(url, headers=headers, content=init_body)
            session = r.headers.get("mcp-session-id")
            check("http: initialize gives a session", r.status_code == 200 and session, (r.status_code, dict(r.headers)))
            session_headers = {**headers, "mcp-session-id": session, "mcp-protocol-version": "2025-06-18"}
            r = http.post(url, headers=session_headers, content=json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            check("http: initialized accepted", r.status_code in (200, 202), r.status_code)
            for i, (name, tool, arguments, words) in enumerate(REFUSED_CALLS):
                body = json.dumps({"jsonrpc": "2.0", "id": 100 + i, "method": "tools/call", "params": {"name": tool, "arguments": arguments}})
                r = http.post(url, headers=session_headers, content=body)
                check_tool_refusal(f"http {name}", sse_or_json(r), words)
            for i, (name, tool, arguments, words) in enumerate(PROTOCOL_REFUSALS):
                body = json.dumps({"jsonrpc": "2.0", "id": 300 + i, "method": "tools/call", "params": {"name": tool, "arguments": arguments}})
                r = http.post(url, headers=session_headers, content=body)
                check_refusal(f"http {name}", sse_or_json(r), words)
            r = http.post(url, headers=session_headers, content=json.dumps({"jsonrpc": "2.0", "id": 500, "bogus": 1}))
            check("http: non-request JSON refused", r.status_code >= 400 or "error" in sse_or_json(r), (r.status_code, r.text))
            body = json.dumps({"jsonrpc": "2.0", "id": 501, "method": "tools/call", "params": {"name": "get_progress", "arguments": {"session_id": "hostile"}}})
            r = http.post(url, headers=session_headers, content=body)
            check("http: still serving, nothing written", sse_or_json(r)["result"]["structuredContent"]["found"] is False, r.text)
        check("http: server still running", server.alive(), server.stderr_lines)
    finally:
        server.stop()
    for session in ("hostile", "hostile-big"):
        cli = run_cli(args, "progress", "get", session)
        check(f"http: store has no {session} progress", cli.returncode == 3, (cli.returncode, cli.stdout, cli.stderr))

    # Any other address without a token refuses to start, saying why.
    result = subprocess.run(
        [args.binary, "mcp", "--http", "0.0.0.0:0"],
        cwd=args.project, env=server_env(args), capture_output=True, text=True, timeout=30,
    )
    check("http: 0.0.0.0 without a token refuses to start", result.returncode == 2, result)
    check("http: the refusal says why", "token" in result.stderr and "0.0.0.0" in result.stderr, result.stderr)


def main() -> None:
    args = common_args(__doc__ or "")
    if args.transport == "stdio":
        stdio_hostile(args)
    else:
        http_hostile(args)
    finish()


if __name__ == "__main__":
    main()
