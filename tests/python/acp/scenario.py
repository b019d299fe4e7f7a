"""`cairn acp` driven by the official ACP Python SDK over stdio, against the fake
provider the Rust test scripted (crates/cairn/tests/serve/acp_python.rs says which turns).

Scenarios:
- `tour`: initialize, session/new (generated and chosen names), a streamed prompt,
  a shell tool call approved through session/request_permission, a busy second
  prompt refused, session/cancel, a slash command, session/list, the lease refusing
  a second agent process, then session/load in a new process with the replay
  checked, and a prompt there.
- `compacted`: a session closed with `/done` loads as its summary and knowledge.
- `continue`: session/load of a session `cairn run -p` started (replay checked),
  one prompt, and out (`cairn run --resume -p` follows in the Rust test).
"""

from __future__ import annotations

import asyncio
import re
import sys

import acp
from acp.stdio import spawn_agent_process

from harness import RecordingClient, agent_env, check, common_args, finish

# A 1x1 PNG.
PIXEL_PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


async def tour(args) -> None:
    client = RecordingClient()
    async with spawn_agent_process(
        client, args.binary, "acp", env=agent_env(args), cwd=args.project
    ) as (conn, _proc):
        init = await conn.initialize(protocol_version=acp.PROTOCOL_VERSION)
        caps = init.agent_capabilities
        check("initialize: protocol v1", init.protocol_version == 1, init)
        check("initialize: loadSession", caps.load_session is True, caps)
        check(
            "initialize: image and embedded context prompts",
            caps.prompt_capabilities.image and caps.prompt_capabilities.embedded_context,
            caps.prompt_capabilities,
        )
        check("initialize: session list", caps.session_capabilities.list is not None, caps)
        check("initialize: session resume", caps.session_capabilities.resume is not None, caps)
        check("initialize: agent named cairn", init.agent_info.name == "cairn", init.agent_info)

        new = await conn.new_session(cwd=args.project)
        sid = new.session_id
        check("new: the session id is a cairn session name", NAME_RE.match(sid) is not None, sid)
        await client.wait_for(
            "available commands", lambda: client.of_kind("available_commands_update")
        )
        names = [c.name for c in client.of_kind("available_commands_update")[0].available_commands]
        check("new: slash commands offered", {"info", "context", "summarize", "done", "remember"} <= set(names), names)
        check("new: session-switching commands left to the editor", "session" not in names and "exit" not in names, names)

        named = await conn.new_session(cwd=args.project, cairn={"name": "acp-named"})
        check("new: _meta.cairn.name chooses the name", named.session_id == "acp-named", named)
        try:
            await conn.new_session(cwd=args.project, cairn={"name": "acp-named"})
            check("new: a taken name is refused", False)
        except acp.RequestError as e:
            check("new: a taken name is refused", "already exists" in str(e), str(e))
        try:
            await conn.new_session(cwd=args.project, cairn={"name": "../etc"})
            check("new: a bad name is refused with the rule", False)
        except acp.RequestError as e:
            check("new: a bad name is refused with the rule", "A-Za-z0-9" in str(e) or "name" in str(e), str(e))

        # 1. Streaming.
        mark = len(client.updates)
        resp = await conn.prompt(session_id=sid, prompt=[acp.text_block("hello")])
        chunks = client.of_kind("agent_message_chunk", mark)
        check("prompt: end_turn", resp.stop_reason == "end_turn", resp)
        check("prompt: the answer streamed in several chunks", len(chunks) > 1, len(chunks))
        check(
            "prompt: the chunks make the answer",
            client.agent_text(mark) == "Hello from the fake provider.",
            client.agent_text(mark),
        )
        check("prompt: token usage in the response", resp.usage is not None and resp.usage.output_tokens > 0, resp.usage)
        meta = (resp.field_meta or {}).get("cairn", {})
        check("prompt: cost and cairn's stop reason in _meta", meta.get("stopReason") == "end_turn" and "costUsd" in meta, meta)
        usage_updates = client.of_kind("usage_update", mark)
        check("prompt: usage_update with the session cost", usage_updates and usage_updates[-1].cost.currency == "USD", usage_updates)

        # 2. A shell tool call approved through the client.
        client.answers.append("allow_once")
        mark = len(client.updates)
        resp = await conn.prompt(session_id=sid, prompt=[acp.text_block("run the check")])
        check("tool: end_turn after the tool", resp.stop_reason == "end_turn", resp)
        check("tool: one permission request", len(client.permission_requests) == 1, client.permission_requests)
        request = client.permission_requests[0]
        option_ids = [o.option_id for o in request["options"]]
        check("tool: allow once / always / reject offered", option_ids == ["allow_once", "allow_always", "reject"], option_ids)
        check("tool: the request names the tool call", request["tool_call"].tool_call_id == "call_1", request["tool_call"])
        starts = client.of_kind("tool_call", mark)
        check("tool: tool_call announced with kind execute", starts and starts[0].kind == "execute", starts)
        progress = client.of_kind("tool_call_update", mark)
        completed = [p for p in progress if p.status == "completed"]
        check("tool: the call completed", len(completed) == 1, progress)
        output = "".join(c.content.text for c in completed[0].content or [])
        check("tool: the result content reaches the client", "acp-ok" in output, output)
        titled = [p for p in progress if p.title]
        check("tool: the title shows the command", any("echo acp-ok" in p.title for p in titled), titled)
        check("tool: the answer after the tool streamed", "printed acp-ok" in client.agent_text(mark), client.agent_text(mark))

        # 2b. "Always allow this command": asked once for two calls of it.
        client.answers.append("allow_always")
        asked = len(client.permission_requests)
        mark = len(client.updates)
        resp = await conn.prompt(session_id=sid, prompt=[acp.text_block("twice")])
        check("always: asked once for two calls", len(client.permission_requests) == asked + 1, client.permission_requests)
        done = [p for p in client.of_kind("tool_call_update", mark) if p.status == "completed"]
        check("always: both calls ran", len(done) == 2, done)
        check("always: end_turn", resp.stop_reason == "end_turn", resp)

        # 2c. Reject: the call fails, the model is told, the turn goes on.
        client.answers.append("reject")
        mark = len(client.updates)
        resp = await conn.prompt(session_id=sid, prompt=[acp.text_block("delete it")])
        failed = [p for p in client.of_kind("tool_call_update", mark) if p.status == "failed"]
        check("reject: the call failed", len(failed) == 1, client.of_kind("tool_call_update", mark))
        check("reject: the model answered after", client.agent_text(mark) == "Understood, not deleted.", client.agent_text(mark))

        # 2d. An image block is attached to the message.
        mark = len(client.updates)
        resp = await conn.prompt(
            session_id=sid,
            prompt=[acp.text_block("what is this"), acp.image_block(PIXEL_PNG, "image/png")],
        )
        check("image: answered", client.agent_text(mark) == "A tiny image.", client.agent_text(mark))
        try:
            await conn.prompt(session_id=sid, prompt=[acp.image_block("bm90IGFuIGltYWdl", "image/png")])
            check("image: bytes that are no image are refused", False)
        except acp.RequestError as e:
            check("image: bytes that are no image are refused", "image 1" in str(e), str(e))

        # 3. Busy, then cancel.
        mark = len(client.updates)
        story = asyncio.create_task(conn.prompt(session_id=sid, prompt=[acp.text_block("tell a long story")]))
        await client.wait_for("the story's first chunk", lambda: client.of_kind("agent_message_chunk", mark))
        try:
            await conn.prompt(session_id=sid, prompt=[acp.text_block("and another")])
            check("busy: a second prompt is refused", False)
        except acp.RequestError as e:
            check("busy: a second prompt is refused", "busy" in str(e), str(e))
        await conn.cancel(session_id=sid)
        resp = await asyncio.wait_for(story, timeout=20)
        check("cancel: stop reason cancelled", resp.stop_reason == "cancelled", resp)
        partial = client.agent_text(mark)
        check("cancel: the story stopped early", 0 < len(partial) < 400, len(partial))

        # 4. A slash command.
        mark = len(client.updates)
        resp = await conn.prompt(session_id=sid, prompt=[acp.text_block("/info")])
        info = client.agent_text(mark)
        check("command: /info answers as an agent message", sid in info, info)
        check("command: end_turn", resp.stop_reason == "end_turn", resp)
        mark = len(client.updates)
        resp = await conn.prompt(session_id=sid, prompt=[acp.text_block("/session other")])
        check("command: /session is left to the editor", "not available here" in client.agent_text(mark), client.agent_text(mark))

        # 5. List.
        listed = await conn.list_sessions(cwd=args.project)
        ids = [s.session_id for s in listed.sessions]
        check("list: this project's sessions", sid in ids and "acp-named" in ids, ids)
        check("list: newest first", ids[0] == sid, ids)
        check("list: titles from the first message", [s.title for s in listed.sessions if s.session_id == sid] == ["hello"], listed.sessions)

        # 5b. Loading a session this connection already has open replays it again.
        mark = len(client.updates)
        await conn.load_session(cwd=args.project, session_id=sid)
        again = [u.content.text for u in client.of_kind("user_message_chunk", mark)]
        check("load: the same connection may load its open session again", again[:1] == ["hello"], again)

        # 6. The lease: a second agent process cannot take the session.
        other = RecordingClient()
        async with spawn_agent_process(
            other, args.binary, "acp", env=agent_env(args), cwd=args.project
        ) as (conn2, _proc2):
            await conn2.initialize(protocol_version=acp.PROTOCOL_VERSION)
            try:
                await conn2.load_session(cwd=args.project, session_id=sid)
                check("lease: a live holder refuses a second agent", False)
            except acp.RequestError as e:
                check("lease: a live holder refuses a second agent, named", "pid" in str(e), str(e))
        print(f"SESSION {sid}", flush=True)

    # 7. Load in a new process: the live context replayed, then a prompt.
    client = RecordingClient()
    async with spawn_agent_process(
        client, args.binary, "acp", env=agent_env(args), cwd=args.project
    ) as (conn, _proc):
        await conn.initialize(protocol_version=acp.PROTOCOL_VERSION)
        await conn.load_session(cwd=args.project, session_id=sid)
        kinds = client.kinds()
        users = ["".join([u.content.text]) for u in client.of_kind("user_message_chunk")]
        texts = [u for u in users if not u.startswith("[image")]
        check(
            "load: user messages replayed in order",
            texts == ["hello", "run the check", "twice", "delete it", "what is this", "tell a long story"],
            users,
        )
        check("load: the image shows as a placeholder", "[image image/png]" in users, users)
        replay_text = client.agent_text()
        check("load: agent messages replayed", "Hello from the fake provider." in replay_text, replay_text)
        check("load: the interrupted answer is marked", "[interrupted" in replay_text, replay_text)
        calls = client.of_kind("tool_call")
        check(
            "load: the tool call replayed with its result",
            [c.status for c in calls] == ["completed", "completed", "completed", "failed"]
            and "acp-ok" in calls[0].content[0].content.text,
            calls,
        )
        check("load: commands offered after the replay", kinds[-1] == "available_commands_update", kinds)
        mark = len(client.updates)
        resp = await conn.prompt(session_id=sid, prompt=[acp.text_block("after load")])
        check("load: a prompt after load answers", client.agent_text(mark) == "Loaded and answered.", client.agent_text(mark))
        check("load: end_turn", resp.stop_reason == "end_turn", resp)


