"""Two agents whose MCP clients have the same name, on one `cairn mcp --http`:
each must be its own pool instance, in the `initialize` (legacy) lifecycle and
in the stateless 2026-07-28 one (auto), so a claim by one warns the other and
neither takes over the other's topic. Stateless requests carry no session, so
each agent names itself with the `Cairn-Instance` header.

    python same_name.py --binary BIN --home DIR --project DIR --mode legacy|auto
"""

from __future__ import annotations

import anyio
from harness import call, check, common_args, connect, finish, start_http_server


async def same_name(args) -> None:
    http = start_http_server(args)
    mode = args.mode
    try:
        async with (
            connect(args, "agent", http, instance="first") as a,
            connect(args, "agent", http, instance="second") as b,
        ):
            claim_a = await call(a, "pool_signal", {
                "action": "claimed", "topic": "topic-x",
                "summary": "A takes x", "affects": ["src/shared/"],
            })
            instance_a = claim_a["instance"]
            check(f"{mode}: A holds topic-x", claim_a["holder"] == instance_a, claim_a)
            claim_b = await call(b, "pool_signal", {
                "action": "claimed", "topic": "topic-y",
                "summary": "B takes y", "affects": ["src/shared/file.rs"],
            })
            instance_b = claim_b["instance"]
            check(f"{mode}: same client name, two instances", instance_a != instance_b, (instance_a, instance_b))
            check(f"{mode}: both instances carry the client name",
                  instance_a.startswith("agent#") and instance_b.startswith("agent#"), (instance_a, instance_b))
            conflicts = claim_b["conflicts"]
            check(f"{mode}: B is warned of A's overlapping files", len(conflicts) == 1, claim_b)
            check(f"{mode}: the conflict names both instances",
                  {conflicts[0]["instance_a"], conflicts[0]["instance_b"]} == {instance_a, instance_b}, conflicts)
            contested = await call(b, "pool_signal", {
                "action": "claimed", "topic": "topic-x", "summary": "B wants x too",
            })
            check(f"{mode}: B's claim of A's topic is contested", contested["holder"] == instance_a, contested)
            check(f"{mode}: the warning names A", any(instance_a in w for w in contested["warnings"]), contested)
            again = await call(a, "pool_signal", {
                "action": "progress", "topic": "topic-x", "summary": "A is still on x",
            })
            check(f"{mode}: A keeps its instance across calls", again["instance"] == instance_a, again)
            status = await call(a, "pool_status", {})
            live = {i["instance"] for i in status["instances"]}
            check(f"{mode}: status lists both agents", {instance_a, instance_b} <= live, status["instances"])
    finally:
        http.stop()


def main() -> None:
    args = common_args(__doc__ or "")
    anyio.run(same_name, args)
    finish()


if __name__ == "__main__":
    main()
