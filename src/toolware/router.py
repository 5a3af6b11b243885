"""The terminal handler that sends a request to its registry entry and wraps the outcome.

A handler's exception becomes a ``tool_failed`` error (retryable when the entry lists the
exception type in ``retryable_on``); a :class:`~toolware.errors.ToolwareError` raised on
purpose by a handler keeps its category. Synchronous handlers run in a bounded worker pool.
"""

from __future__ import annotations

import asyncio
import inspect

from toolware._workers import WorkerPool
from toolware.clock import Clock, system_clock
from toolware.context import RequestContext, ResponseContext
from toolware.errors import ToolFailedError, ToolwareError, describe_exception
from toolware.registry.base import Entry, Registry, fast_lookup

__all__ = ["Router"]


class Router:
    """``async (request) -> response`` over a registry."""

    __slots__ = ("_clock", "_lookup", "_now", "_pool", "_resolve", "name", "registry")

    def __init__(
        self, registry: Registry, *, clock: Clock = system_clock, workers: int | None = None
    ) -> None:
        self.registry = registry
        self.name = "router"
        self._clock = clock
        self._now = clock.monotonic
        self._resolve = registry.resolve
        self._lookup = fast_lookup(registry)
        self._pool = WorkerPool(workers, clock=clock)

    @property
    def workers(self) -> int:
        return self._pool.max_workers

    async def __call__(self, request: RequestContext) -> ResponseContext:
        entry = self._lookup((request.kind, request.target, request.action))
        if entry is None:
            try:
                entry = self._resolve(request.kind, request.target, request.action)
            except ToolwareError as error:
                return ResponseContext.failure(error.bind(request.id, request.qualified_name))
        arguments = request.arguments
        if entry.context_parameter is not None:
            arguments = {**arguments, entry.context_parameter: request}
        now = self._now
        started = now()
        try:
            if entry.is_async:
                value = await entry.function(**arguments)
            else:
                value = await self._pool.run(entry.function, arguments, name=request.qualified_name)
                if inspect.isawaitable(value):
                    # A sync wrapper (a lambda, a decorator) around async work: the awaitable
                    # it returned is the real call, and must not become the "value".
                    value = await value
        except ToolwareError as error:
            return ResponseContext.failure(
                error.bind(request.id, request.qualified_name),
                started_at=started,
                finished_at=now(),
            )
        except asyncio.CancelledError as exc:
            task = asyncio.current_task()
            if task is None or task.cancelling():
                raise  # the call itself is being cancelled (caller or timeout): let it go
            # Nobody cancelled this call: the handler let a cancellation of its own escape.
            return self._failed(request, entry, exc, started)
        except (Exception, SystemExit) as exc:
            # SystemExit too (argparse raises it): a tool must not stop the whole process.
            return self._failed(request, entry, exc, started)
        return ResponseContext(value=value, started_at=started, finished_at=now())

    def _failed(
        self, request: RequestContext, entry: Entry, exc: BaseException, started: float
    ) -> ResponseContext:
        failure = ToolFailedError(
            f"{request.qualified_name!r} raised {describe_exception(exc)}",
            retryable=isinstance(exc, entry.retryable_on),
            request_id=request.id,
            target=request.qualified_name,
        )
        failure.__cause__ = exc
        return ResponseContext.failure(failure, started_at=started, finished_at=self._now())

    def close(self) -> None:
        """Release the worker threads (running sync handlers finish in the background)."""
        self._pool.shutdown(wait=False)

    def __repr__(self) -> str:
        return f"Router({self.registry!r})"
