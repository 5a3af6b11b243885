"""The timeout interceptor's wrapper for streamed responses.

Each pull is bounded by the call's deadline (which covers the whole stream) and, when set, by
the idle timeout (how long the producer may take to make the next chunk). When the bound
passes, the pull is cancelled, the producer is closed, and the iteration ends by raising a
``timeout`` error. Only a pull is ever cancelled, never the consumer's own code between pulls,
and a pull after the deadline fails at once.

- :class:`DeadlineStream` (a deadline, no idle limit: the usual case) arms one clock timer for
  the whole stream; it cancels the consumer's task only while a pull is in progress.
- :class:`IdleStream` (an idle limit) watches each pull with the loop's
  :class:`~toolware._deadlines.DeadlineWatcher`, the heap that bounds plain calls.
"""

from __future__ import annotations

import asyncio
import logging
import types
from asyncio import events as _events
from asyncio import tasks as _tasks
from typing import Any

from toolware._deadlines import RECANCEL_AFTER, RECANCEL_TIMES, DeadlineWatcher, withdraw
from toolware.clock import Clock, TimerHandle
from toolware.errors import CallTimeoutError, ToolwareError
from toolware.streams import ResponseStream, StreamOutcome, _Layer

__all__ = ["DeadlineStream", "IdleStream"]

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


class _Bounded(_Layer):
    """What both bounded streams share: their limits, and how they expire."""

    __slots__ = ("_clock", "_deadline", "_idle", "_limit", "_loop", "_retryable")

    def __init__(
        self,
        inner: ResponseStream,
        *,
        clock: Clock,
        deadline: float | None,
        limit: float,
        idle: float | None,
        retryable: bool,
    ) -> None:
        super().__init__(inner, name="timeout")
        self._clock = clock
        self._deadline = deadline
        self._limit = limit
        self._idle = idle
        self._retryable = retryable
        self._loop = _events._get_running_loop()  # None when made outside a running loop

    def _current_task(self) -> asyncio.Task[Any]:
        tasks, loop = _CURRENT_TASKS, self._loop
        found = tasks.get(loop) if tasks is not None and loop is not None else None
        return found if found is not None else asyncio.current_task()  # type: ignore[return-value]

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


class _Timer:
    """What the deadline's one timer shares with its stream (never the stream itself, so a
    dropped stream is collected at once): the task pulling now, and what the timer did."""

    __slots__ = ("again", "clock", "expired", "fired", "task")

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.task: asyncio.Task[Any] | None = None
        self.expired = False
        self.fired = 0
        self.again: TimerHandle | None = None

    def fire(self) -> None:
        """The deadline passed: cancel the pull in progress, if any."""
        self.expired = True
        self._cancel()

    def _cancel(self) -> None:
        task = self.task
        if task is None or task.done():
            return
        if self.fired > RECANCEL_TIMES:
            logger.error(
                "timeout.abandon_failed task=%s cancels=%d: the stream keeps swallowing "
                "cancellations; its consumer waits until it yields",
                task.get_name(),
                self.fired,
                extra={"task": task.get_name(), "cancels": self.fired},
            )
            return
        self.fired += 1
        task.cancel()
        # A producer that swallows the cancellation is cancelled again at its next await.
        when = self.clock.monotonic() + RECANCEL_AFTER * self.fired
        self.again = self.clock.call_at(when, self._cancel)

    def take_fired(self) -> int:
        """How often the pull that just ended was cancelled; resets for the next pull."""
        fired = self.fired
        if fired:
            self.fired = 0
            if self.again is not None:
                self.again.cancel()
                self.again = None
        return fired


class DeadlineStream(_Bounded):
    """A stream whose pulls end at ``deadline``: one clock timer for the whole stream, which
    cancels the consumer's task only while a pull is in progress. Cheaper per chunk than
    watching each pull (no heap entry per pull), for the usual case with no idle limit."""

    __slots__ = ("_timer", "_timer_handle")

    def __init__(
        self,
        inner: ResponseStream,
        *,
        clock: Clock,
        deadline: float,
        limit: float,
        retryable: bool,
    ) -> None:
        super().__init__(
            inner, clock=clock, deadline=deadline, limit=limit, idle=None, retryable=retryable
        )
        self._timer = _Timer(clock)
        self._timer_handle = clock.call_at(deadline, self._timer.fire)

    async def __anext__(self) -> Any:
        if self.outcome is not None:
            raise StopAsyncIteration
        timer = self._timer
        # The clock check catches a deadline passed while the loop did not run the timer yet
        # (a producer that yields without ever suspending never lets it run).
        if timer.expired or self._clock.monotonic() >= self._deadline:  # type: ignore[operator]
            raise await self._expire(False)
        task = self._current_task()
        cancelling = task.cancelling()
        timer.task = task
        try:
            chunk = await self._inner.__anext__()
        except asyncio.CancelledError:
            timer.task = None
            fired = timer.take_fired()
            if fired and withdraw(task, fired) <= cancelling:
                raise await self._expire(False) from None
            self._finish(StreamOutcome.ABANDONED, None)
            raise
        except (StopAsyncIteration, ToolwareError) as end:
            timer.task = None
            fired = timer.take_fired()
            if fired and withdraw(task, fired) <= cancelling:
                self._ignored()
                raise await self._expire(False) from None
            if isinstance(end, StopAsyncIteration):
                self._finish(StreamOutcome.COMPLETED, None)
                raise
            error = self._bind(end)
            self._finish(StreamOutcome.FAILED, error)
            raise error from error.__cause__
        except BaseException:
            timer.task = None
            fired = timer.take_fired()
            if fired:
                withdraw(task, fired)
            self._finish(StreamOutcome.ABANDONED, None)
            raise
        timer.task = None
        if timer.fired:
            # The producer swallowed the cancellation and yielded anyway: too late.
            withdraw(task, timer.take_fired())
            self._ignored()
            raise await self._expire(False)
        self.chunks += 1
        return chunk

    def _finish(self, outcome: StreamOutcome, error: ToolwareError | None) -> None:
        self._timer_handle.cancel()
        super()._finish(outcome, error)


class IdleStream(_Bounded):
    """A stream whose pulls end ``idle`` seconds after each pull starts, and at ``deadline``
    (when given); each pull is watched by the loop's :class:`DeadlineWatcher`."""

    __slots__ = ("_idle_limit", "_watcher")

    def __init__(
        self,
        inner: ResponseStream,
        *,
        watcher: DeadlineWatcher,
        clock: Clock,
        deadline: float | None,
        limit: float,
        idle: float,
        retryable: bool,
    ) -> None:
        super().__init__(
            inner, clock=clock, deadline=deadline, limit=limit, idle=idle, retryable=retryable
        )
        self._watcher = watcher
        self._idle_limit = idle

    async def __anext__(self) -> Any:
        if self.outcome is not None:
            raise StopAsyncIteration
        now = self._clock.monotonic()
        until = now + self._idle_limit
        deadline = self._deadline
        by_idle = deadline is None or until < deadline
        if not by_idle:
            until = deadline  # type: ignore[assignment] # not None: by_idle is False
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
