"""Timeouts and deadlines.

Each call gets a deadline: the earliest of the request's own deadline (set by the caller or an
outer pipeline), now + the entry's default ``timeout`` (``request.entry.timeout``), and now +
this interceptor's ``timeout``. The deadline travels on in the request, so nested pipelines and
remote calls see it. When it passes, the call is cancelled and the response is a ``timeout``
error carrying the limit; it is retryable only if the entry is idempotent.

The deadline is the answer: once it has fired, whatever the inner code does next (returns a
value, raises its own error, swallows the cancellation) the response is ``timeout``. A tool
that swallows the cancellation and goes on is cancelled again ``RECANCEL_AFTER`` (50 ms)
later, at its next await, up to ``RECANCEL_TIMES`` times (see ``toolware._deadlines``); an
async tool that swallows every cancellation cannot be stopped from the outside without a task
of its own per call, which toolware does not pay on every call. A
synchronous handler cannot be interrupted: the caller gets its timeout response on time and the
worker thread finishes in the background. A call that timed out while it was still waiting for
a worker thread is reported as never started (``error.started is False``).

A streamed call (see :mod:`toolware.streams`) is bounded the same way until its first chunk,
and also by ``first_chunk_timeout`` (the shorter of the entry's and this interceptor's; when
neither is set, ``idle_timeout``): expiry then is an ordinary ``timeout`` response. Its stream
is wrapped so that the deadline covers the whole stream and ``idle_timeout`` bounds the wait
for each later chunk; expiry mid-stream closes the producer and raises the ``timeout`` error
from the iteration (:mod:`toolware.interceptors._stream_deadline`).

The interceptor reads time from the pipeline's clock (``clock=None``, the default, adopts it at
``build()``); given a clock of its own, it refuses a pipeline that uses another.

Events: ``timeout.expired`` (debug) with the target and the limit; ``timeout.cancel_ignored``
(warning) when the inner code went on after the deadline cancelled it;
``timeout.abandon_failed`` (error) when it kept swallowing every cancellation.
"""

from __future__ import annotations

import asyncio
import logging
import math
import weakref
from collections.abc import Awaitable

from toolware._deadlines import DeadlineWatcher, withdraw
from toolware._links import answered
from toolware._workers import take_not_started
from toolware.clock import Clock, system_clock
from toolware.context import RequestContext, ResponseContext
from toolware.errors import CallTimeoutError, InvalidRequestError
from toolware.interceptors._stream_deadline import DeadlineStream, IdleStream
from toolware.registry.base import EntryDescription
from toolware.streams import ResponseStream
from toolware.types import CallNext

__all__ = ["TimeoutInterceptor"]

logger = logging.getLogger("toolware.interceptors.timeout")


