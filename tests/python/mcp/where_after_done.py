"""After `/done` in a chat session, an MCP client asking `where_was_i` (and
`get_progress`) for that session gets the checkpoint `/done` wrote.

Run by crates/cairn/tests/run/run_compression.rs, which drives the chat first and
passes what to expect.
"""

from __future__ import annotations

import asyncio

from harness import call, check, common_args, connect, fail_loudly, finish


async def main() -> None:
    import sys

    # The session and expected texts come after `--`; the harness parses the rest.
    extra = sys.argv[sys.argv.index("--") + 1 :]
    sys.argv = sys.argv[: sys.argv.index("--")]
    session, note, goal, decision = extra
    args = common_args("where_was_i after /done")
    async with connect(args, "done-checker") as client:
        found = await call(client, "where_was_i", {"session_id": session})
        checkpoint = found.get("latest_checkpoint") or {}
        check("where_was_i names the session", found.get("session_id") == session, found)
        check("checkpoint written by cairn", checkpoint.get("client") == "cairn", checkpoint)
        summary = checkpoint.get("summary", "")
        check("checkpoint summary starts with the note", summary.startswith(note), summary)
        check("checkpoint summary has the goal", goal in summary, summary)
        check(
            "checkpoint decisions",
            decision in checkpoint.get("decisions_made", []),
            checkpoint,
        )
        check("brief mentions the note", note in found["_text"], found["_text"])
        progress = await call(client, "get_progress", {"session_id": session})
        check("get_progress returns it too", note in str(progress), progress)
    finish()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except Exception as error:  # noqa: BLE001 - any failure fails the test
        fail_loudly(error)
