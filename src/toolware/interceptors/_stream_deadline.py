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
import functools
import logging
import types
from asyncio import events as _events
from asyncio import tasks as _tasks
from collections.abc import AsyncGenerator, Callable
from typing import Any

from toolware._deadlines import RECANCEL_AFTER, RECANCEL_TIMES, DeadlineWatcher, withdraw
from toolware._stream_layers import Layer
from toolware.clock import Clock, TimerHandle
from toolware.errors import CallTimeoutError, ToolwareError
from toolware.streams import ResponseStream, StreamOutcome, StreamState

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


def _no_task(loop: object) -> None:
    return None


def _task_lookup(
    loop: asyncio.AbstractEventLoop | None,
) -> tuple[Callable[[Any], asyncio.Task[Any] | None], Any]:
    """A fast ``(lookup, key)`` for the task running on ``loop`` (see ``_CURRENT_TASKS``);
    when it finds none, callers fall back to ``asyncio.current_task()``."""
    if _CURRENT_TASKS is None or loop is None:
        return _no_task, None
    return _CURRENT_TASKS.get, loop


class _Bounds:
    """A bounded stream's limits, and how it expires (shared with its generator)."""

    __slots__ = ("clock", "deadline", "idle", "limit", "loop", "retryable")

    def __init__(
        self,
        clock: Clock,
        deadline: float | None,
        limit: float,
        idle: float | None,
        retryable: bool,
    ) -> None:
        self.clock = clock
        self.deadline = deadline
        self.limit = limit
        self.idle = idle
        self.retryable = retryable
        self.loop = _events._get_running_loop()  # None when made outside a running loop

    async def expire(
        self, state: StreamState, inner: ResponseStream, by_idle: bool
    ) -> CallTimeoutError:
        """End as ``failed`` with a timeout, after closing the producer."""
        name = state.target or "(unnamed)"
        if by_idle:
            limit = self.idle or 0.0
            message = (
                f"{name!r} produced no chunk within its idle timeout of {limit:.3f}s "
                f"(after {state.chunks} chunk(s))"
            )
            hint = "the producer stalled; raise idle_timeout= if it is just slow between chunks"
        else:
            limit = self.limit
            message = (
                f"{name!r} did not complete its stream within the allowed timeout of "
                f"{limit:.3f}s (after {state.chunks} chunk(s))"
            )
            hint = None
        error = CallTimeoutError(
            message,
            limit=limit,
            started=True,
            retryable=self.retryable,
            hint=hint,
            request_id=state.request_id,
            target=state.target,
        )
        logger.debug(
            "timeout.expired target=%s limit=%s request_id=%s",
            name,
            limit,
            state.request_id,
            extra={"target": name, "limit": limit, "request_id": state.request_id},
        )
        state.finish(StreamOutcome.FAILED, error)
        await inner.aclose()
        return error


def _ignored(state: StreamState) -> None:
    logger.warning(
        "timeout.cancel_ignored target=%s request_id=%s: the stream went on after its "
        "deadline cancelled it; make the tool let asyncio.CancelledError through",
        state.target,
        state.request_id,
        extra={"target": state.target, "request_id": state.request_id},
    )


class _Timer:
    """What the deadline's one timer shares with its stream's generator (never the stream
    itself, so a dropped stream is collected at once): the task pulling now, and what the
    timer did."""

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


class DeadlineStream(Layer):
    """A stream whose pulls end at ``deadline``: one clock timer for the whole stream, which
    cancels the consumer's task only while a pull is in progress. Cheaper per chunk than
    watching each pull (no heap entry per pull), for the usual case with no idle limit."""

    __slots__ = ()

    def __init__(
        self,
        inner: ResponseStream,
        *,
        clock: Clock,
        deadline: float,
        limit: float,
        retryable: bool,
    ) -> None:
        timer = _Timer(clock)
        bounds = _Bounds(clock, deadline, limit, None, retryable)
        super().__init__(
            inner,
            functools.partial(_deadline_chunks, timer=timer, bounds=bounds),
            name="timeout",
        )
        # Cancelled as the stream ends, however it ends (collected included).
        self._state.on_finish = clock.call_at(deadline, timer.fire).cancel


