"""The two-agent scenario of issue 3, driven by the official MCP Python SDK.

Agent A and agent B work on one project: they claim topics whose `affects`
overlap, save progress, A hits a blocker and hands its topic off, B takes it
over and completes both. `where_was_i` and `get_progress` are checked after
every step. Over stdio each agent runs its own `cairn mcp` process (as two
editors would); over HTTP both connect to one `cairn mcp --http` with a token.

    python scenario.py --binary BIN --home DIR --project DIR --transport stdio|http --mode legacy|auto
"""

from __future__ import annotations

import json
from typing import Any

import anyio
from harness import (
    call,
    call_refused,
    check,
    common_args,
    connect,
    finish,
    run_cli,
    start_http_server,
)

WORK = "auth-v2"


async def expect_state(client, rounds: list[str], step: str, next_step: str | None) -> None:
    """where_was_i(auth-v2) and get_progress(auth-v2) agree with the rounds saved so far."""
    where = await call(client, "where_was_i", {"session_id": WORK})
    progress = await call(client, "get_progress", {"session_id": WORK})
    series = await call(client, "get_progress", {"session_id": WORK, "latest": False})
    if not rounds:
        check(f"{step}: where_was_i finds nothing yet", where["found"] is False, where)
        check(f"{step}: 'no session found' in words", "No session found" in where["_text"], where["_text"])
        check(f"{step}: get_progress finds nothing yet", progress["found"] is False, progress)
        check(f"{step}: 'no progress found' in words", "No progress found" in progress["_text"], progress)
        return
    latest = progress["checkpoints"][0]
    check(f"{step}: get_progress latest round", latest["round_id"] == rounds[-1], latest)
    check(
        f"{step}: get_progress series oldest first",
        [c["round_id"] for c in series["checkpoints"]] == rounds,
        series["checkpoints"],
    )
    check(f"{step}: where_was_i found", where["found"] and where["session_id"] == WORK, where)
    check(
        f"{step}: where_was_i latest checkpoint",
        where["latest_checkpoint"]["checkpoint_id"] == latest["checkpoint_id"],
        where,
    )
    if next_step is not None:
        check(
            f"{step}: resume brief names the next step",
            next_step in where["resume_brief"] and next_step in where["_text"],
            where["resume_brief"],
        )