async def continue_session(args) -> None:
    client = RecordingClient()
    async with spawn_agent_process(
        client, args.binary, "acp", env=agent_env(args), cwd=args.project
    ) as (conn, _proc):
        await conn.initialize(protocol_version=acp.PROTOCOL_VERSION)
        await conn.load_session(cwd=args.project, session_id=args.session)
        users = [u.content.text for u in client.of_kind("user_message_chunk")]
        check("continue: the terminal's prompt replayed", users == ["first from the terminal"], users)
        check("continue: the terminal's answer replayed", client.agent_text() == "Answer one.", client.agent_text())
        mark = len(client.updates)
        resp = await conn.prompt(session_id=args.session, prompt=[acp.text_block("second from the editor")])
        check("continue: the editor's prompt answered", client.agent_text(mark) == "Answer two.", client.agent_text(mark))
        check("continue: end_turn", resp.stop_reason == "end_turn", resp)


async def compacted(args) -> None:
    client = RecordingClient()
    async with spawn_agent_process(
        client, args.binary, "acp", env=agent_env(args), cwd=args.project
    ) as (conn, _proc):
        await conn.initialize(protocol_version=acp.PROTOCOL_VERSION)
        sid = (await conn.new_session(cwd=args.project, cairn={"name": "acp-done"})).session_id
        await conn.prompt(session_id=sid, prompt=[acp.text_block("we pick sqlite for the store")])
        await conn.prompt(session_id=sid, prompt=[acp.text_block("/remember decision: the store is sqlite")])
        mark = len(client.updates)
        resp = await conn.prompt(session_id=sid, prompt=[acp.text_block("/done first pass agreed")])
        out = client.agent_text(mark)
        check("done: /done answers as an agent message", "compressed the live context" in out and "checkpoint saved" in out, out)
        check("done: end_turn", resp.stop_reason == "end_turn", resp)

    client = RecordingClient()
    async with spawn_agent_process(
        client, args.binary, "acp", env=agent_env(args), cwd=args.project
    ) as (conn, _proc):
        await conn.initialize(protocol_version=acp.PROTOCOL_VERSION)
        await conn.load_session(cwd=args.project, session_id="acp-done")
        first = client.updates[0][1]
        check("compacted: replay opens with the summary, marked", first.session_update == "agent_message_chunk" and first.content.text.startswith("[cairn] Earlier conversation, compacted"), first)
        check("compacted: the summary's goal is in it", "choose the store" in first.content.text, first.content.text)
        check("compacted: the knowledge is in it", "the store is sqlite" in first.content.text, first.content.text)
        users = [u.content.text for u in client.of_kind("user_message_chunk")]
        check("compacted: compacted messages are not replayed", users == [], users)
        mark = len(client.updates)
        await conn.prompt(session_id="acp-done", prompt=[acp.text_block("what did we pick?")])
        check("compacted: a prompt after load answers", client.agent_text(mark) == "SQLite.", client.agent_text(mark))


def main() -> None:
    args = common_args(__doc__ or "")
    scenarios = {"tour": tour, "continue": continue_session, "compacted": compacted}
    asyncio.run(scenarios[args.scenario](args))
    finish()


if __name__ == "__main__":
    sys.exit(main())
