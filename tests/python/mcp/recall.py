"""An MCP client's `recall`: after a chat session was compacted (`/done`), a fact
said only in the replaced events is found by a search and comes back verbatim, and
`recall(seq)` returns that one event whole.

Run by crates/cairn/tests/run/run_memory.rs, which drives the chat first and passes
the session, the query and the exact sentence to expect.
"""

from __future__ import annotations

import asyncio

from harness import call, check, common_args, connect, fail_loudly, finish


async def main() -> None:
    import sys

    # The session and expected texts come after `--`; the harness parses the rest.
    extra = sys.argv[sys.argv.index("--") + 1 :]
    sys.argv = sys.argv[: sys.argv.index("--")]
    session, query, sentence = extra
    args = common_args("recall over MCP")
    async with connect(args, "recall-checker") as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        check("recall is listed", "recall" in tools, list(tools))
        check("recall declares an outputSchema", bool(tools["recall"].output_schema), tools["recall"])

        found = await call(client, "recall", {"session": session, "query": query})
        hits = found.get("search", {}).get("hits", [])
        check("the search finds the compacted fact", len(hits) >= 1, found)
        hit = next((h for h in hits if sentence in h["excerpt"]), None)
        check("an excerpt holds the sentence verbatim", hit is not None, hits)
        check("the hit names its session", hit["session"] == session, hit)
        check("the text content shows it too", sentence in found["_text"], found["_text"])

        one = await call(client, "recall", {"session": session, "seq": hit["seq"]})
        event = one.get("event", {})
        check("recall(seq) returns that event", event.get("seq") == hit["seq"], one)
        check("recall(seq) holds the sentence whole", sentence in event.get("text", ""), event)
        check("recall(seq) of a short event is not cut", event.get("next_offset") is None, event)

        default = await call(client, "recall", {"query": query})
        check(
            "without `session` the project's most recent session is searched",
            default.get("search", {}).get("session") == session,
            default,
        )
    finish()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except Exception as error:  # noqa: BLE001 - any failure fails the test
        fail_loudly(error)
