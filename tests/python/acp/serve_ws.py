"""`cairn serve`'s `/acp` driven by the official ACP Python SDK over WebSocket (the
SDK's own transport, `acp.ws.create_websocket_stream`, on the `websockets` package),
against the fake provider the Rust test scripted (crates/cairn/tests/serve/serve_acp.rs says
which turns).

Scenarios:
- `tour`: initialize, session/new, a streamed prompt, a second connection sharing the
  session (load with replay), a busy second prompt from that connection refused with
  a JSON-RPC error saying so, cancel, load in a third connection after all.
- `continue`: session/load of a session `cairn run -p` started (replay checked), one
  prompt, and out (`cairn run --resume -p` follows in the Rust test).
- `refused`: a wrong token and a foreign Origin cannot open the socket.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib

import acp
from acp.ws import create_websocket_stream

from harness import RecordingClient, check, finish


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--binary")
    parser.add_argument("--home")
    parser.add_argument("--project", required=True)
    parser.add_argument("--url", required=True, help="ws://ADDR/acp")
    parser.add_argument("--scenario", required=True)
    parser.add_argument("--session", default=None)
    return parser.parse_args()


@contextlib.asynccontextmanager
async def connect(url: str, client: RecordingClient, headers: dict | None = None):
    transport = await create_websocket_stream(url, headers=headers)
    conn = acp.connect_to_agent(client, transport)
    try:
        await conn.initialize(protocol_version=acp.PROTOCOL_VERSION)
        yield conn
    finally:
        with contextlib.suppress(Exception):
            await conn.close()
        with contextlib.suppress(Exception):
            await transport.close()


async def tour(args) -> None:
    one = RecordingClient()
    async with connect(args.url, one) as conn:
        new = await conn.new_session(cwd=args.project, cairn={"name": "ws-tour"})
        sid = new.session_id
        check("new: the session id is the chosen cairn name", sid == "ws-tour", sid)

        mark = len(one.updates)
        resp = await conn.prompt(session_id=sid, prompt=[acp.text_block("hello over ws")])
        chunks = one.of_kind("agent_message_chunk", mark)
        check("prompt: end_turn", resp.stop_reason == "end_turn", resp)
        check("prompt: the answer streamed in several frames", len(chunks) > 1, len(chunks))
        check("prompt: the answer", one.agent_text(mark) == "Hello over the socket.", one.agent_text(mark))

        # A second connection shares the session the first has open (one lease).
        two = RecordingClient()
        async with connect(args.url, two) as conn2:
            await conn2.load_session(cwd=args.project, session_id=sid)
            users = [u.content.text for u in two.of_kind("user_message_chunk")]
            check("share: load on a second socket replays", users == ["hello over ws"], users)

            mark = len(one.updates)
            story = asyncio.create_task(conn.prompt(session_id=sid, prompt=[acp.text_block("tell a long story")]))
            await one.wait_for("the story's first chunk", lambda: one.of_kind("agent_message_chunk", mark))
            try:
                await conn2.prompt(session_id=sid, prompt=[acp.text_block("me too")])
                check("busy: a prompt from another socket is refused", False)
            except acp.RequestError as e:
                check("busy: a prompt from another socket is refused", "busy" in str(e), str(e))
            try:
                await conn.prompt(session_id=sid, prompt=[acp.text_block("and another")])
                check("busy: a second prompt on the same socket is refused", False)
            except acp.RequestError as e:
                check("busy: a second prompt on the same socket is refused", "busy" in str(e), str(e))
            await conn.cancel(session_id=sid)
            resp = await asyncio.wait_for(story, timeout=20)
            check("cancel: stop reason cancelled", resp.stop_reason == "cancelled", resp)

            mark = len(two.updates)
            resp = await conn2.prompt(session_id=sid, prompt=[acp.text_block("your turn")])
            check("share: the other socket prompts once the turn ended", two.agent_text(mark) == "Second socket answered.", two.agent_text(mark))

    # Both sockets closed: the session was released; a new socket loads it again.
    three = RecordingClient()
    async with connect(args.url, three) as conn3:
        await conn3.load_session(cwd=args.project, session_id=sid)
        users = [u.content.text for u in three.of_kind("user_message_chunk")]
        check(
            "load: every user message replayed in order",
            users == ["hello over ws", "tell a long story", "your turn"],
            users,
        )
        check("load: the interrupted answer is marked", "[interrupted" in three.agent_text(), three.agent_text())
        listed = await conn3.list_sessions(cwd=args.project)
        check("list: the session is listed", sid in [s.session_id for s in listed.sessions], listed)


async def continue_session(args) -> None:
    client = RecordingClient()
    async with connect(args.url, client) as conn:
        await conn.load_session(cwd=args.project, session_id=args.session)
        users = [u.content.text for u in client.of_kind("user_message_chunk")]
        check("continue: the terminal's message replayed", users == ["first from the terminal"], users)
        check("continue: the terminal's answer replayed", "Terminal answer." in client.agent_text(), client.agent_text())
        mark = len(client.updates)
        resp = await conn.prompt(session_id=args.session, prompt=[acp.text_block("second from the socket")])
        check("continue: the prompt answers", client.agent_text(mark) == "Socket answer.", client.agent_text(mark))
        check("continue: end_turn", resp.stop_reason == "end_turn", resp)


async def refused(args) -> None:
    bad = args.url.split("?")[0] + "?token=wrong"
    try:
        async with connect(bad, RecordingClient()):
            pass
        check("refused: a wrong token cannot open the socket", False)
    except Exception as e:  # websockets.InvalidStatus
        check("refused: a wrong token cannot open the socket", "401" in str(e), str(e))
    try:
        async with connect(args.url, RecordingClient(), headers={"Origin": "http://evil.example"}):
            pass
        check("refused: a foreign Origin cannot open the socket", False)
    except Exception as e:
        check("refused: a foreign Origin cannot open the socket", "403" in str(e), str(e))


def main() -> None:
    args = parse_args()
    scenario = {"tour": tour, "continue": continue_session, "refused": refused}[args.scenario]
    asyncio.run(asyncio.wait_for(scenario(args), timeout=120))
    finish()


if __name__ == "__main__":
    main()
