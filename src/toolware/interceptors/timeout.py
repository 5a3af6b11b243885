"""Timeouts and deadlines.

Each call gets a deadline: the earliest of the request's own deadline (set by the caller or an
outer pipeline), now + the entry's default ``timeout`` (when ``registry`` is given and the entry
sets one), and now + this interceptor's ``timeout``. The deadline travels on in the request, so
nested pipelines and remote calls see it. When it passes, the call is cancelled and the response
is a ``timeout`` error carrying the limit; it is retryable only if the entry is idempotent.

A synchronous handler cannot be interrupted: the caller gets its timeout response on time and the
worker thread finishes in the background.

Events: ``timeout.expired`` (debug) with the target and the limit.
"""

from __future__ import annotations

import asyncio
import logging
import math
import weakref

from toolware._deadlines import DeadlineWatcher
from toolware.clock import Clock, system_clock
from toolware.context import RequestContext, ResponseContext
from toolware.errors import CallTimeoutError, ToolwareError
from toolware.registry.base import Entry, Registry, fast_lookup
from toolware.types import CallNext

__all__ = ["TimeoutInterceptor"]

_NO_ENTRIES: dict[object, Entry] = {}

logger = logging.getLogger("toolware.interceptors.timeout")


class TimeoutInterceptor:
    """Bounds each call by a deadline; see the module docstring for how it is chosen."""

    __slots__ = ("_cached", "_clock", "_lookup", "_watchers", "name", "registry", "timeout")

    def __init__(
        self,
        *,
        timeout: float | None = 30.0,
        registry: Registry | None = None,
        clock: Clock = system_clock,
    ) -> None:
        if timeout is not None and (
            isinstance(timeout, bool)
            or not isinstance(timeout, int | float)
            or not (math.isfinite(timeout) and timeout > 0)
        ):
            raise ValueError(
                f"timeout must be a positive, finite number of seconds, or None for no limit "
                f"of its own, got {timeout!r}"
            )
        self.timeout = timeout
        self.registry = registry
        self._lookup = fast_lookup(registry) if registry is not None else _NO_ENTRIES.get
        self.name = "timeout"
        self._clock = clock
        # One DeadlineWatcher per event loop; the last one used is cached (one tuple, replaced
        # whole, so threads never pair a loop with another loop's watcher) because nearly
        # every program runs one loop, and a WeakKeyDictionary lookup costs ~0.1 us.
        self._watchers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, DeadlineWatcher] = (
            weakref.WeakKeyDictionary()
        )
        self._cached: tuple[asyncio.AbstractEventLoop | None, DeadlineWatcher] = (
            None,
            DeadlineWatcher(clock),
        )

    def _watcher_for(self, loop: asyncio.AbstractEventLoop) -> DeadlineWatcher:
        watcher = self._watchers.get(loop)
        if watcher is None:
            watcher = self._watchers[loop] = DeadlineWatcher(self._clock)
        self._cached = (loop, watcher)
        return watcher

    def _policy(self, request: RequestContext) -> tuple[float | None, bool]:
        """This call's own limit in seconds, and whether a timeout may be retried."""
        registry = self.registry
        if registry is None:
            return self.timeout, False
        entry = self._lookup((request.kind, request.target, request.action))
        if entry is None:
            try:
                entry = registry.resolve(request.kind, request.target, request.action)
            except ToolwareError:
                return self.timeout, False  # the router reports the lookup failure
        description = entry.description
        own, entry_limit = self.timeout, description.timeout
        if entry_limit is None or (own is not None and own < entry_limit):
            return own, description.idempotent
        return entry_limit, description.idempotent

    async def __call__(self, request: RequestContext, call_next: CallNext) -> ResponseContext:
        clock = self._clock
        now = clock.monotonic()
        limit, retryable = self._policy(request)
        deadline = request.deadline
        # "not deadline <= ..." rather than "... < deadline": a NaN deadline must not switch
        # this interceptor's own limit off (NaN compares false both ways).
        if limit is not None and (deadline is None or not deadline <= now + limit):
            deadline = now + limit
            budget = limit  # exact: now + limit - now can differ from limit in the last bits
        elif deadline is None:
            return await call_next(request)
        else:
            budget = deadline - now
            if budget <= 0:
                return self._expired(request, 0.0, retryable, now, passed=now - deadline)
        if deadline != request.deadline:
            request = request.with_deadline(deadline)
        task = asyncio.current_task()
        assert task is not None
        loop = task.get_loop()
        cached_loop, watcher = self._cached
        if loop is not cached_loop:
            watcher = self._watcher_for(loop)
        cancelling = task.cancelling()
        watch = watcher.watch(deadline, task)
        try:
            response = await call_next(request)
        except asyncio.CancelledError:
            # Ours only if we fired and nobody else asked to cancel (same test as asyncio.timeout).
            if watcher.fired(watch) and task.uncancel() <= cancelling:
                return self._expired(request, budget, retryable, now)
            raise
        except BaseException:
            # Inner code turned our cancellation into another exception: still withdraw the
            # cancel request, or the task stays marked as being cancelled for good.
            if watcher.fired(watch):
                task.uncancel()
            raise
        finally:
            watcher.done(watch)
        if watcher.fired(watch):  # the inner code swallowed our cancellation: undo it
            task.uncancel()
        return response

    def _expired(
        self,
        request: RequestContext,
        limit: float,
        retryable: bool,
        started: float,
        *,
        passed: float | None = None,
    ) -> ResponseContext:
        """The timeout response; ``passed`` is set when the deadline was over before we began."""
        logger.debug(
            "timeout.expired",
            extra={"target": request.qualified_name, "limit": limit, "request_id": request.id},
        )
        message = (
            f"{request.qualified_name!r} did not complete within the allowed timeout of "
            f"{limit:.3f}s"
            if passed is None
            else f"{request.qualified_name!r} was not started: its deadline passed "
            f"{passed:.3f}s before the call reached the timeout interceptor"
        )
        error = CallTimeoutError(
            message,
            limit=limit,
            retryable=retryable,
            request_id=request.id,
            target=request.qualified_name,
        )
        return ResponseContext.failure(
            error, started_at=started, finished_at=self._clock.monotonic()
        )
