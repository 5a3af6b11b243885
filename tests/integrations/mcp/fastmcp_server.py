"""A FastMCP server for the MCP client tests: in memory (``build_server()``) or, run as a
script, over stdio. Events the tests check on the server side (a cancelled call) are recorded
in ``server.events`` and, for a subprocess, written to stderr... no: to the file named by the
``EVENTS_FILE`` environment variable, one line each."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

import mcp_types
from fastmcp import Context, FastMCP


class Recorder:
    def __init__(self, path: str | None) -> None:
        self.events: list[str] = []
        self._path = path

    def add(self, event: str) -> None:
        self.events.append(event)
        if self._path:
            with open(self._path, "a", encoding="utf-8") as file:
                file.write(event + "\n")


def build_server(
    name: str = "demo", events_file: str | None = None
) -> tuple[FastMCP[Any], Recorder]:
    server: FastMCP[Any] = FastMCP(name)
    recorder = Recorder(events_file)

    @server.tool(annotations={"readOnlyHint": True})
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    @server.tool
    def profile(user: str) -> dict[str, Any]:
        """A user's profile."""
        return {"user": user, "admin": user == "root"}

    @server.tool
    def fail(reason: str) -> str:
        """Always fails with the reason."""
        raise ValueError(f"refused: {reason}")

    @server.tool
    async def hang(label: str) -> str:
        """Never answers unless cancelled."""
        recorder.add(f"started {label}")
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            recorder.add(f"cancelled {label}")
            raise
        return "never"

    @server.tool
    def traceparent(ctx: Context) -> str:
        """The traceparent the call carried in params._meta ('' without one)."""
        meta = ctx.request_context.meta if ctx.request_context else None
        return str((meta or {}).get("traceparent", ""))

    @server.tool
    def pid() -> int:
        """This server's process id."""
        return os.getpid()

    @server.tool
    async def grow(tool_name: str, ctx: Context) -> str:
        """Adds a tool named tool_name and tells the client its tool list changed."""

        def added() -> str:
            return f"I am {tool_name}"

        server.tool(name=tool_name, description=f"added at run time: {tool_name}")(added)
        await ctx.send_notification(mcp_types.ToolListChangedNotification())
        return "grown"

    @server.tool
    def die() -> str:
        """Exits the server process at once, mid-call."""
        os._exit(3)

    return server, recorder


if __name__ == "__main__":
    fastmcp_server, _ = build_server(
        sys.argv[1] if len(sys.argv) > 1 else "demo", os.environ.get("EVENTS_FILE")
    )
    fastmcp_server.run(show_banner=False)
