"""A bounded load on `cairn serve`: 20 ACP clients (the official Python SDK over
WebSocket) drive turns on 20 sessions while 200 SSE watchers (10 per session) watch
them. Each watcher must see every event of its session exactly once, in order (dense
seqs from 1 to the session's head), and no client may see an error. Bounded in time
(asyncio.wait_for) and count; loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
import urllib.parse

import acp
from acp.ws import create_websocket_stream

from harness import RecordingClient, check, finish

SESSIONS = 20
WATCHERS_PER_SESSION = 10


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--binary")
    parser.add_argument("--home")
    parser.add_argument("--project", required=True)
    parser.add_argument("--url", required=True, help="ws://ADDR/acp")
    parser.add_argument("--turns", type=int, default=4, help="turns per client")
    parser.add_argument("--prefix", default="load", help="the sessions are PREFIX-00 … PREFIX-19")
    return parser.parse_args()


class Watcher:
    """One SSE stream of a session, read with raw asyncio sockets."""

    def __init__(self, host: str, port: int, name: str) -> None:
        self.host, self.port, self.name = host, port, name
        self.seqs: list[int] = []
        self.errors: list[str] = []
        self.progress = asyncio.Event()

    async def run(self, opened: asyncio.Event) -> None:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        writer.write(
            (
                f"GET /api/sessions/{self.name}/stream?after=0 HTTP/1.1\r\n"
                f"Host: {self.host}:{self.port}\r\nAccept: text/event-stream\r\n\r\n"
            ).encode()
        )
        await writer.drain()
        status = await reader.readline()
        if b" 200 " not in status:
            self.errors.append(status.decode(errors="replace"))
            opened.set()
            return
        while (await reader.readline()).strip():
            pass
        opened.set()
        buffer = b""
        try:
            while True:
                size_line = await reader.readline()
                if not size_line:
                    return
                if not size_line.strip():
                    continue
                size = int(size_line.strip(), 16)
                if size == 0:
                    return
                buffer += await reader.readexactly(size)
                await reader.readexactly(2)  # the chunk's CRLF
                while b"\n\n" in buffer:
                    message, buffer = buffer.split(b"\n\n", 1)
                    self._message(message.decode())
        finally:
            writer.close()

    def _message(self, message: str) -> None:
        for line in message.splitlines():
            if line.startswith("id:"):
                self.seqs.append(int(line[3:].strip()))
                self.progress.set()


async def http_json(host: str, port: int, path: str) -> dict:
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    raw = await reader.read()
    writer.close()
    head, body = raw.split(b"\r\n\r\n", 1)
    assert b" 200 " in head.split(b"\r\n")[0], head
    if b"chunked" in head.lower():
        out, rest = b"", body
        while rest:
            size_line, rest = rest.split(b"\r\n", 1)
            size = int(size_line, 16)
            if size == 0:
                break
            out, rest = out + rest[:size], rest[size + 2 :]
        body = out
    return json.loads(body)


async def client_turns(url: str, project: str, name: str, turns: int, start: asyncio.Event, errors: list) -> None:
    client = RecordingClient()
    transport = await create_websocket_stream(url)
    conn = acp.connect_to_agent(client, transport)
    try:
        await conn.initialize(protocol_version=acp.PROTOCOL_VERSION)
        await conn.load_session(cwd=project, session_id=name)
        await start.wait()
        for i in range(turns):
            resp = await conn.prompt(session_id=name, prompt=[acp.text_block(f"turn {i} of {name}")])
            if resp.stop_reason != "end_turn":
                errors.append(f"{name}: {resp.stop_reason}")
    except Exception as e:  # any error fails the run
        errors.append(f"{name}: {e!r}")
    finally:
        with contextlib.suppress(Exception):
            await transport.close()


async def main_async(args) -> None:
    parsed = urllib.parse.urlparse(args.url)
    host, port = parsed.hostname, parsed.port
    names = [f"{args.prefix}-{i:02}" for i in range(SESSIONS)]
    # The sessions exist before anyone watches them.
    setup = RecordingClient()
    transport = await create_websocket_stream(args.url)
    conn = acp.connect_to_agent(setup, transport)
    await conn.initialize(protocol_version=acp.PROTOCOL_VERSION)
    for name in names:
        await conn.new_session(cwd=args.project, cairn={"name": name})
    await transport.close()

    watchers = [Watcher(host, port, n) for n in names for _ in range(WATCHERS_PER_SESSION)]
    opened = [asyncio.Event() for _ in watchers]
    watch_tasks = [asyncio.create_task(w.run(o)) for w, o in zip(watchers, opened)]
    await asyncio.gather(*(o.wait() for o in opened))
    check("watchers: all opened", all(not w.errors for w in watchers), [w.errors for w in watchers if w.errors][:3])

    start = asyncio.Event()
    errors: list[str] = []
    began = time.monotonic()
    clients = [asyncio.create_task(client_turns(args.url, args.project, n, args.turns, start, errors)) for n in names]
    await asyncio.sleep(0)
    start.set()
    await asyncio.gather(*clients)
    took = time.monotonic() - began
    check("clients: every turn ended without an error", not errors, errors[:5])

    heads = {n: (await http_json(host, port, f"/api/sessions/{n}"))["head_seq"] for n in names}
    check("sessions: every turn stored", all(h >= 2 * args.turns for h in heads.values()), heads)
    deadline = time.monotonic() + 30
    for w in watchers:
        while len(w.seqs) < heads[w.name] and time.monotonic() < deadline:
            w.progress.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(w.progress.wait(), timeout=1)
    bad = [(w.name, w.seqs[:5], len(w.seqs), heads[w.name]) for w in watchers if w.seqs != list(range(1, heads[w.name] + 1))]
    check("watchers: dense seqs, each event once, in order", not bad, bad[:3])
    for t in watch_tasks:
        t.cancel()
    await asyncio.gather(*watch_tasks, return_exceptions=True)
    print(f"LOAD {SESSIONS} clients x {args.turns} turns, {len(watchers)} watchers: {took:.1f} s", flush=True)


def main() -> None:
    args = parse_args()
    asyncio.run(asyncio.wait_for(main_async(args), timeout=240))
    finish()


if __name__ == "__main__":
    main()
