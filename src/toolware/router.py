"""The terminal handler that sends a request to its registry entry and wraps the outcome.

The entry comes with the request (``request.resolution``, set as the call entered the
pipeline); a request whose target an interceptor changed is resolved again here. A handler's
exception becomes a ``tool_failed`` error (retryable when the entry lists the exception type in
``retryable_on``); a :class:`~toolware.errors.ToolwareError` raised on purpose by a handler
keeps its category. Every exception a tool can raise is answered, ``KeyboardInterrupt``,
``SystemExit`` and other ``BaseException`` subclasses included: only the cancellation of the
call itself propagates. Synchronous handlers run in a bounded worker pool.

A streaming entry (a generator function) answers with a response whose ``stream`` reads the
generator (:mod:`toolware._stream_sources`); the first chunk is read before the router returns,
so a handler that fails before yielding anything gives an ordinary error response.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Mapping
from typing import Any

from toolware._read_ahead import ReadAheadStream
from toolware._resolution import Resolver
from toolware._stream_sources import AsyncGeneratorStream, SyncGeneratorStream
from toolware._stream_sources import cancelled_by_caller as _cancelled_by_caller
from toolware._workers import DEFAULT_MAX_QUEUED, WorkerPool
from toolware.clock import Clock, system_clock
from toolware.context import RequestContext, ResponseContext
from toolware.errors import ToolFailedError, ToolwareError, describe_exception
from toolware.registry.base import Entry, Registry

__all__ = ["Router"]


class Router:
    """``async (request) -> response`` over a registry."""

    __slots__ = ("_clock", "_lookup", "_now", "_pool", "name", "registry", "resolver")

    def __init__(
        self,
        registry: Registry,
        *,
        clock: Clock = system_clock,
        workers: int | None = None,
        max_queued: int | None = DEFAULT_MAX_QUEUED,
    ) -> None:
        """``workers`` threads run synchronous handlers; at most ``max_queued`` calls wait for
        one (``None``: no bound), further calls are refused ``unavailable`` at once."""
        self.registry = registry
        self.name = "router"
        self.resolver = Resolver(registry)
        self._lookup = self.resolver.fast
        self._clock = clock
        self._now = clock.monotonic
        self._pool = WorkerPool(workers, max_queued=max_queued, clock=clock)

    @property
    def workers(self) -> int:
        return self._pool.max_workers

    @property
    def clock(self) -> Clock:
        return self._clock

    def bind_clock(self, clock: Clock) -> None:
        """Adopt the pipeline's clock (the builder made this router with that clock)."""
        if clock is not self._clock:
            raise ValueError(
                f"the router keeps time on {self._clock!r}, but its pipeline uses {clock!r}; "
                "let PipelineBuilder(clock=...).route(registry) make the router"
            )

    async def resolve(self, request: RequestContext) -> RequestContext:
        """``request`` with its entry resolved (lazy imports run on a worker thread)."""
        return await self.resolver.resolve(request, clock=self._clock, run_blocking=self._pool.run)

    async def __call__(self, request: RequestContext) -> ResponseContext:
        # Few locals on purpose: this frame is kept for every call in flight.
        entry = request.resolution
        if entry is None:  # routed to directly, or an interceptor changed the target
            entry = self._lookup((request.kind, request.target, request.action))
            if entry is None:
                return await self._resolve_and_call(request)
        elif isinstance(entry, ToolwareError):
            return ResponseContext.failure(entry)
        arguments = request.arguments
        if entry.context_parameter is not None:
            arguments = {**arguments, entry.context_parameter: request}
        if entry.streaming:
            return await self._open_stream(request, entry, arguments)
        started = self._now()
        try:
            if entry.is_async:
                value = await entry.function(**arguments)
            else:
                value = await self._call_sync(entry, arguments, request.qualified_name)
            if entry.result_validator is not None:
                value = entry.result_validator(value)
        except ToolwareError as error:
            return ResponseContext.failure(
                error.bind(request.id, request.qualified_name),
                started_at=started,
                finished_at=self._now(),
            )
        except asyncio.CancelledError as exc:
            if _cancelled_by_caller():
                raise  # the call itself is being cancelled (caller or timeout): let it go
            # Nobody cancelled this call: the handler let a cancellation of its own escape.
            return self._failed(request, entry, exc, started)
        except BaseException as exc:
            # SystemExit (argparse raises it), KeyboardInterrupt, GeneratorExit and custom
            # BaseException subclasses from a tool are the tool's failure, not ours to re-raise.
            return self._failed(request, entry, exc, started)
        return ResponseContext(value=value, started_at=started, finished_at=self._now())

    async def _open_stream(
        self, request: RequestContext, entry: Entry, arguments: Mapping[str, Any]
    ) -> ResponseContext:
        """Start a streaming entry and read its first chunk now, so that a failure before it
        is an ordinary error response (which retries and fallbacks can act on), and time to
        first chunk is this call's time; the consumer pulls the rest."""
        started = self._now()
        name = request.qualified_name
        stream: AsyncGeneratorStream | SyncGeneratorStream
        if entry.is_async:
            try:
                generator = entry.function(**arguments)
            except BaseException as exc:  # e.g. a TypeError from bad arguments
                if isinstance(exc, ToolwareError):
                    return ResponseContext.failure(
                        exc.bind(request.id, name), started_at=started, finished_at=self._now()
                    )
                if isinstance(exc, asyncio.CancelledError) and _cancelled_by_caller():
                    raise
                return self._failed(request, entry, exc, started)
            stream = AsyncGeneratorStream(
                generator,
                request_id=request.id,
                target=name,
                now=self._now,
                check=entry.result_validator,
                retryable_on=entry.retryable_on,
                primed=True,
            )
        else:
            stream = SyncGeneratorStream(
                entry.function,
                arguments,
                self._pool,
                request_id=request.id,
                target=name,
                now=self._now,
                check=entry.result_validator,
                retryable_on=entry.retryable_on,
                primed=True,
            )
        try:
            if not await stream.prime():  # an empty stream: still a stream, already completed
                return ResponseContext(stream=stream, started_at=started, finished_at=self._now())
        except ToolwareError as error:
            return ResponseContext.failure(error, started_at=started, finished_at=self._now())
        finished = self._now()
        if entry.read_ahead:
            return ResponseContext(
                stream=ReadAheadStream(stream, entry.read_ahead),
                started_at=started,
                finished_at=finished,
            )
        return ResponseContext(stream=stream, started_at=started, finished_at=finished)

    async def _resolve_and_call(self, request: RequestContext) -> ResponseContext:
        resolved = await self.resolve(request)
        if resolved.resolution is None:  # pragma: no cover - resolve() always sets it
            raise RuntimeError("resolve() left the request unresolved")
        return await self(resolved)

    async def _call_sync(self, entry: Entry, arguments: Mapping[str, Any], name: str) -> Any:
        value = await self._pool.run(entry.function, arguments, name=name)
        if inspect.isawaitable(value):
            # A sync wrapper (a lambda, a decorator) around async work: the awaitable it
            # returned is the real call, and must not become the "value".
            value = await value
        return value

    def _failed(
        self, request: RequestContext, entry: Entry, exc: BaseException, started: float
    ) -> ResponseContext:
        detail = describe_exception(exc)
        if isinstance(exc, SystemExit):
            detail = f"SystemExit (exit code {exc.code!r})"
        failure = ToolFailedError(
            f"{request.qualified_name!r} raised {detail}",
            retryable=isinstance(exc, entry.retryable_on) and isinstance(exc, Exception),
            request_id=request.id,
            target=request.qualified_name,
        )
        failure.__cause__ = exc
        return ResponseContext.failure(failure, started_at=started, finished_at=self._now())

    async def aclose(self) -> None:
        """Release the worker threads; running sync handlers finish in the background, and
        this does not wait for them (a stuck tool must not block a configuration reload)."""
        self._pool.shutdown(wait=False)

    def close(self) -> None:
        """Synchronous :meth:`aclose`."""
        self._pool.shutdown(wait=False)

    def __repr__(self) -> str:
        return f"Router({self.registry!r})"
