"""The timeout interceptor's wrapper for streamed responses.

Each pull is bounded by the call's deadline (which covers the whole stream) and, when set, by
the idle timeout (how long the producer may take to make the next chunk). When the bound
passes, the pull is cancelled through the same :class:`~toolware._deadlines.DeadlineWatcher`
that bounds plain calls, the producer is closed, and the iteration ends by raising a
``timeout`` error. Between pulls nothing is armed: a consumer that keeps the stream without
reading holds no timer, and its next pull after the deadline fails at once.
"""

from __future__ import annotations

import asyncio
import logging
import types
from asyncio import events as _events
from asyncio import tasks as _tasks
from typing import Any

from toolware._deadlines import DeadlineWatcher, withdraw
from toolware.clock import Clock
from toolware.errors import CallTimeoutError, ToolwareError
from toolware.streams import ResponseStream, StreamOutcome, _Layer

__all__ = ["DeadlineStream"]

logger = logging.getLogger("toolware.interceptors.timeout")

# Every pull needs the current task. On CPython 3.11 ``asyncio.current_task()`` is a Python
# function returning ``_current_tasks.get(get_running_loop())``, and ``get_running_loop()``
# makes a ``getpid()`` system call each time (its fork check): ~250 ns a pull. There the
# stream reads that dict with the loop it was made on (the loop of its call and of its
# watcher), and asks ``current_task()`` only when that loop has no task running (never in a
# normal pull). Where ``current_task`` is not that Python function (3.12+ implement it in C,
# without the system call), it is called as is. Figures: docs/benchmarks.md, "Streaming".
_CURRENT_TASKS: dict[asyncio.AbstractEventLoop, asyncio.Task[Any]] | None = (
    getattr(_tasks, "_current_tasks", None)
    if isinstance(asyncio.current_task, types.FunctionType)
    else None
)


class DeadlineStream(_Layer):
    """A stream whose pulls end at ``deadline`` and, with ``idle``, ``idle`` seconds after
    each pull starts."""

    __slots__ = ("_clock", "_deadline", "_idle", "_limit", "_loop", "_retryable", "_watcher")

    def __init__(
        self,
        inner: ResponseStream,
        *,
        watcher: DeadlineWatcher,
        clock: Clock,
        deadline: float | None,
        limit: float,
        idle: float | None,
        retryable: bool,
    ) -> None:
        if deadline is None and idle is None:
            raise ValueError("a DeadlineStream needs a deadline, an idle timeout or both")
        super().__init__(inner, name="timeout")
        self._watcher = watcher
        self._clock = clock
        self._deadline = deadline
        self._limit = limit
        self._idle = idle
        self._retryable = retryable
        self._loop = _events._get_running_loop()  # None when made outside a running loop

    async def __anext__(self) -> Any:
        if self.outcome is not None:
            raise StopAsyncIteration
        now = self._clock.monotonic()
        until, idle = self._deadline, self._idle
        by_idle = False
        if idle is not None and (until is None or now + idle < until):
            until, by_idle = now + idle, True
        if until is None:  # pragma: no cover - __init__ refuses it
            raise ValueError("unreachable: __init__ requires a deadline or an idle timeout")
        if until <= now:
            raise await self._expire(by_idle)
        tasks, loop = _CURRENT_TASKS, self._loop
        found = tasks.get(loop) if tasks is not None and loop is not None else None
        task: asyncio.Task[Any] = (
            found if found is not None else asyncio.current_task()  # type: ignore[assignment]
        )
        watcher = self._watcher
        cancelling = task.cancelling()
        watch = watcher.watch(until, task)
        try:
            chunk = await self._inner.__anext__()
        except asyncio.CancelledError:
            fired = watcher.done(watch)
            if fired and withdraw(task, fired) <= cancelling:
                raise await self._expire(by_idle) from None
            self._finish(StreamOutcome.ABANDONED, None)
            raise
        except (StopAsyncIteration, ToolwareError) as end:
            fired = watcher.done(watch)
            if fired and withdraw(task, fired) <= cancelling:
                # The producer swallowed the cancellation and ended late: the deadline is
                # still the answer, as for a plain call.
                self._ignored()
                raise await self._expire(by_idle) from None
            if isinstance(end, StopAsyncIteration):
                self._finish(StreamOutcome.COMPLETED, None)
                raise
            error = self._bind(end)
            self._finish(StreamOutcome.FAILED, error)
            raise error from error.__cause__
        except BaseException:
            fired = watcher.done(watch)
            if fired:
                withdraw(task, fired)
            self._finish(StreamOutcome.ABANDONED, None)
            raise
        fired = watcher.done(watch)
        if fired:
            # The producer swallowed the cancellation and yielded anyway: too late.
            withdraw(task, fired)
            self._ignored()
            raise await self._expire(by_idle)
        self.chunks += 1
        return chunk

    async def _expire(self, by_idle: bool) -> CallTimeoutError:
        """End as ``failed`` with a timeout, after closing the producer."""
        name = self.target or "(unnamed)"
        if by_idle:
            limit = self._idle or 0.0
            message = (
                f"{name!r} produced no chunk within its idle timeout of {limit:.3f}s "
                f"(after {self.chunks} chunk(s))"
            )
            hint = "the producer stalled; raise idle_timeout= if it is just slow between chunks"
        else:
            limit = self._limit
            message = (
                f"{name!r} did not complete its stream within the allowed timeout of "
                f"{limit:.3f}s (after {self.chunks} chunk(s))"
            )
            hint = None
        error = CallTimeoutError(
            message,
            limit=limit,
            started=True,
            retryable=self._retryable,
            hint=hint,
            request_id=self.request_id,
            target=self.target,
        )
        logger.debug(
            "timeout.expired target=%s limit=%s request_id=%s",
            name,
            limit,
            self.request_id,
            extra={"target": name, "limit": limit, "request_id": self.request_id},
        )
        self._finish(StreamOutcome.FAILED, error)
        await self._inner.aclose()
        return error

    def _ignored(self) -> None:
        logger.warning(
            "timeout.cancel_ignored target=%s request_id=%s: the stream went on after its "
            "deadline cancelled it; make the tool let asyncio.CancelledError through",
            self.target,
            self.request_id,
            extra={"target": self.target, "request_id": self.request_id},
        )