async def _deadline_chunks(
    inner: ResponseStream, state: StreamState, *, timer: _Timer, bounds: _Bounds
) -> AsyncGenerator[Any, None]:
    pull = inner._gen.__anext__
    now = bounds.clock.monotonic
    deadline: float = bounds.deadline  # type: ignore[assignment] # set for this class
    task_of, loop = _task_lookup(bounds.loop)
    while True:
        # The clock check catches a deadline passed while the loop did not run the timer yet
        # (a producer that yields without ever suspending never lets it run).
        if timer.expired or now() >= deadline:
            raise await bounds.expire(state, inner, False)
        task: asyncio.Task[Any] = task_of(loop) or asyncio.current_task()  # type: ignore[assignment]
        cancelling = task.cancelling()
        timer.task = task
        try:
            chunk = await pull()
        except asyncio.CancelledError:
            timer.task = None
            fired = timer.take_fired()
            if fired and withdraw(task, fired) <= cancelling:
                raise await bounds.expire(state, inner, False) from None
            state.finish(StreamOutcome.ABANDONED)
            raise
        except (StopAsyncIteration, ToolwareError) as end:
            timer.task = None
            fired = timer.take_fired()
            if fired and withdraw(task, fired) <= cancelling:
                # The producer swallowed the cancellation and ended late: the deadline is
                # still the answer, as for a plain call.
                _ignored(state)
                raise await bounds.expire(state, inner, False) from None
            if isinstance(end, StopAsyncIteration):
                state.finish(StreamOutcome.COMPLETED)
                return
            error = state.bind(end)
            state.finish(StreamOutcome.FAILED, error)
            raise error from error.__cause__
        except BaseException:
            timer.task = None
            fired = timer.take_fired()
            if fired:
                withdraw(task, fired)
            state.finish(StreamOutcome.ABANDONED)
            raise
        timer.task = None
        if timer.fired:
            # The producer swallowed the cancellation and yielded anyway: too late.
            withdraw(task, timer.take_fired())
            _ignored(state)
            raise await bounds.expire(state, inner, False)
        state.chunks += 1
        yield chunk


class IdleStream(Layer):
    """A stream whose pulls end ``idle`` seconds after each pull starts, and at ``deadline``
    (when given); each pull is watched by the loop's :class:`DeadlineWatcher`."""

    __slots__ = ()

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
        bounds = _Bounds(clock, deadline, limit, idle, retryable)
        super().__init__(
            inner,
            functools.partial(_idle_chunks, watcher=watcher, bounds=bounds),
            name="timeout",
        )


async def _idle_chunks(
    inner: ResponseStream, state: StreamState, *, watcher: DeadlineWatcher, bounds: _Bounds
) -> AsyncGenerator[Any, None]:
    pull = inner._gen.__anext__
    clock, idle, deadline = bounds.clock, bounds.idle or 0.0, bounds.deadline
    task_of, loop = _task_lookup(bounds.loop)
    while True:
        now = clock.monotonic()
        until = now + idle
        by_idle = deadline is None or until < deadline
        if not by_idle:
            until = deadline  # type: ignore[assignment] # not None: by_idle is False
        if until <= now:
            raise await bounds.expire(state, inner, by_idle)
        task: asyncio.Task[Any] = task_of(loop) or asyncio.current_task()  # type: ignore[assignment]
        cancelling = task.cancelling()
        watch = watcher.watch(until, task)
        try:
            chunk = await pull()
        except asyncio.CancelledError:
            fired = watcher.done(watch)
            if fired and withdraw(task, fired) <= cancelling:
                raise await bounds.expire(state, inner, by_idle) from None
            state.finish(StreamOutcome.ABANDONED)
            raise
        except (StopAsyncIteration, ToolwareError) as end:
            fired = watcher.done(watch)
            if fired and withdraw(task, fired) <= cancelling:
                _ignored(state)
                raise await bounds.expire(state, inner, by_idle) from None
            if isinstance(end, StopAsyncIteration):
                state.finish(StreamOutcome.COMPLETED)
                return
            error = state.bind(end)
            state.finish(StreamOutcome.FAILED, error)
            raise error from error.__cause__
        except BaseException:
            fired = watcher.done(watch)
            if fired:
                withdraw(task, fired)
            state.finish(StreamOutcome.ABANDONED)
            raise
        fired = watcher.done(watch)
        if fired:
            # The producer swallowed the cancellation and yielded anyway: too late.
            withdraw(task, fired)
            _ignored(state)
            raise await bounds.expire(state, inner, by_idle)
        state.chunks += 1
        yield chunk
