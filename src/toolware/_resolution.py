"""Finding the registry entry a call goes to: once per call, off the event loop when it imports.

The pipeline resolves each call's entry when the call enters it and stores the outcome in
``request.resolution`` (the :class:`~toolware.registry.base.Entry`, or the bound error of a
miss), so interceptors and the router read it instead of looking it up again; a miss computes
its suggestions once. Plugin actions are addressed by one canonical name, ``plugin.action``:
a call to ``"notes.add"`` that matches no entry of that name is rewritten to kind ``plugin``,
target ``notes``, action ``add`` when the registry has that action.

Resolving a lazy entry imports its module. That can take seconds (or hang), so it runs on a
worker thread, bounded by the call's deadline; everything else is a dictionary lookup.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import msgspec

from toolware.clock import Clock, system_clock
from toolware.context import Kind, RequestContext
from toolware.errors import CallTimeoutError, ToolwareError
from toolware.registry.base import Entry, PendingImports, Registry, fast_lookup

__all__ = ["Resolver"]

RunBlocking = Callable[[Callable[..., Any], Mapping[str, Any]], Awaitable[Any]]


def _never_pending(kind: Kind, name: str) -> bool:
    return False


class Resolver:
    """Resolves requests against one registry; see the module docstring."""

    __slots__ = ("_lookup", "_pending", "fast", "registry")

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._lookup = self.fast = fast_lookup(registry)
        """``fast(key)``: the loaded entry for ``(kind, target, action)``, or ``None``."""
        self._pending: Callable[[Kind, str], bool] = (
            registry.is_pending if isinstance(registry, PendingImports) else _never_pending
        )

    async def resolve(
        self,
        request: RequestContext,
        *,
        clock: Clock = system_clock,
        run_blocking: RunBlocking | None = None,
    ) -> RequestContext:
        """The request with its ``resolution`` set (an entry, or the bound error of a miss).

        ``run_blocking`` runs a function on a worker thread; lazy imports go through it,
        bounded by the request's deadline. Without it they run inline (a caller that has no
        worker pool).
        """
        kind, target, action = request.kind, request.target, request.action
        if action is None and kind is not Kind.RAG and "." in target:
            plugin, _, name = target.rpartition(".")
            if (
                plugin
                and name
                and not self._known(kind, target, None)
                and self._known(Kind.PLUGIN, plugin, name)
            ):
                kind, target, action = Kind.PLUGIN, plugin, name
        try:
            if run_blocking is not None and self._pending(kind, target):
                entry = await self._import(kind, target, action, request, clock, run_blocking)
            else:
                entry = self.registry.resolve(kind, target, action)
            resolution: Entry | ToolwareError = entry
        except ToolwareError as error:
            resolution = error.bind(request.id, _qualified(target, action))
        if kind is request.kind and target == request.target and action == request.action:
            return msgspec.structs.replace(request, resolution=resolution)
        return msgspec.structs.replace(
            request, kind=kind, target=target, action=action, resolution=resolution
        )

    def _known(self, kind: Kind, target: str, action: str | None) -> bool:
        """Whether the registry has this entry (a namespaced dotted name wins over the
        plugin reading of the same string)."""
        if self._lookup((kind, target, action)) is not None or self._pending(kind, target):
            return True
        try:
            self.registry.resolve(kind, target, action)
        except ToolwareError:
            return False
        return True

    async def _import(
        self,
        kind: Kind,
        target: str,
        action: str | None,
        request: RequestContext,
        clock: Clock,
        run_blocking: RunBlocking,
    ) -> Entry:
        work = run_blocking(self.registry.resolve, {"kind": kind, "name": target, "action": action})
        deadline = request.deadline
        if deadline is None:
            entry: Entry = await work
            return entry
        budget = max(deadline - clock.monotonic(), 0.0)
        loading = asyncio.ensure_future(work)
        timer = asyncio.ensure_future(clock.sleep(budget))
        try:
            await asyncio.wait((loading, timer), return_when=asyncio.FIRST_COMPLETED)
        finally:
            timer.cancel()
        if loading.done():
            result: Entry = loading.result()
            return result
        # The thread goes on importing (Python cannot stop it); the next call finds it loaded.
        loading.add_done_callback(_consume)
        loading.cancel()
        qualified = _qualified(target, action)
        raise CallTimeoutError(
            f"{qualified!r} was not started: importing it did not finish before the call's "
            "deadline",
            limit=budget,
            started=False,
            retryable=True,
            hint="the import goes on in the background; call again, or import the module at "
            "start-up",
        )


def _consume(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()  # mark retrieved: an import error is reported by the next call


def _qualified(target: str, action: str | None) -> str:
    return target if action is None else f"{target}.{action}"