async def scenario(args) -> None:
    http = start_http_server(args) if args.transport == "http" else None
    try:
        async with connect(args, "agent-a", http) as a, connect(args, "agent-b", http) as b:
            names = {t.name for t in (await a.list_tools()).tools}
            expected = {
                "save_progress", "where_was_i", "get_progress", "pool_signal",
                "pool_status", "list_sessions", "search_sessions", "recall",
            }
            check("all eight tools listed", expected <= names, names)
            tools = (await a.list_tools()).tools
            check("every tool declares an outputSchema", all(t.output_schema for t in tools), tools)

            # 0. A fresh store: nothing to resume.
            nothing = await call(a, "where_was_i", {})
            check("fresh store: where_was_i() finds nothing", nothing["found"] is False, nothing)
            await expect_state(a, [], "start", None)

            # 1. A claims auth-refresh over src/auth/.
            claim_a = await call(a, "pool_signal", {
                "action": "claimed", "topic": "auth-refresh",
                "summary": "taking the token refresh", "affects": ["src/auth/"],
            })
            instance_a = claim_a["instance"]
            check("A's claim holds the topic", claim_a["holder"] == instance_a and claim_a["topic_state"] == "claimed", claim_a)
            check("A's claim has no conflicts", claim_a["conflicts"] == [] and claim_a["warnings"] == [], claim_a)
            check("instance is client name plus connection", instance_a.startswith("agent-a#"), instance_a)
            await expect_state(a, [], "after A claims", None)

            # 2. B claims login-form over a file inside A's folder: a conflict naming both.
            claim_b = await call(b, "pool_signal", {
                "action": "claimed", "topic": "login-form",
                "summary": "reworking the login form", "affects": "src/auth/login.rs, web/login.html",
            })
            instance_b = claim_b["instance"]
            check("B is another instance", instance_b.startswith("agent-b#") and instance_b != instance_a, instance_b)
            conflicts = claim_b["conflicts"]
            check("B is warned of the overlap", len(conflicts) == 1, claim_b)
            c = conflicts[0]
            check(
                "conflict names both topics and instances",
                (c["topic_a"], c["instance_a"], c["topic_b"], c["instance_b"])
                == ("login-form", instance_b, "auth-refresh", instance_a),
                c,
            )
            check("conflict names both paths", c["path_a"] == "src/auth/login.rs" and c["path_b"] == "src/auth/", c)
            check("conflict warning in words", "auth-refresh" in claim_b["_text"] and "login-form" in claim_b["_text"], claim_b["_text"])
            status = await call(a, "pool_status", {})
            check("status lists both open topics", {t["topic"] for t in status["open_topics"]} == {"auth-refresh", "login-form"}, status)
            check("status lists the conflict", len(status["conflicts"]) == 1, status["conflicts"])
            check("status lists both instances", {i["instance"] for i in status["instances"]} >= {instance_a, instance_b}, status["instances"])
            await expect_state(a, [], "after B claims", None)

            # 3. A starts and saves progress (lists as arrays).
            await call(a, "pool_signal", {"action": "started", "topic": "auth-refresh", "summary": "writing the refresh flow"})
            saved = await call(a, "save_progress", {
                "session_id": WORK,
                "summary": "Refresh tokens rotate on every use; the middleware checks expiry.",
                "files_touched": ["src/auth/refresh.rs", "src/auth/middleware.rs"],
                "decisions_made": ["rotate refresh tokens", "15 minute access tokens"],
                "next_steps": ["store the signing keys", "write the expiry tests"],
            })
            check("save_progress says saved", saved["status"] == "saved" and saved["round_id"] == "1", saved)
            check("save_progress returns a checkpoint id", len(saved["checkpoint_id"]) > 10, saved)
            await expect_state(a, ["1"], "A saved round 1", "store the signing keys")
            await expect_state(b, ["1"], "B sees A's round 1", "store the signing keys")

            # 4. B saves its own work (lists as one separated string); the newest session wins.
            await call(b, "save_progress", {
                "session_id": "login-v1",
                "summary": "Form layout done",
                "files_touched": "web/login.html\nsrc/auth/login.rs",
                "next_steps": "wire the submit handler",
            })
            latest = await call(a, "where_was_i", {})
            check("where_was_i() is the most recent session", latest["session_id"] == "login-v1", latest)
            check("newline separated list parsed", latest["latest_checkpoint"]["files_touched"] == ["web/login.html", "src/auth/login.rs"], latest)
            by_client = await call(b, "where_was_i", {"client": "agent-a"})
            check("where_was_i(client) filters by client", by_client["session_id"] == WORK, by_client)
            await expect_state(b, ["1"], "after B saved", "store the signing keys")

            # 5. A is blocked.
            blocked = await call(a, "pool_signal", {
                "action": "blocked", "topic": "auth-refresh",
                "summary": "waiting for the staging API keys from ops",
            })
            check("topic is blocked", blocked["topic_state"] == "blocked", blocked)
            status = await call(b, "pool_status", {})
            check("status lists the blocker with its summary",
                  [(x["topic"], x["summary"]) for x in status["blockers"]] == [("auth-refresh", "waiting for the staging API keys from ops")],
                  status["blockers"])
            topic = next(t for t in status["open_topics"] if t["topic"] == "auth-refresh")
            check("blocked topic shows holder and since", topic["state"] == "blocked" and topic["holder"] == instance_a and topic["since"], topic)
            check("blocker in the status text", "Blockers (1)" in status["_text"] and "staging API keys" in status["_text"], status["_text"])
            await call(a, "save_progress", {
                "session_id": WORK,
                "summary": "Blocked: the signing keys need the staging API keys.",
                "files_touched": ["src/auth/keys.rs"],
                "decisions_made": ["keys live in the vault"],
                "next_steps": ["ask ops for the staging API keys", "store the signing keys"],
            })
            await expect_state(a, ["1", "2"], "A saved round 2", "ask ops for the staging API keys")
            round1 = await call(b, "get_progress", {"session_id": WORK, "round_id": "1"})
            check("get_progress(round_id) gives that round", [c["round_id"] for c in round1["checkpoints"]] == ["1"], round1)
            round_num = await call(b, "get_progress", {"session_id": WORK, "round_id": 2})
            check("round_id may be a number", [c["round_id"] for c in round_num["checkpoints"]] == ["2"], round_num)

            # 6. A hands off; the hold ends and the conflict with it.
            await call(a, "pool_signal", {"action": "unblocked", "topic": "auth-refresh", "summary": "keys arrived"})
            handoff = await call(a, "pool_signal", {
                "action": "handoff", "topic": "auth-refresh",
                "summary": "keys are in the vault; see auth-v2 round 2",
            })
            check("handoff releases the topic", handoff["holder"] is None and handoff["topic_state"] is None, handoff)
            status = await call(b, "pool_status", {})
            check("handoff listed with its notes", [(h["topic"], h["from"]) for h in status["handoffs"]] == [("auth-refresh", instance_a)], status["handoffs"])
            check("no conflict after the handoff", status["conflicts"] == [], status["conflicts"])
            await expect_state(b, ["1", "2"], "after the handoff", "ask ops for the staging API keys")

            # 7. B takes the topic over, resumes A's work and saves round 3.
            take = await call(b, "pool_signal", {"action": "claimed", "topic": "auth-refresh", "summary": "taking over from A", "affects": ["src/auth/"]})
            check("B now holds the topic", take["holder"] == instance_b and take["warnings"] == [], take)
            resume = await call(b, "where_was_i", {"session_id": WORK})
            check("B's resume brief carries A's decisions", "keys live in the vault" in resume["resume_brief"], resume["resume_brief"])
            await call(b, "save_progress", {
                "session_id": WORK,
                "summary": "Signing keys stored; expiry tests pass.",
                "files_touched": ["src/auth/keys.rs", "tests/expiry.rs"],
                "next_steps": ["open the pull request"],
            })
            await expect_state(a, ["1", "2", "3"], "B saved round 3", "open the pull request")
            latest = await call(a, "get_progress", {"session_id": WORK})
            check("round 3 was saved by agent-b", latest["checkpoints"][0]["client"] == "agent-b", latest)

            # 8. B completes both topics.
            await call(b, "pool_signal", {"action": "completed", "topic": "auth-refresh", "summary": "merged"})
            await call(b, "pool_signal", {"action": "completed", "topic": "login-form", "summary": "merged"})
            status = await call(a, "pool_status", {})
            check("no open topics left", status["open_topics"] == [], status["open_topics"])
            check("both topics recently completed",
                  {c["topic"] for c in status["recently_completed"]} == {"auth-refresh", "login-form"},
                  status["recently_completed"])
            check("no blockers, no conflicts", status["blockers"] == [] and status["conflicts"] == [], status)
            everywhere = await call(a, "pool_status", {"all_projects": True})
            check("all_projects covers this project", everywhere["project"] is None and len(everywhere["recently_completed"]) == 2, everywhere)
            await expect_state(b, ["1", "2", "3"], "after completion", "open the pull request")

            # 9. Listing, search, resources and the resume prompt read the same store.
            listed = await call(a, "list_sessions", {})
            ids = [s["id"] for s in listed["sessions"]]
            check("list_sessions lists both, newest first", ids[:2] == [WORK, "login-v1"], ids)
            limited = await call(a, "list_sessions", {"limit": 1, "project": args.project})
            check("list_sessions honours limit and project", [s["id"] for s in limited["sessions"]] == [WORK], limited)
            found = await call(b, "search_sessions", {"query": "staging API keys"})
            check("search_sessions finds the checkpoint", any(h["id"] == WORK for h in found["hits"]), found)
            resources = await a.list_resources()
            uris = {r.uri for r in resources.resources}
            check("resources list sessions and progress", {"cairn://sessions", "cairn://progress/auth-v2"} <= uris, uris)
            templates = await a.list_resource_templates()
            check("resource templates", {t.uri_template for t in templates.resource_templates} == {"cairn://session/{name}", "cairn://progress/{session_id}"}, templates)
            body = await a.read_resource("cairn://progress/auth-v2")
            series = json.loads(body.contents[0].text)
            check("progress resource has three rounds", [c["round_id"] for c in series["checkpoints"]] == ["1", "2", "3"], series)
            body = await a.read_resource("cairn://session/auth-v2")
            check("session resource is the brief", "open the pull request" in body.contents[0].text, body)
            prompt = await a.get_prompt("resume", {"session_id": WORK})
            text = prompt.messages[0].content.text
            check("resume prompt carries the brief", "Signing keys stored" in text and "open the pull request" in text, text)
            completion = await a.complete(
                mcp_ref("resume"), {"name": "session_id", "value": "auth"}
            )
            check("resume prompt completes session ids", completion.completion.values == [WORK], completion)

            # 10. Bad input is refused and the server keeps serving.
            refusal = await call_refused(a, "pool_signal", {"action": "finished", "topic": "t", "summary": "s"})
            check("unknown action refused with the list", "claimed" in refusal and "signaling" in refusal, refusal)
            refusal = await call_refused(a, "save_progress", {"session_id": WORK})
            check("missing summary named", "summary" in refusal, refusal)
            again = await call(a, "get_progress", {"session_id": WORK})
            check("nothing was written by refused calls", again["checkpoints"][0]["round_id"] == "3", again)

        # 11. The CLI mirrors read the same store.
        cli = run_cli(args, "where", WORK, "--json")
        check("cairn where exits 0", cli.returncode == 0, cli.stderr)
        where = json.loads(cli.stdout)
        check("cairn where matches", where["latest_checkpoint"]["round_id"] == "3" and where["session_id"] == WORK, where)
        cli = run_cli(args, "progress", "get", WORK, "--all", "--json")
        check("cairn progress get --all", [c["round_id"] for c in json.loads(cli.stdout)] == ["1", "2", "3"], cli.stdout)
        cli = run_cli(args, "pool", "status", "--json")
        status = json.loads(cli.stdout)
        check("cairn pool status matches", {c["topic"] for c in status["recently_completed"]} == {"auth-refresh", "login-form"}, status)
        if http is not None:
            check("HTTP server still running", http.alive(), http.stderr_lines)
    finally:
        if http is not None:
            http.stop()


def mcp_ref(name: str) -> Any:
    import mcp.types as mcp_types

    return mcp_types.PromptReference(type="ref/prompt", name=name)


def main() -> None:
    args = common_args(__doc__ or "")
    anyio.run(scenario, args)
    finish()


if __name__ == "__main__":
    main()
