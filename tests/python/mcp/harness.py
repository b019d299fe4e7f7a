"""Shared helpers for cairn's MCP client tests: start `cairn mcp` over stdio or
HTTP, connect with the official MCP Python SDK, and count checks so that the
Rust test driving a script can see that every check ran.

Every script prints `CHECK <name>` per passed check and ends with
`PASSED <n> checks`; any failure raises, which exits non-zero.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx2
import mcp.types as mcp_types
from mcp import Client, MCPError, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

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
    parser.add_argument("--home", required=True, help="CAIRN_HOME for the servers")
    parser.add_argument("--project", required=True, help="project directory (server cwd)")
    parser.add_argument("--transport", choices=["stdio", "http"], default="stdio")
    parser.add_argument("--mode", choices=["legacy", "auto"], default="legacy")
    return parser.parse_args()


def server_env(args: argparse.Namespace, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["CAIRN_HOME"] = args.home
    env.pop("CAIRN_INSTANCE", None)
    env.pop("CAIRN_TOKEN", None)
    env.setdefault("CAIRN_LOG", "warn")
    env.update(extra)
    return env


@dataclass
class HttpServer:
    """A `cairn mcp --http` process and the URL it listens on."""

    process: subprocess.Popen[bytes]
    url: str
    token: str | None
    stderr_lines: list[str] = field(default_factory=list)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def alive(self) -> bool:
        return self.process.poll() is None


def start_http_server(
    args: argparse.Namespace, token: str | None = "test-token", extra_args: list[str] | None = None
) -> HttpServer:
    """Start `cairn mcp --http 127.0.0.1:0` and wait for its listening line."""
    command = [args.binary, "mcp", "--http", "127.0.0.1:0"] + (extra_args or [])
    env = server_env(args)
    if token is not None:
        env["CAIRN_TOKEN"] = token
    else:
        # Without one, cairn generates a token file; these tests opt out.
        command.append("--no-token")
    process = subprocess.Popen(
        command,
        cwd=args.project,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    lines: list[str] = []
    url_holder: list[str] = []
    ready = threading.Event()

    def pump() -> None:
        assert process.stderr is not None
        for raw in process.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            lines.append(line)
            match = re.search(r"listening on (http://\S+)", line)
            if match and not url_holder:
                url_holder.append(match.group(1))
                ready.set()
        ready.set()

    threading.Thread(target=pump, daemon=True).start()
    if not ready.wait(timeout=30) or not url_holder:
        process.kill()
        raise RuntimeError(f"cairn mcp --http did not start: {lines}")
    return HttpServer(process=process, url=url_holder[0], token=token, stderr_lines=lines)


@contextlib.asynccontextmanager
async def connect(
    args: argparse.Namespace,
    client_name: str,
    http: HttpServer | None = None,
    mode: str | None = None,
    env: dict[str, str] | None = None,
    instance: str | None = None,
) -> AsyncIterator[Client]:
    """An SDK client named `client_name`: over stdio its own `cairn mcp`
    process (as each editor starts one), over HTTP a connection to `http`."""
    info = mcp_types.Implementation(name=client_name, version="1.0")
    mode = mode or args.mode
    if http is None:
        params = StdioServerParameters(
            command=args.binary,
            args=["mcp"],
            env=env or server_env(args),
            cwd=args.project,
        )
        async with Client(params, mode=mode, client_info=info, read_timeout_seconds=60) as client:
            yield client
    else:
        headers = {"Authorization": f"Bearer {http.token}"} if http.token else {}
        if instance is not None:
            # The client's own instance id: stateless requests carry no session.
            headers["Cairn-Instance"] = instance
        transport = streamable_http_client(
            http.url, http_client=httpx2.AsyncClient(headers=headers, timeout=60)
        )
        async with Client(transport, mode=mode, client_info=info, read_timeout_seconds=60) as client:
            yield client


async def call(client: Client, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """Call a tool that must succeed; check it returned markdown text and
    structured content (which the SDK validates against the outputSchema)."""
    result = await client.call_tool(tool, arguments)
    if result.is_error:
        raise AssertionError(f"{tool} failed: {result.content}")
    texts = [c.text for c in result.content if getattr(c, "type", None) == "text"]
    if not texts or not texts[0].strip():
        raise AssertionError(f"{tool} returned no text content")
    if not isinstance(result.structured_content, dict):
        raise AssertionError(f"{tool} returned no structured content")
    structured = dict(result.structured_content)
    structured["_text"] = texts[0]
    return structured


async def call_error(client: Client, tool: str, arguments: Any) -> MCPError:
    """Call a tool that must be refused at the protocol level (unknown tool,
    malformed request) with a JSON-RPC error."""
    try:
        result = await client.call_tool(tool, arguments)
    except MCPError as error:
        return error
    raise AssertionError(f"{tool} was not refused: {result}")


async def call_refused(client: Client, tool: str, arguments: Any) -> str:
    """Call a tool whose arguments must be refused: a tool result with
    `isError: true` (MCP 2025-11-25) whose text names the argument; returns it."""
    result = await client.call_tool(tool, arguments)
    if not result.is_error:
        raise AssertionError(f"{tool} was not refused: {result}")
    texts = [c.text for c in result.content if getattr(c, "type", None) == "text"]
    if not texts:
        raise AssertionError(f"{tool} refusal carries no text: {result}")
    return texts[0]


def run_cli(args: argparse.Namespace, *cli_args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run the cairn CLI against the same store."""
    return subprocess.run(
        [args.binary, *cli_args],
        cwd=args.project,
        env=server_env(args),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def wait_until(predicate, timeout: float = 10.0, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def fail_loudly(error: BaseException) -> None:
    print(f"FAILED: {error}", file=sys.stderr, flush=True)
    raise SystemExit(1)
