"""What a V1 host needs at run time: its pipeline, its registries as sources, the bridge.

Each action becomes a :class:`~toolware.context.RequestContext` (kind from the registry the
handler was found in, target = action id, action = method, arguments = params, the host's
principal, a deadline from the host's ``timeout``), already resolved to the handler's entry, and
runs through the host's pipeline on the bridge loop (:mod:`._bridge`). The host supplies a
pipeline as ``middleware_pipeline``; otherwise it gets ``default_pipeline`` over its own
registries with its ``timeout``, rebuilt when the ``timeout`` changes.

Recursion (a handler calling ``to_middleware`` on a host, from its worker thread) needs no
lock: the outer call waits on its own thread while the bridge loop serves the inner one. The
nesting depth and the outer deadline travel in a ``ContextVar`` (copied into the worker
thread with the call), so an inner call never outlives the outer one and a handler that
recurses forever is refused at :data:`MAX_NESTING` levels instead of filling every worker.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from typing import Any

import msgspec

from toolware.clock import Clock
from toolware.context import Kind, Principal, RequestContext, ResponseContext, freeze_arguments
from toolware.defaults import default_pipeline
from toolware.errors import CallTimeoutError
from toolware.ids import new_request_id
from toolware.pipeline import Pipeline
from toolware.registry.base import Entry, EntryDescription, RegistryHealth

from ._bridge import BridgeTimeout, bridge
from ._entries import McpRunner
from .sources import V1Source

__all__ = ["GRACE", "MAX_NESTING", "HostRegistries", "Runtime", "host_timeout", "nesting_depth"]

MAX_NESTING = 8
"""How deep handlers may call ``to_middleware`` from inside a call before it is refused."""
GRACE = 1.0
"""Seconds the caller waits past the deadline for the pipeline's own timeout answer before it
stops waiting (only a pipeline without a timeout stage needs it)."""
DEFAULT_TIMEOUT = 60
_WORKERS = 2 * MAX_NESTING  # every nesting level holds one worker thread while it waits


logger = logging.getLogger("toolware.compat.v1")


class _Nesting(msgspec.Struct, frozen=True):
    depth: int
    clock: Clock
    deadline: float | None


_NESTING: ContextVar[_Nesting | None] = ContextVar("toolware_compat_v1_nesting", default=None)


def nesting_depth() -> int:
    """How many V1 calls this code runs inside (0 for a top-level caller)."""
    nesting = _NESTING.get()
    return 0 if nesting is None else nesting.depth


def host_timeout(host: object) -> float | None:
    """The host's ``timeout`` in seconds (default 60); ``None`` or 0 mean no limit, as
    ``signal.alarm(0)`` meant in V1."""
    value = getattr(host, "timeout", DEFAULT_TIMEOUT)
    if value is None or (value == 0 and not isinstance(value, bool)):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(
            f"the host's timeout must be a number of seconds (or None for no limit), got "
            f"{type(value).__name__}"
        )
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"the host's timeout must be a finite number of seconds > 0, got {value}")
    return float(value)


def host_principal(host: object) -> Principal | None:
    """The host's ``principal``: a :class:`Principal`, or a non-empty id string made into one.

    Anything else there is the host's own data, not meant for toolware (V1 had no such
    attribute, and an agent may use the name for something else): the call runs without a
    principal, and a ``compat.v1.principal_ignored`` DEBUG record says so.
    """
    value = getattr(host, "principal", None)
    if value is None or isinstance(value, Principal):
        return value
    if isinstance(value, str) and value:
        return Principal(id=value)
    logger.debug(
        "compat.v1.principal_ignored type=%s",
        type(value).__name__,
        extra={"type": type(value).__name__},
    )
    return None


class HostRegistries:
    """The host's three V1 registries as one toolware registry, by kind: RAG entries from
    ``rag_registry``, tools from ``tool_registry``, plugins from ``plugin_registry`` (read from
    the host at each call, so a registry replaced on the host is seen at once)."""

    name = "v1"

    def __init__(self, sources: Callable[[Kind], V1Source]) -> None:
        self._sources = sources

    @property
    def revision(self) -> int:
        return sum(self._sources(kind).revision for kind in Kind)

    def resolve(self, kind: Kind, name: str, action: str | None = None) -> Entry:
        return self._sources(kind).resolve(kind, name, action)

    def list(self) -> tuple[EntryDescription, ...]:
        return tuple(
            d for kind in (Kind.RAG, Kind.TOOL, Kind.PLUGIN) for d in self._sources(kind).list()
        )

    async def health(self) -> RegistryHealth:
        reports = [
            await self._sources(kind).health() for kind in (Kind.RAG, Kind.TOOL, Kind.PLUGIN)
        ]
        worst = max(reports, key=lambda r: ("ok", "degraded", "down").index(r.status.value))
        problems = {k: v for r in reports for k, v in r.problems.items()}
        return RegistryHealth(
            status=worst.status, entries=sum(r.entries for r in reports), problems=problems
        )


_ATTRIBUTES = {Kind.RAG: "rag_registry", Kind.TOOL: "tool_registry", Kind.PLUGIN: "plugin_registry"}


class Runtime:
    """One host's pipeline and sources (made on first use; see the module docstring)."""

    def __init__(self, host: object, mcp_runner: McpRunner) -> None:
        self._host = host
        self._mcp_runner = mcp_runner
        self._lock = threading.Lock()
        self._built: tuple[float | None, Pipeline] | None = None
        self._sources: dict[Kind, V1Source] = {}

    def registry(self, kind: Kind) -> object:
        registry = getattr(self._host, _ATTRIBUTES[kind], None)
        return {} if registry is None else registry

    def source(self, kind: Kind) -> V1Source:
        registry = self.registry(kind)
        source = self._sources.get(kind)
        if source is None or source.registry is not registry:
            source = V1Source(registry, kind, name=_ATTRIBUTES[kind], mcp_runner=self._mcp_runner)
            self._sources[kind] = source
        return source

    def pipeline(self, timeout: float | None) -> Pipeline:
        """The host's ``middleware_pipeline``, else its default pipeline for ``timeout``."""
        return self._pipeline(timeout)[0]

    def _pipeline(self, timeout: float | None) -> tuple[Pipeline, bool]:
        """The pipeline, and whether it is our default one (whose timeout stage bounds every
        call with the host's timeout, so the caller needs no bound of its own)."""
        supplied = getattr(self._host, "middleware_pipeline", None)
        if supplied is not None:
            if not isinstance(supplied, Pipeline):
                raise TypeError(
                    f"middleware_pipeline must be a toolware Pipeline, got "
                    f"{type(supplied).__name__}; build one with default_builder(...).build()"
                )
            return supplied, False
        built = self._built
        if built is not None and built[0] == timeout:
            return built[1], True
        with self._lock:
            built = self._built
            if built is None or built[0] != timeout:
                pipeline = default_pipeline(
                    HostRegistries(self.source), timeout=timeout, workers=_WORKERS
                )
                self._built = built = (timeout, pipeline)
            return built[1], True

    def call(
        self,
        kind: Kind,
        target: str,
        action: str | None,
        arguments: Mapping[str, Any],
        entry: Entry,
    ) -> ResponseContext:
        """Run one call through the host's pipeline and wait for it, bounded."""
        timeout = host_timeout(self._host)
        principal = host_principal(self._host)
        pipeline, bounded = self._pipeline(timeout)
        clock = pipeline.clock
        outer = _NESTING.get()
        now = clock.monotonic()
        deadline = None if timeout is None else now + timeout
        if outer is not None and outer.clock is clock and outer.deadline is not None:
            deadline = outer.deadline if deadline is None else min(deadline, outer.deadline)
        request = RequestContext(
            id=new_request_id(clock),
            kind=kind,
            target=target,
            arguments=freeze_arguments(arguments),
            action=action,
            principal=principal,
            deadline=deadline,
            resolution=entry,
        )
        # Our default pipeline's timeout stage answers at the deadline; a host's pipeline may
        # have none, so the caller then stops waiting GRACE seconds after it.
        wait = None if deadline is None or bounded else max(deadline - now, 0.0) + GRACE
        token = _NESTING.set(_Nesting(1 if outer is None else outer.depth + 1, clock, deadline))
        try:
            return bridge.run(lambda: pipeline(request), wait)
        except BridgeTimeout:
            limit = 0.0 if deadline is None else deadline - now
            return ResponseContext.failure(
                CallTimeoutError(
                    f"{request.qualified_name!r} did not answer within {limit:g} s",
                    limit=limit,
                    request_id=request.id,
                    target=request.qualified_name,
                )
            )
        finally:
            _NESTING.reset(token)
