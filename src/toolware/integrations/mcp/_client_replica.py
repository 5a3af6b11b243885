"""One replica of a remote MCP server: its connection, owned by one task, and its state.

The SDK's connections hold anyio task groups and cancel scopes, which belong to the task that
entered them; so each replica has one owner task that connects, lists the tools, waits, and
disconnects. Calls run in the callers' tasks and only send requests over the open session.

The owner task loops: connect → ``tools/list`` → *up* (relist on ``notifications/tools/
list_changed``) until the connection ends → *down* → wait :class:`Backoff` (on the injected
clock, with the injected random source) → connect again. A call that finds the connection
closed marks the replica down at once, so the next call goes to another replica.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from enum import StrEnum
from typing import Any

import mcp_types
from mcp import Client
from mcp.client import Transport
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from toolware._limits import bounded
from toolware.clock import Clock
from toolware.errors import describe_exception
from toolware.integrations.mcp._client_backoff import Backoff
from toolware.integrations.mcp._client_targets import WatchedTransport

__all__ = ["MAX_PAGES", "Replica", "ReplicaState"]

logger = logging.getLogger("toolware.integrations.mcp")

MAX_PAGES = 100
"""Most ``tools/list`` pages read per listing: a server whose cursor never ends cannot hang it."""

_MAX_REASON = 300


class ReplicaState(StrEnum):
    CONNECTING = "connecting"
    UP = "up"
    DOWN = "down"
    STOPPED = "stopped"


def _reason(exc: BaseException) -> str:
    # anyio task groups wrap the real failure; the first leaf is the one that says what failed.
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return bounded(describe_exception(exc), _MAX_REASON)


class Replica:
    """A connection to one replica; :meth:`run` is its owner task."""

    def __init__(
        self,
        index: int,
        label: str,
        factory: Callable[[], Transport],
        *,
        backoff: Backoff,
        clock: Clock,
        random: Callable[[], float],
        mode: str,
        list_timeout: float,
        on_listing: Callable[[Replica, list[mcp_types.Tool]], None],
        on_state: Callable[[Replica], None],
    ) -> None:
        self.index = index
        self.label = label
        self._factory = factory
        self._backoff = backoff
        self._clock = clock
        self._random = random
        self._mode = mode
        self._list_timeout = list_timeout
        self._on_listing = on_listing
        self._on_state = on_state
        self.state = ReplicaState.CONNECTING
        self.reason = ""
        self.failures = 0
        self.connections = 0
        self.client: Client | None = None
        self.attempted = asyncio.Event()  # set after the first connection attempt ends either way
        self._wake = asyncio.Event()
        self._stopping = False
        self._refresh = False
        self._ended: str | None = None

    def _set(self, state: ReplicaState, reason: str = "") -> None:
        self.state, self.reason = state, reason
        self._on_state(self)

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    def refresh(self) -> None:
        """Relist the tools soon (in the owner task)."""
        self._refresh = True
        self._wake.set()

    def broken(self, reason: str) -> None:
        """A call found the connection gone: down now, reconnect from the owner task."""
        if self.state is ReplicaState.UP:
            self.client = None
            self._set(ReplicaState.DOWN, reason)
        if self._ended is None:
            self._ended = reason
        self._wake.set()

    def _connection_ended(self) -> None:
        self.broken("the connection ended")

    async def _on_message(self, message: Any) -> None:
        if isinstance(message, mcp_types.ToolListChangedNotification):
            logger.debug("mcp_client.list_changed replica=%s", self.label)
            self.refresh()

    async def run(self) -> None:
        try:
            await self._serve()
        finally:  # a stop, or the owner task cancelled by aclose() after its timeout
            self.client = None
            self._set(ReplicaState.STOPPED, "the registry was closed")
            self.attempted.set()

    async def _serve(self) -> None:
        while not self._stopping:
            self._set(ReplicaState.CONNECTING)
            try:
                reason = await self._connected()
            except Exception as exc:
                reason = _reason(exc)
            self.client = None
            if self._stopping:
                return
            self.failures += 1
            self._set(ReplicaState.DOWN, reason)
            self.attempted.set()
            delay = self._backoff.delay(self.failures, self._random)
            logger.warning(
                "mcp_client.replica_down replica=%s reason=%s retry_in=%.3f",
                self.label,
                reason,
                delay,
                extra={"replica": self.label, "reason": reason, "retry_in": delay},
            )
            await self._pause(delay)

    async def _pause(self, delay: float) -> None:
        """Sleep ``delay`` on the clock, or less if the replica is stopped meanwhile."""
        sleep = asyncio.ensure_future(self._clock.sleep(delay))
        try:
            # Only a stop ends the pause early; a stale wake-up (the old connection's end
            # reported late) just waits again.
            while not self._stopping and not sleep.done():
                self._wake.clear()
                woken = asyncio.ensure_future(self._wake.wait())
                try:
                    await asyncio.wait({sleep, woken}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    woken.cancel()
        finally:
            sleep.cancel()

    async def _connected(self) -> str:
        """Connect, list, serve until the connection ends (its reason) or a stop ("")."""
        self._ended = None
        self._wake.clear()
        transport = WatchedTransport(self._factory(), self._connection_ended)
        async with Client(
            transport,
            mode=self._mode,
            message_handler=self._on_message,
            read_timeout_seconds=self._list_timeout,
            cache=None,
        ) as client:
            tools = await self._list(client)
            if self._ended is not None:
                return self._ended
            self.client = client
            self.failures = 0
            self.connections += 1
            self._set(ReplicaState.UP)
            logger.info(
                "mcp_client.replica_up replica=%s tools=%d",
                self.label,
                len(tools),
                extra={"replica": self.label, "tools": len(tools)},
            )
            self._on_listing(self, tools)
            self.attempted.set()
            listener = self._listen(client)
            try:
                while True:
                    await self._wake.wait()
                    self._wake.clear()
                    if self._stopping:
                        return ""
                    if self._ended is not None:
                        return self._ended
                    if self._refresh:
                        self._refresh = False
                        self._on_listing(self, await self._list(client))
            finally:
                if listener is not None:
                    listener.cancel()
                    await asyncio.gather(listener, return_exceptions=True)

    def _listen(self, client: Client) -> asyncio.Task[None] | None:
        """On 2026-07-28 connections list_changed comes only on a ``subscriptions/listen``
        stream: open one when the server announces ``tools.listChanged``."""
        session = client.session
        tools = session.server_capabilities.tools if session.server_capabilities else None
        if session.protocol_version not in MODERN_PROTOCOL_VERSIONS or not (
            tools is not None and tools.list_changed
        ):
            return None
        return asyncio.create_task(self._listened(client), name=f"mcp-listen:{self.label}")

    async def _listened(self, client: Client) -> None:
        try:
            async with client.listen(tools_list_changed=True) as subscription:
                async for _ in subscription:
                    logger.debug("mcp_client.list_changed replica=%s", self.label)
                    self.refresh()
        except Exception as exc:
            # The connection stays usable without it: only later changes go unseen until a
            # reconnection or refresh().
            logger.warning(
                "mcp_client.listen_failed replica=%s reason=%s",
                self.label,
                _reason(exc),
                extra={"replica": self.label, "reason": _reason(exc)},
            )

    async def _list(self, client: Client) -> list[mcp_types.Tool]:
        tools: list[mcp_types.Tool] = []
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            page = await client.list_tools(cursor=cursor)
            tools.extend(page.tools)
            cursor = page.next_cursor
            if cursor is None:
                return tools
        raise RuntimeError(f"tools/list did not end after {MAX_PAGES} pages")