class TimeoutInterceptor:
    """Bounds each call by a deadline; see the module docstring for how it is chosen."""

    __slots__ = (
        "_cached",
        "_clock",
        "_watchers",
        "first_chunk_timeout",
        "idle_timeout",
        "name",
        "timeout",
    )

    def __init__(
        self,
        *,
        timeout: float | None = 30.0,
        first_chunk_timeout: float | None = None,
        idle_timeout: float | None = None,
        clock: Clock | None = None,
    ) -> None:
        """``timeout`` bounds every call (a stream as a whole); ``first_chunk_timeout`` and
        ``idle_timeout`` bound, for streamed calls, the wait for the first chunk and for each
        later one. An entry's own limits apply too: the shorter one wins."""
        for option, value in (
            ("timeout", timeout),
            ("first_chunk_timeout", first_chunk_timeout),
            ("idle_timeout", idle_timeout),
        ):
            if value is not None and (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not (math.isfinite(value) and value > 0)
            ):
                raise ValueError(
                    f"{option} must be a positive, finite number of seconds, or None for no "
                    f"limit of its own, got {value!r}"
                )
        if clock is not None and not isinstance(clock, Clock):
            raise TypeError(f"clock must implement toolware.clock.Clock, got {clock!r}")
        self.timeout = timeout
        self.first_chunk_timeout = first_chunk_timeout
        self.idle_timeout = idle_timeout
        self.name = "timeout"
        self._clock = clock
        # One DeadlineWatcher per event loop; the last one used is cached (one tuple, replaced
        # whole, so threads never pair a loop with another loop's watcher) because nearly
        # every program runs one loop, and a WeakKeyDictionary lookup on every call is not free.
        self._watchers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, DeadlineWatcher] = (
            weakref.WeakKeyDictionary()
        )
        self._cached: tuple[asyncio.AbstractEventLoop | None, DeadlineWatcher | None] = (
            None,
            None,
        )

    @property
    def clock(self) -> Clock:
        """The clock deadlines are kept on: the pipeline's once built into one."""
        return system_clock if self._clock is None else self._clock

    def bind_clock(self, clock: Clock) -> None:
        """Adopt the pipeline's clock; refuse one that differs from a clock given explicitly."""
        if self._clock is None:
            if self._watchers:  # already used on the system clock: its deadlines live there
                raise ValueError(
                    "this TimeoutInterceptor already ran calls on the system clock; create a new "
                    "one for a pipeline with another clock"
                )
            self._clock = clock
        elif self._clock is not clock:
            raise ValueError(
                f"TimeoutInterceptor was given clock {self._clock!r}, but its pipeline uses "
                f"{clock!r}; two timelines make deadlines meaningless: pass the same clock to "
                "PipelineBuilder(clock=...) or leave the interceptor's clock unset"
            )

    def _watcher_for(self, loop: asyncio.AbstractEventLoop) -> DeadlineWatcher:
        watcher = self._watchers.get(loop)
        if watcher is None:
            watcher = self._watchers[loop] = DeadlineWatcher(self.clock)
        self._cached = (loop, watcher)
        return watcher

    def _policy(self, entry: EntryDescription | None) -> tuple[float | None, bool]:
        """This call's own limit in seconds, and whether a timeout may be retried."""
        if entry is None:
            return self.timeout, False
        own, entry_limit = self.timeout, entry.timeout
        if entry_limit is None or (own is not None and own < entry_limit):
            return own, entry.idempotent
        return entry_limit, entry.idempotent

    def __call__(self, request: RequestContext, call_next: CallNext) -> Awaitable[ResponseContext]:
        # A plain function: it works out the deadline and hands back either call_next's own
        # awaitable (no deadline at all) or a small coroutine that guards it, so the frame
        # kept per call in flight holds only what the guard needs.
        clock = self._clock
        if clock is None:
            clock = system_clock
        now = clock.monotonic()
        entry = request.entry
        limit, retryable = self._policy(entry)
        deadline = request.deadline
        # "not deadline < ..." rather than "... <= deadline": a NaN deadline must not switch
        # this interceptor's own limit off (NaN compares false both ways); a caller's deadline
        # equal to our own reports our exact limit.
        if limit is not None and (deadline is None or not deadline < now + limit):
            deadline = now + limit
            budget = limit  # exact: now + limit - now can differ from limit in the last bits
        elif deadline is None:
            if entry is not None and entry.streaming:
                first, idle = self._stream_limits(entry)
                if first is not None or idle is not None:
                    return self._guard(request, call_next, 0.0, retryable, now, first, idle)
            return call_next(request)
        else:
            budget = deadline - now
            if budget <= 0:
                return answered(
                    self._expired(request, 0.0, retryable, now, passed=now - deadline, first=False)
                )
            if budget != budget:  # NaN: a request built by hand, bypassing create()'s check
                return answered(ResponseContext.failure(_not_a_deadline(request)))
        if deadline != request.deadline:
            request = request.with_deadline(deadline)
        if entry is not None and entry.streaming:
            first, idle = self._stream_limits(entry)
            return self._guard(request, call_next, budget, retryable, now, first, idle)
        return self._guard(request, call_next, budget, retryable, now)

    def _stream_limits(self, entry: EntryDescription) -> tuple[float | None, float | None]:
        """The first-chunk and idle limits of a streamed call: the shorter of ours and the
        entry's, for each. Without a first-chunk limit, the idle limit bounds the wait for the
        first chunk too: a producer that never yields is idle from the start."""
        first = _shorter(self.first_chunk_timeout, entry.first_chunk_timeout)
        idle = _shorter(self.idle_timeout, entry.idle_timeout)
        return (idle if first is None else first), idle

    async def _guard(
        self,
        request: RequestContext,
        call_next: CallNext,
        budget: float,
        retryable: bool,
        now: float,
        first: float | None = None,
        idle: float | None = None,
    ) -> ResponseContext:
        """Run the rest of the pipeline under ``request.deadline`` (and, for a streamed call,
        ``first``: the limit on the wait for its first chunk); bound a streamed response."""
        task = asyncio.current_task()
        if task is None:  # pragma: no cover - a coroutine always runs in a task under asyncio
            raise RuntimeError("TimeoutInterceptor must run inside an asyncio task")
        watcher = self._watcher_of(task)
        # A reason left by a call its caller cancelled earlier in this task (with no timeout
        # interceptor around it to read it) must not describe this call.
        take_not_started()
        until, expiry, waiting_for_first = request.deadline, budget, False
        if first is not None and (until is None or now + first < until):
            until, expiry, waiting_for_first = now + first, first, True
        if until is None:  # pragma: no cover - __call__ passes a deadline or a first-chunk limit
            raise ValueError("a guarded call needs a deadline or a first-chunk limit")
        cancelling = task.cancelling()
        watch = watcher.watch(until, task)
        try:
            response = await call_next(request)
        except asyncio.CancelledError:
            # Ours only if we fired and nobody else asked to cancel (same test as asyncio.timeout).
            fired = watcher.done(watch)
            if fired and withdraw(task, fired) <= cancelling:
                return self._expired(request, expiry, retryable, now, first=waiting_for_first)
            take_not_started()  # not our deadline: a later timeout in this task must not see it
            raise
        except Exception:
            # Inner code turned our cancellation into an exception of its own: the deadline is
            # still the answer (and the cancel request is withdrawn, or the task would stay
            # marked as being cancelled for good).
            fired = watcher.done(watch)
            if fired and withdraw(task, fired) <= cancelling:
                self._ignored(request)
                return self._expired(request, expiry, retryable, now, first=waiting_for_first)
            raise
        except BaseException:
            fired = watcher.done(watch)
            if fired:
                withdraw(task, fired)
            raise
        fired = watcher.done(watch)
        if fired:
            # The inner code swallowed our cancellation and answered late (a value, or an
            # error of its own): the caller asked for an answer by the deadline.
            withdraw(task, fired)
            self._ignored(request)
            if response.stream is not None:
                await response.stream.aclose()
            return self._expired(request, expiry, retryable, now, first=waiting_for_first)
        if response.stream is not None:
            if idle is None:  # a stream from a handler with no streaming entry: our own limit
                idle = self.idle_timeout
            return self._bounded(response, request, watcher, budget, idle, retryable)
        return response

    def _bounded(
        self,
        response: ResponseContext,
        request: RequestContext,
        watcher: DeadlineWatcher,
        budget: float,
        idle: float | None,
        retryable: bool,
    ) -> ResponseContext:
        """``response`` with its stream bounded by the call's deadline (``budget`` seconds
        from the call's start) and by ``idle`` between chunks."""
        stream: ResponseStream = response.stream  # type: ignore[assignment] # checked by callers
        deadline = request.deadline
        if idle is None:
            if deadline is None:
                return response
            bounded: ResponseStream = DeadlineStream(
                stream, clock=self.clock, deadline=deadline, limit=budget, retryable=retryable
            )
        else:
            bounded = IdleStream(
                stream,
                watcher=watcher,
                clock=self.clock,
                deadline=deadline,
                limit=budget,
                idle=idle,
                retryable=retryable,
            )
        return response.with_stream(bounded)

    def _watcher_of(self, task: asyncio.Task[object]) -> DeadlineWatcher:
        loop = task.get_loop()
        cached_loop, watcher = self._cached
        if loop is not cached_loop or watcher is None:
            watcher = self._watcher_for(loop)
        return watcher

    @staticmethod
    def _ignored(request: RequestContext) -> None:
        logger.warning(
            "timeout.cancel_ignored target=%s request_id=%s: the call went on after its "
            "deadline cancelled it; make the tool let asyncio.CancelledError through",
            request.qualified_name,
            request.id,
            extra={"target": request.qualified_name, "request_id": request.id},
        )

    def _expired(
        self,
        request: RequestContext,
        limit: float,
        retryable: bool,
        started: float,
        *,
        passed: float | None = None,
        first: bool,
    ) -> ResponseContext:
        """The timeout response; ``passed`` is set when the deadline was over before we began,
        ``first`` when the limit was a streamed call's wait for its first chunk."""
        name = request.qualified_name
        waiting = take_not_started() if passed is None else None
        logger.debug(
            "timeout.expired target=%s limit=%s request_id=%s",
            name,
            limit,
            request.id,
            extra={"target": name, "limit": limit, "request_id": request.id},
        )
        if passed is not None:
            message = (
                f"{name!r} was not started: its deadline passed {passed:.3f}s before the call "
                "reached the timeout interceptor"
            )
            hint = "the caller's deadline was already over; give the call more time"
        elif waiting is not None:
            message = (
                f"{name!r} was never started within the allowed timeout of {limit:.3f}s: it "
                f"waited for capacity ({waiting})"
            )
            hint = (
                "add capacity (workers= on the pipeline, a higher concurrency or rate limit), "
                "make the tool async, or call again later"
            )
        elif first:
            message = f"{name!r} did not produce its first chunk within {limit:.3f}s"
            hint = "raise first_chunk_timeout= if the producer is just slow to start"
        else:
            message = f"{name!r} did not complete within the allowed timeout of {limit:.3f}s"
            hint = None
        error = CallTimeoutError(
            message,
            limit=limit,
            started=passed is None and waiting is None,
            retryable=retryable,
            hint=hint,
            request_id=request.id,
            target=name,
        )
        return ResponseContext.failure(
            error, started_at=started, finished_at=self.clock.monotonic()
        )


def _not_a_deadline(request: RequestContext) -> InvalidRequestError:
    return InvalidRequestError(
        f"the request's deadline is {request.deadline!r}, not a time",
        hint="build requests with RequestContext.create() or pipeline.invoke(), which check "
        "the deadline; or pass deadline=None for none",
        request_id=request.id,
        target=request.qualified_name,
    )


def _shorter(ours: float | None, theirs: float | None) -> float | None:
    if ours is None:
        return theirs
    return ours if theirs is None or ours < theirs else theirs
