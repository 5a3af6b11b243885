"""The stdio MCP server benchmarks/mcp_client.py calls: one FastMCP tool, ``add(a, b)``."""

from __future__ import annotations

from fastmcp import FastMCP

server: FastMCP[None] = FastMCP("bench")


@server.tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


if __name__ == "__main__":
    server.run(show_banner=False)
