"""Telling connected clients that the tool list changed (``notifications/tools/list_changed``).

The server announces ``tools.listChanged: true`` and sends the notification when the
registry's ``revision`` moved since the last announcement. MCP delivers it two ways,
by protocol era:

- 2026-07-28 and later: only on ``subscriptions/listen`` streams the client opened. The
  SDK's :class:`~mcp.server.subscriptions.ListenHandler` serves them; the change is
  published on its in-process bus.
- handshake era (2025-11-25 and before): on each connection's standalone channel (stdio,
  the in-memory pipe, the HTTP GET stream). Connections are remembered (weakly) from the
  requests they make, and forgotten when they close.

The revision is compared (one integer) before and after each request the server handles,
so a call that changes the registry (a tool that installs another) is announced as soon as
it ends; :meth:`McpServer.watch <toolware.integrations.mcp.server.McpServer.watch>` also
checks it on an interval, for changes made outside any request.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Any

import anyio
from mcp.server.connection import Connection
from mcp.server.context import ServerRequestContext
from mcp.server.subscriptions import InMemorySubscriptionBus, ListenHandler, ToolsListChanged
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from toolware.registry.base import Registry

__all__ = ["NOTIFY_TIMEOUT", "ToolListChanges"]

logger = logging.getLogger("toolware.mcp")

NOTIFY_TIMEOUT = 5.0
"""Seconds a handshake-era session's notification may wait for its stream to take it."""


class ToolListChanges:
    """The registry revision last announced, and who to tell when it moves."""

    __slots__ = ("_announced", "_bus", "_connections", "_registry", "_sending", "listen")

    def __init__(self, registry: Registry) -> None:
        self._registry = registry
        self._announced = registry.revision
        self._bus = InMemorySubscriptionBus()
        self._connections: weakref.WeakSet[Connection] = weakref.WeakSet()
        self._sending: set[asyncio.Task[None]] = set()
        self.listen = ListenHandler(self._bus)
        """The ``subscriptions/listen`` request handler (2026-07-28 clients)."""

    def track(self, ctx: ServerRequestContext[Any, Any]) -> None:
        """Remember the connection of a handshake-era request, to notify it later."""
        if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS:
            return
        # The SDK's request context names the session, not its connection; the session
        # holds it (there is no public accessor in mcp 2.x). Without it nothing is sent.
        connection = getattr(ctx.session, "_connection", None)
        if isinstance(connection, Connection) and connection not in self._connections:
            self._connections.add(connection)
            connection.exit_stack.callback(self._connections.discard, connection)

    async def announce(self) -> bool:
        """Notify every listener if the registry's revision moved; whether it did."""
        revision = self._registry.revision
        if revision == self._announced:
            return False
        self._announced = revision
        connections = list(self._connections)
        logger.debug(
            "mcp_server.tools_changed revision=%s connections=%d",
            revision,
            len(connections),
            extra={"revision": revision, "connections": len(connections)},
        )
        await self._bus.publish(ToolsListChanged())
        if connections:
            # In the background: a client that stops reading its stream must not hold up the
            # answer to the request that made the change, nor the other clients.
            task = asyncio.create_task(_notify(connections), name="mcp_server.tools_changed")
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)
        return True


async def _notify(connections: list[Connection]) -> None:
    async def send(connection: Connection) -> None:
        # Best effort by the SDK's contract: a closed channel drops it, never raises; a
        # stuck one is given up after NOTIFY_TIMEOUT seconds.
        with anyio.move_on_after(NOTIFY_TIMEOUT):
            await connection.send_tool_list_changed()

    await asyncio.gather(*(send(connection) for connection in connections))
