"""A client that offers MCP roots works in the project of its first local root,
not in the directory the HTTP server runs in.

Run by crates/cairn/tests/mcp/mcp_python.rs with the client's project directory
after `--`; the server runs in `--project` (another directory).
"""

from __future__ import annotations

import asyncio
import json
import pathlib
import subprocess
import sys
import time

import httpx2
import mcp.types as mcp_types
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from harness import call, check, common_args, connect, fail_loudly, finish, server_env, start_http_server


def cli_in(args, cwd: str, *cli_args: str) -> subprocess.CompletedProcess[str]:
    """The cairn CLI run in `cwd`, on the server's store."""
    return subprocess.run(
        [args.binary, *cli_args],
        cwd=cwd,
        env=server_env(args),
        capture_output=True,
        text=True,
        timeout=60,
    )


async def main() -> None:
    extra = sys.argv[sys.argv.index("--") + 1 :]
    sys.argv = sys.argv[: sys.argv.index("--")]
    (client_dir,) = extra
    args = common_args("the project of a call comes from the client's MCP roots")
    client_project = str(pathlib.Path(client_dir).resolve())
    server_project = str(pathlib.Path(args.project).resolve())
    root_uri = pathlib.Path(client_project).as_uri()
    missing_uri = pathlib.Path(client_project, "no-such-dir").as_uri()

    async def list_roots(_context) -> mcp_types.ListRootsResult:
        # A root that is no directory here comes first: it is passed over.
        return mcp_types.ListRootsResult(
            roots=[
                mcp_types.Root(uri=missing_uri, name="gone"),
                mcp_types.Root(uri=root_uri, name="checkout"),
            ]
        )

    http = start_http_server(args)
    try:
        headers = {"Authorization": f"Bearer {http.token}"}
        transport = streamable_http_client(
            http.url, http_client=httpx2.AsyncClient(headers=headers, timeout=60)
        )
        info = mcp_types.Implementation(name="rooted", version="1.0")
        async with Client(
            transport,
            mode=args.mode,
            client_info=info,
            read_timeout_seconds=60,
            list_roots_callback=list_roots,
        ) as client:
            saved = await call(
                client,
                "save_progress",
                {"session_id": "roots-work", "summary": "saved from the client's checkout"},
            )
            check("save_progress lands in the root's project", saved["project"] == client_project, saved)
            status = await call(client, "pool_status", {})
            check("pool_status is of the root's project", client_project in status["_text"], status["_text"])

        # A client without roots still works in the server's directory.
        async with connect(args, "rootless", http=http) as client:
            saved = await call(
                client, "save_progress", {"session_id": "server-work", "summary": "saved in the server's directory"}
            )
            check("without roots the server's project is used", saved["project"] == server_project, saved)
    finally:
        http.stop()

    # Over stdio cairn asks right after the handshake; calls never wait for the
    # answer (stdin is not read while the request slots are full), so a first
    # call may still see the server's directory: poll until the answer is in.
    stdio = StdioServerParameters(
        command=args.binary, args=["mcp"], env=server_env(args), cwd=args.project
    )
    info = mcp_types.Implementation(name="rooted-stdio", version="1.0")
    async with Client(
        stdio, mode="legacy", client_info=info, read_timeout_seconds=60, list_roots_callback=list_roots
    ) as client:
        deadline = time.monotonic() + 10
        while True:
            status = await call(client, "pool_status", {})
            if client_project in status["_text"] or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
        check("over stdio the root's project is taken", client_project in status["_text"], status["_text"])
        saved = await call(client, "save_progress", {"session_id": "roots-stdio", "summary": "saved over stdio"})
        check("over stdio save_progress lands in the root's project", saved["project"] == client_project, saved)

    got = cli_in(args, client_project, "progress", "get", "roots-work", "--json")
    check("cairn progress get in the root's project finds it", got.returncode == 0, got.stderr)
    check("its project is the root's", f"'project': '{client_project}'" in str(json.loads(got.stdout)), got.stdout)
    where = cli_in(args, client_project, "where", "roots-work", "--json")
    check("cairn where names the root's project", json.loads(where.stdout)["project"] == client_project, where.stdout)
    # The pool is per project: the rooted client was heard from in the root's project only.
    here = cli_in(args, client_project, "pool", "status", "--json")
    check("cairn pool status in the root's project lists the client", '"rooted"' in here.stdout, here.stdout)
    there = cli_in(args, server_project, "pool", "status", "--json")
    check("cairn pool status in the server's directory does not", '"rooted"' not in there.stdout, there.stdout)
    finish()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except Exception as error:  # noqa: BLE001 - any failure fails the test
        fail_loudly(error)
