"""What a replica connects to, turned into a fresh MCP transport for each connection.

A transport is an async context manager that can be entered once, so a replica keeps a
*factory* and asks it for a new transport on every (re)connection:

- ``"http://host:port/mcp"`` (a URL): streamable HTTP;
- :class:`mcp.StdioServerParameters`: a subprocess spoken to over stdin/stdout;
- an :class:`mcp.server.Server`, an SDK ``MCPServer``, a FastMCP server or toolware's own
  ``McpServer``: the SDK's in-memory transport, in this process (the server runs in the
  replica's task);
- a function of no arguments returning an :class:`mcp.client.Transport`: anything else.

The transport's read stream is watched, so the replica learns at once that its connection
ended (a server process that exited, a closed HTTP session), before any call notices.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

import anyio
from mcp import StdioServerParameters
from mcp.client import Transport
from mcp.client._memory import InMemoryTransport
from mcp.client._transport import TransportStreams
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.server import Server
from mcp.server.mcpserver import MCPServer
from mcp.shared._stream_protocols import ReadStream
from mcp.shared.message import SessionMessage

__all__ = ["McpTarget", "WatchedTransport", "transport_factory"]

McpTarget = str | StdioServerParameters | Server[Any] | MCPServer | Callable[[], Transport] | Any
"""What :class:`~toolware.integrations.mcp.client.McpRegistry` accepts per replica (see the
module); ``Any`` covers FastMCP servers, recognised by their low-level ``Server``."""

_ACCEPTED = (
    "a URL string (streamable HTTP), mcp.StdioServerParameters, an mcp Server / MCPServer / "
    "FastMCP / toolware McpServer (in memory), or a function of no arguments returning an mcp "
    "Transport"
)


def _lowlevel(target: Any) -> Server[Any] | MCPServer | None:
    if isinstance(target, Server | MCPServer):
        return target
    # toolware's own McpServer holds its SDK server in `server` (not imported here: the
    # client must not load the server's modules).
    if type(target).__module__ == "toolware.integrations.mcp.server":
        inner = getattr(target, "server", None)
        return inner if isinstance(inner, Server) else None
    # FastMCP keeps its SDK server in `_mcp_server`; its own in-memory transport reads it there.
    # Checked on the class's bases too: applications subclass FastMCP.
    if not any(cls.__module__.startswith("fastmcp") for cls in type(target).__mro__):
        return None
    inner = getattr(target, "_mcp_server", None)
    return inner if isinstance(inner, Server) else None


def transport_factory(target: McpTarget) -> tuple[str, Callable[[], Transport]]:
    """``(label, factory)`` for a replica target; ``TypeError`` naming what is accepted."""
    if isinstance(target, str):
        if not target.startswith(("http://", "https://")):
            raise ValueError(
                f"an MCP server URL must start with http:// or https://, got {target[:80]!r}"
            )
        return target, lambda: streamable_http_client(target)
    if isinstance(target, StdioServerParameters):
        label = "stdio: " + " ".join([target.command, *target.args])[:120]
        return label, lambda: stdio_client(target)
    server = _lowlevel(target)
    if server is not None:
        return f"memory: {getattr(server, 'name', 'server')}", lambda: InMemoryTransport(server)
    if callable(target):
        return f"transport: {getattr(target, '__name__', type(target).__name__)}", target
    raise TypeError(f"an MCP replica must be {_ACCEPTED}; got {type(target).__name__}")


class _WatchedReadStream:
    """A read stream that calls ``on_end`` once when the connection's messages end."""

    def __init__(self, inner: ReadStream[SessionMessage | Exception], on_end: Callable[[], None]):
        self._inner = inner
        self._on_end = on_end

    @property
    def last_context(self) -> Any:
        # The dispatcher reads the sender's contextvars from streams that carry them.
        return getattr(self._inner, "last_context", None)

    async def receive(self) -> SessionMessage | Exception:
        try:
            return await self._inner.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError):
            self._on_end()
            raise

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> SessionMessage | Exception:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class WatchedTransport:
    """A transport whose read stream reports its end to ``on_end``."""

    def __init__(self, inner: Transport, on_end: Callable[[], None]) -> None:
        self._inner = inner
        self._on_end = on_end

    async def __aenter__(self) -> TransportStreams:
        read, write = await self._inner.__aenter__()
        return _WatchedReadStream(read, self._on_end), write

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> bool | None:
        return await self._inner.__aexit__(exc_type, exc_val, exc_tb)
