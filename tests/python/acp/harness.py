"""Shared helpers for cairn's ACP client tests: spawn `cairn acp` over stdio and
drive it with the official ACP Python SDK (PyPI `agent-client-protocol`, module
`acp`), recording every update and permission request the agent sends.

Every script prints `CHECK <name>` per passed check and ends with
`PASSED <n> checks`; any failure raises, which exits non-zero.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from typing import Any

import acp
from acp.schema import (
    AllowedOutcome,
    DeniedOutcome,
    RequestPermissionResponse,
)

_checks: list[str] = []


def check(name: str, condition: bool, detail: Any = None) -> None:
    """Assert `condition`; record and print the check's name when it holds."""
    if not condition:
        raise AssertionError(f"check failed: {name}: {detail!r}")
    _checks.append(name)
    print(f"CHECK {name}", flush=True)


def finish() -> None:
    print(f"PASSED {len(_checks)} checks", flush=True)


def common_args(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--binary", required=True, help="path to the cairn binary")
    parser.add_argument("--home", required=True, help="CAIRN_HOME for the agent")
    parser.add_argument("--project", required=True, help="project directory (agent cwd)")
    parser.add_argument("--openai-base-url", required=True, help="the fake provider")
    parser.add_argument("--scenario", required=True)
    parser.add_argument("--session", default=None, help="a session name to load")
    return parser.parse_args()


def agent_env(args: argparse.Namespace) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", args.home),
        "LANG": "C.UTF-8",
        "CAIRN_HOME": args.home,
        "CAIRN_LOG": "warn",
        "OPENAI_API_KEY": "test-key",
        "OPENAI_BASE_URL": args.openai_base_url,
        "CAIRN_MODEL": "openai:gpt-4.1",
    }


class RecordingClient:
    """An ACP client that keeps every update and answers permission requests with
    the next queued option id (or cancels when none is queued)."""

    def __init__(self) -> None:
        self.updates: list[tuple[str, Any]] = []
        self.permission_requests: list[Any] = []
        self.answers: list[str] = []
        self.new_update = asyncio.Event()

    async def request_permission(
        self, options: list[Any], session_id: str, tool_call: Any, **kwargs: Any
    ) -> RequestPermissionResponse:
        self.permission_requests.append(
            {"session_id": session_id, "tool_call": tool_call, "options": options}
        )
        if self.answers:
            return RequestPermissionResponse(
                outcome=AllowedOutcome(option_id=self.answers.pop(0), outcome="selected")
            )
        return RequestPermissionResponse(outcome=DeniedOutcome(outcome="cancelled"))

    async def session_update(self, session_id: str, update: Any, **kwargs: Any) -> None:
        self.updates.append((session_id, update))
        self.new_update.set()

    # The file-system and terminal methods are not advertised, so never called.
    async def write_text_file(self, *args: Any, **kwargs: Any) -> Any:
        raise acp.RequestError.method_not_found("fs/write_text_file")

    async def read_text_file(self, *args: Any, **kwargs: Any) -> Any:
        raise acp.RequestError.method_not_found("fs/read_text_file")

    def on_connect(self, conn: Any) -> None:
        pass

    def kinds(self, start: int = 0) -> list[str]:
        return [u.session_update for _, u in self.updates[start:]]

    def of_kind(self, kind: str, start: int = 0) -> list[Any]:
        return [u for _, u in self.updates[start:] if u.session_update == kind]

    def agent_text(self, start: int = 0) -> str:
        return "".join(
            u.content.text
            for u in self.of_kind("agent_message_chunk", start)
            if getattr(u.content, "type", None) == "text"
        )

    async def wait_for(self, what: str, predicate: Any, timeout: float = 30.0) -> None:
        """Wait until `predicate()` holds, polling on each new update."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"timed out waiting for {what}")
            self.new_update.clear()
            try:
                await asyncio.wait_for(self.new_update.wait(), timeout=remaining)
            except asyncio.TimeoutError:
                pass
