"""A tiny MCP server on the official Python SDK (MCPServer, formerly FastMCP), spoken
to by cairn's MCP client in crates/cairn/tests/run/run_mcp_client.rs: over stdio, or with
`--http` over streamable HTTP on 127.0.0.1 (a free port, printed as the first line),
where every request must carry `Authorization: Bearer $TINY_HTTP_TOKEN` and
`X-Tiny: hello`."""

import asyncio
import base64
import os
import socket
import sys

from mcp import types
from mcp.server.mcpserver import MCPServer

server = MCPServer("tiny")


@server.tool()
def shout(text: str) -> str:
    """Upper-case the text and add an exclamation mark."""
    return text.upper() + "!"


@server.tool()
async def sleepy(seconds: float) -> str:
    """Answer after a while."""
    await asyncio.sleep(seconds)
    return "woke up"


@server.tool()
def crash() -> str:
    """Stop the server process at once."""
    os._exit(3)


@server.tool()
def has_token() -> str:
    """Say whether TINY_TOKEN reached the server (never its value)."""
    return "token: " + ("set" if os.environ.get("TINY_TOKEN") == "tiny-s3cret-value" else "missing")


# The smallest valid PNG: one transparent pixel.
PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


@server.tool()
def gallery(words: int) -> types.CallToolResult:
    """Answer with text (`words` words), an image and structured content."""
    return types.CallToolResult(
        content=[
            types.TextContent(type="text", text=" ".join(f"w{i}" for i in range(words))),
            types.ImageContent(
                type="image", data=base64.b64encode(PIXEL).decode(), mime_type="image/png"
            ),
        ],
        structured_content={"pixels": 1, "words": words},
    )


def guarded(app, token):
    """Refuse requests without the bearer token and the X-Tiny header."""

    async def guard(scope, receive, send):
        if scope["type"] == "http":
            headers = dict(scope["headers"])
            if (
                headers.get(b"authorization") != f"Bearer {token}".encode()
                or headers.get(b"x-tiny") != b"hello"
            ):
                await send(
                    {
                        "type": "http.response.start",
                        "status": 401,
                        "headers": [(b"www-authenticate", b"Bearer"), (b"content-type", b"text/plain")],
                    }
                )
                await send({"type": "http.response.body", "body": b"no entry"})
                return
        await app(scope, receive, send)

    return guard


def serve_http():
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    print(sock.getsockname()[1], flush=True)
    app = guarded(server.streamable_http_app(), os.environ["TINY_HTTP_TOKEN"])
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    asyncio.run(uvicorn.Server(config).serve(sockets=[sock]))


if __name__ == "__main__":
    if "--http" in sys.argv:
        serve_http()
    else:
        server.run()
