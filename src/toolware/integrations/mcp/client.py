"""Remote MCP servers as a registry source: each call goes through the local pipeline first.

    registry = McpRegistry(StdioServerParameters(command="python", args=["server.py"]),
                           name="files")
    async with registry, default_pipeline(registry) as pipeline:
        response = await pipeline.invoke("read_file", {"path": "README.md"})

A :class:`McpRegistry` connects to one MCP server, through one or more *replicas* (copies of
the same server: a URL for streamable HTTP, :class:`mcp.StdioServerParameters` for a
subprocess, an SDK or FastMCP server object for the in-memory transport, or a function
returning a transport). It keeps the server's ``tools/list`` as a local catalogue, so
``resolve`` stays synchronous, and relists when the server sends
``notifications/tools/list_changed`` (on a ``subscriptions/listen`` stream it opens, on
2026-07-28 connections to a server that announces ``tools.listChanged``); ``revision``
moves when the catalogue changes.

**Calls.** Each remote tool is an entry (a tool of the server's name, or, for ``notes.add``,
the action ``add`` of the plugin ``notes``; ``names={"remote": "local"}`` exposes the names
toolware cannot hold: see :mod:`._client_names`), its ``inputSchema`` as ``args_schema``,
checked locally with JSON Schema by the validation interceptor. Its function receives the
:class:`~toolware.context.RequestContext`: the call's
deadline becomes the request timeout (``call_timeout`` when it has none), its trace context
goes out in ``params._meta`` (W3C ``traceparent``/``tracestate``), and cancelling the call
(a caller going away, a timeout interceptor) makes the SDK send ``notifications/cancelled``.
Results map to values by the rule in :mod:`toolware.integrations.mcp._client_results`:
``isError`` → ``tool_failed`` with the tool's text; ``structuredContent`` → that value;
else one text block → its text.

**Failures.** A call goes to the first replica that is up, in the order given. A replica
whose connection ends (mid-call too) is marked down, answers ``unavailable`` (retryable, so a
retry interceptor moves the call to another replica) and reconnects with :class:`Backoff`. No
answer in time → ``timeout``; a result that is not MCP → ``unavailable`` (not retryable).
``health()`` reports each replica's state and reason, and the tools that could not be
exposed (a local name two remote tools would have, a name without a local form, an invalid
schema).

Several servers behind one :class:`~toolware.registry.composite.CompositeRegistry`, with
namespaces: ``CompositeRegistry(Source("git", git, namespace="git"), Source("web", web,
namespace="web"))`` exposes ``git.status`` and ``web.fetch``.

``clock`` must be the pipeline's clock (deadlines are on its timeline); it also times the
reconnect backoff, and ``random`` draws its jitter.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import math
import random as random_module
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, Literal, Self

if importlib.util.find_spec("mcp") is None:  # pragma: no cover - tested in a subprocess
    raise ImportError(
        "toolware.integrations.mcp.client needs the MCP SDK: pip install 'toolware[mcp]'"
    )

import mcp_types
import msgspec

from toolware.clock import Clock, system_clock
from toolware.context import Kind
from toolware.errors import (
    UnavailableError,
)
from toolware.integrations.mcp._client_backoff import Backoff
from toolware.integrations.mcp._client_calls import call_tool, remaining_time
from toolware.integrations.mcp._client_catalogue import (
    CONTEXT_PARAMETER,
    Catalogue,
    build_catalogue,
)
from toolware.integrations.mcp._client_names import check_names_option
from toolware.integrations.mcp._client_replica import Replica, ReplicaState
from toolware.integrations.mcp._client_targets import McpTarget, transport_factory
from toolware.registry.base import (
    Entry,
    EntryDescription,
    EntryKey,
    HealthStatus,
    RegistryHealth,
    unknown_entry,
)
from toolware.registry.names import qualified_name

__all__ = ["Backoff", "McpRegistry", "McpTarget", "ReplicaState", "ReplicaStatus"]

logger = logging.getLogger("toolware.integrations.mcp")


class ReplicaStatus(msgspec.Struct, frozen=True, kw_only=True):
    """One replica as :meth:`McpRegistry.replicas` reports it."""

    index: int
    label: str
    state: ReplicaState
    reason: str
    failures: int
    """Failed connection attempts in a row (0 while up)."""
    connections: int
    """Successful connections so far (a reconnection adds one)."""


def _seconds(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number of seconds, got {type(value).__name__}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number of seconds > 0, got {value!r}")
    return float(value)


class McpRegistry:
    """A registry over one remote MCP server and its replicas (see the module)."""

    def __init__(
        self,
        *replicas: McpTarget,
        name: str = "mcp",
        call_timeout: float = 30.0,
        list_timeout: float = 10.0,
        start_timeout: float = 15.0,
        close_timeout: float = 10.0,
        backoff: Backoff | None = None,
        mode: Literal["auto", "legacy"] = "auto",
        names: Mapping[str, str] | None = None,
        clock: Clock = system_clock,
        random: Callable[[], float] = random_module.random,
    ) -> None:
        if not replicas:
            raise ValueError(
                "McpRegistry needs at least one replica: a URL, StdioServerParameters, "
                "a server object or a transport factory"
            )
        if mode not in ("auto", "legacy"):
            raise ValueError(f"mode must be 'auto' or 'legacy', got {mode!r}")
        if backoff is not None and not isinstance(backoff, Backoff):
            raise TypeError(f"backoff must be a Backoff, got {type(backoff).__name__}")
        self.name = name
        self._names = check_names_option(names)
        self._call_timeout = _seconds("call_timeout", call_timeout)
        self._start_timeout = _seconds("start_timeout", start_timeout)
        self._close_timeout = _seconds("close_timeout", close_timeout)
        list_seconds = _seconds("list_timeout", list_timeout)
        self._clock = clock
        self._replicas = tuple(
            Replica(
                index,
                f"{index}: {label}",
                factory,
                backoff=backoff or Backoff(),
                clock=clock,
                random=random,
                mode=mode,
                list_timeout=list_seconds,
                on_listing=self._listed,
                on_state=self._state_changed,
            )
            for index, (label, factory) in enumerate(map(transport_factory, replicas))
        )
        self._listings: dict[int, Sequence[mcp_types.Tool]] = {}
        self._source: int | None = None  # the replica whose listing the catalogue shows
        self._catalogue = Catalogue()
        self._revision = 0
        self._tasks: list[asyncio.Task[None]] = []
        self._started = False

    # -- the Registry protocol -------------------------------------------------------------

    @property
    def revision(self) -> int:
        return self._revision

    @property
    def lookup(self) -> Callable[[EntryKey], Entry | None]:
        """The current catalogue's entries by key (a bound method: it follows refreshes)."""
        return self._lookup

    def _lookup(self, key: EntryKey) -> Entry | None:
        return self._catalogue.entries.get(key)

    def resolve(self, kind: Kind, name: str, action: str | None = None) -> Entry:
        entry = self._catalogue.entries.get((kind, name, action))
        if entry is not None:
            return entry
        # A tool's name has no dot and a plugin action's qualified name one: keyed apart.
        plain = kind is Kind.TOOL and action is None
        ambiguity = self._catalogue.ambiguous.get(qualified_name(name, action))
        if ambiguity is not None and (plain or (kind is Kind.PLUGIN and action is not None)):
            raise UnavailableError(
                ambiguity,
                hint="fix the server's tool list, or McpRegistry(names=...) (health() reports it)",
                retryable=False,
            )
        if self._source is None:
            raise UnavailableError(
                f"MCP registry {self.name!r} has no tool list yet: "
                + (self._states() if self._started else "it is not started"),
                hint="use 'async with registry:' (or await registry.start()) and check health()",
            )
        keys = self._catalogue.entries.keys()
        raise unknown_entry(self.name, kind, name, action, keys)

    def list(self) -> tuple[EntryDescription, ...]:
        return self._catalogue.listing

    async def health(self) -> RegistryHealth:
        problems: dict[str, str] = {}
        up = 0
        for replica in self._replicas:
            if replica.state is ReplicaState.UP:
                up += 1
            else:
                reason = f": {replica.reason}" if replica.reason else ""
                problems[f"replica {replica.label}"] = f"{replica.state.value}{reason}"
        problems.update(self._catalogue.problems)
        if up == 0:
            status = HealthStatus.DOWN
        elif problems:
            status = HealthStatus.DEGRADED
        else:
            status = HealthStatus.OK
        return RegistryHealth(
            status=status, entries=len(self._catalogue.entries), problems=problems
        )

    # -- lifecycle ---------------------------------------------------------------------------

    def replicas(self) -> tuple[ReplicaStatus, ...]:
        return tuple(
            ReplicaStatus(
                index=r.index,
                label=r.label,
                state=r.state,
                reason=r.reason,
                failures=r.failures,
                connections=r.connections,
            )
            for r in self._replicas
        )

    async def start(self) -> None:
        """Connect every replica (one owner task each) and wait, at most ``start_timeout``
        seconds, until each has connected or failed once. A replica still connecting then
        keeps trying in the background; ``health()`` says so."""
        if self._started:
            raise RuntimeError(
                f"McpRegistry {self.name!r} is already started; start() runs once per registry"
            )
        self._started = True
        for replica in self._replicas:
            self._tasks.append(asyncio.create_task(replica.run(), name=f"mcp:{replica.label}"))
        waits = [asyncio.ensure_future(r.attempted.wait()) for r in self._replicas]
        try:
            _, pending = await asyncio.wait(waits, timeout=self._start_timeout)
        except BaseException:
            # Cancelled while waiting (an outer timeout around `async with registry:`):
            # __aexit__ will not run, so the owner tasks (and subprocesses) stop here.
            for wait in waits:
                wait.cancel()
            await self._cancel_owners()
            raise
        for wait in pending:
            wait.cancel()

    async def _cancel_owners(self) -> None:
        for replica in self._replicas:
            replica.stop()
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=self._close_timeout)

    async def aclose(self) -> None:
        """Disconnect every replica (a subprocess is stopped); waits at most
        ``close_timeout`` seconds, then cancels the owner tasks still running. A replica
        still connecting has no session to end: its task is cancelled at once."""
        timeout = self._close_timeout
        for replica in self._replicas:
            replica.stop()
        tasks, self._tasks = self._tasks, []
        if not tasks:
            return
        for replica, task in zip(self._replicas, tasks, strict=True):
            if replica.state is ReplicaState.CONNECTING:
                task.cancel()
        _, pending = await asyncio.wait(tasks, timeout=timeout)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=timeout)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def refresh(self) -> None:
        """Relist the tools now on every connected replica (as on ``list_changed``)."""
        for replica in self._replicas:
            if replica.state is ReplicaState.UP:
                replica.refresh()

    # -- catalogue ---------------------------------------------------------------------------

    def _listed(self, replica: Replica, tools: Sequence[mcp_types.Tool]) -> None:
        self._listings[replica.index] = tools
        self._rebuild(force=replica.index == self._source)

    def _state_changed(self, replica: Replica) -> None:
        if replica.index == self._source and replica.state is not ReplicaState.UP:
            self._rebuild(force=False)

    def _rebuild(self, *, force: bool) -> None:
        """Show the listing of the first replica that is up (else keep the last one)."""
        source = next(
            (
                r.index
                for r in self._replicas
                if r.state is ReplicaState.UP and r.index in self._listings
            ),
            self._source,
        )
        if source is None or (source == self._source and not force):
            return
        self._source = source
        catalogue = build_catalogue(
            self._listings[source], server=self.name, caller=self._caller, names=self._names
        )
        old = self._catalogue
        self._catalogue = catalogue
        if catalogue.listing != old.listing or catalogue.problems != old.problems:
            self._revision += 1
            logger.info(
                "mcp_client.tools_changed registry=%s tools=%d problems=%d",
                self.name,
                len(catalogue.entries),
                len(catalogue.problems),
                extra={"registry": self.name, "tools": len(catalogue.entries)},
            )

    # -- calls -------------------------------------------------------------------------------

    def _states(self) -> str:
        return "; ".join(
            f"replica {r.label} is {r.state.value}" + (f" ({r.reason})" if r.reason else "")
            for r in self._replicas
        )

    def _caller(self, name: str, wrapped: bool) -> Callable[..., Any]:
        async def call_remote_tool(**arguments: Any) -> Any:
            request = arguments.pop(CONTEXT_PARAMETER, None)
            replica = next((r for r in self._replicas if r.client is not None), None)
            if replica is None:
                raise UnavailableError(
                    f"no replica of MCP server {self.name!r} is connected to call {name!r}: "
                    + self._states(),
                    hint="retry after the reconnect backoff; health() has each replica's reason",
                )
            timeout = remaining_time(name, request, self._clock, self._call_timeout)
            return await call_tool(self.name, replica, name, wrapped, request, arguments, timeout)

        return call_remote_tool
