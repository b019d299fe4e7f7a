"""A tiny MCP server on the official Python SDK (MCPServer, formerly FastMCP), spoken
to over stdio by cairn's MCP client in crates/cairn/tests/run_mcp_client.rs."""

import asyncio
import os

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


if __name__ == "__main__":
    server.run()
