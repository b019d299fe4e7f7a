"""Many clients at once on one store: several SDK clients over HTTP (legacy and
2026-07-28 modes) and two more `cairn mcp` stdio processes, all saving
checkpoints and claiming topics at the same time. Nothing may be lost: every
checkpoint is there, the shared session id gets every round number exactly
once (rounds are assigned across processes), and every topic claimed over HTTP
is open (the stdio processes have ended, which released theirs).

    python concurrency.py --binary BIN --home DIR --project DIR
"""

from __future__ import annotations

import anyio
from harness import call, check, common_args, connect, finish, start_http_server

HTTP_CLIENTS = 6
STDIO_CLIENTS = 2
ROUNDS = 15
SHARED = "shared-work"


async def worker(args, name: str, http, mode: str, saved: dict[str, list[str]], signals: list[int]) -> None:
    async with connect(args, name, http, mode=mode) as client:
        own = f"own-{name}"
        for i in range(ROUNDS):
            result = await call(client, "save_progress", {"session_id": own, "summary": f"{name} step {i}"})
            saved.setdefault(own, []).append(result["round_id"])
            result = await call(client, "save_progress", {
                "session_id": SHARED, "summary": f"{name} shared step {i}", "files_touched": [f"src/{name}.rs"],
            })
            saved.setdefault(SHARED, []).append(result["round_id"])
            result = await call(client, "pool_signal", {
                "action": "claimed", "topic": f"{name}-topic-{i}", "summary": f"{name} works on {i}",
                "affects": [f"src/{name}/{i}.rs"],
            })
            signals.append(result["signal_id"])


async def run(args) -> None:
    http = start_http_server(args)
    saved: dict[str, list[str]] = {}
    signals: list[int] = []
    try:
        async with anyio.create_task_group() as group:
            for n in range(HTTP_CLIENTS):
                mode = "legacy" if n % 2 == 0 else "auto"
                group.start_soon(worker, args, f"http{n}", http, mode, saved, signals)
            for n in range(STDIO_CLIENTS):
                group.start_soon(worker, args, f"stdio{n}", None, "legacy", saved, signals)
        clients = HTTP_CLIENTS + STDIO_CLIENTS
        total = clients * ROUNDS
        check("every call answered", len(signals) == total and len(saved[SHARED]) == total, (len(signals), len(saved[SHARED])))
        check("signal ids are unique", len(set(signals)) == total, sorted(signals))
        shared_rounds = sorted(int(r) for r in saved[SHARED])
        check("shared session: every round exactly once", shared_rounds == list(range(1, total + 1)), shared_rounds)

        async with connect(args, "auditor", http, mode="legacy") as auditor:
            series = await call(auditor, "get_progress", {"session_id": SHARED, "latest": False})
            stored = [c["round_id"] for c in series["checkpoints"]]
            check("shared session: every checkpoint stored", sorted(int(r) for r in stored) == list(range(1, total + 1)), stored)
            for n in range(HTTP_CLIENTS):
                own = f"own-http{n}"
                series = await call(auditor, "get_progress", {"session_id": own, "latest": False})
                check(f"{own}: rounds 1..{ROUNDS} in order", [c["round_id"] for c in series["checkpoints"]] == [str(i) for i in range(1, ROUNDS + 1)], series)
            for n in range(STDIO_CLIENTS):
                own = f"own-stdio{n}"
                series = await call(auditor, "get_progress", {"session_id": own, "latest": False})
                check(f"{own}: rounds 1..{ROUNDS} in order", len(series["checkpoints"]) == ROUNDS, series)
            status = await call(auditor, "pool_status", {})
            topics = {t["topic"] for t in status["open_topics"]}
            expected = {f"http{n}-topic-{i}" for n in range(HTTP_CLIENTS) for i in range(ROUNDS)}
            check("every claimed topic is open", topics == expected, sorted(expected ^ topics))
            # The stdio processes have ended: their connections' topics were released.
            released = {t["topic"] for t in status["open_topics"] if t["topic"].startswith("stdio")}
            check("stdio topics released when their connection closed", not released, sorted(released))
            check("every client is an active instance", len(status["instances"]) >= clients, status["instances"])
        check("server still running", http.alive(), http.stderr_lines)
    finally:
        http.stop()


def main() -> None:
    args = common_args(__doc__ or "")
    anyio.run(run, args)
    finish()


if __name__ == "__main__":
    main()
