"""Concurrency limit (bulkhead): at most ``limit`` calls in flight per key, in this process.

A call that finds its key full waits in a FIFO queue of at most ``max_waiting`` calls, or is
refused at once when the queue is full too (``max_waiting=0``, the default, never queues). A
refusal answers ``unavailable`` (:class:`~toolware.errors.ConcurrencyLimitedError`) saying how
full it was; the handler never ran, so retrying it is safe even for a non-idempotent tool.

Options:

- ``limit``: calls in flight per key (>= 1).
- ``max_waiting``: calls that may wait for a slot per key (>= 0).
- ``wait_timeout``: how long one call may wait (seconds > 0); None waits until the request's
  deadline. Both bound the wait: the earlier wins. A call with neither waits until a slot
  frees or it is cancelled.
- ``key``: ``"target"`` (the default), ``"principal"`` (calls without a principal share
  ``"anonymous"``), ``"principal_and_target"`` or a function ``(request) -> str``; a function
  that raises or returns a non-string answers ``internal`` naming this interceptor.

A slot is handed straight from the call that frees it to the first waiter, so the order is
FIFO and a newcomer never jumps the queue. A waiter that times out or is cancelled leaves the
queue, and one cancelled just as a slot was handed to it passes the slot on: no slot is lost.
A waiter cancelled by an outer timeout leaves word that it never started, so the timeout's
error says ``started=False`` (safe to retry). A response that waited carries
``markers.WAITED`` (seconds, added to any outer wait). Keys with nothing in flight and nobody
waiting are forgotten, so memory is bounded by the calls in flight. The counts are local to
the process (a pipeline shared by threads, each with its own loop, hands a slot to a waiter
on another loop through that loop); a shared limit across processes is a rate limit's job.

Streams: the slot is held until the stream ends (completed, failed, or abandoned by its
consumer), not when the response is returned: the producer is still running until then.

Place it after the rate limit (a call refused there never takes a slot) and inside timeout
and retry, so the deadline bounds the wait and a refused call may be retried.

Events: ``concurrency_limit.refused`` (debug) with the target, the key and the counts;
``concurrency_limit.key_failed`` (error) when a key function raised or returned a non-string.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from functools import partial

from toolware._workers import note_not_started
from toolware.clock import Clock, system_clock
from toolware.context import RequestContext, ResponseContext
from toolware.errors import ConcurrencyLimitedError
from toolware.interceptors._limit_options import (
    MAX_KEY_CHARS,
    KeyFunction,
    bounded_key,
    check_clock,
    check_seconds,
    check_whole,
    key_failed,
    key_function,
    pick_clock,
)
from toolware.markers import WAITED
from toolware.streams import StreamEnd
from toolware.types import CallNext

__all__ = ["ConcurrencyLimitInterceptor"]

logger = logging.getLogger("toolware.interceptors.concurrency_limit")

# A waiter's future is resolved True when a slot is handed to it, False when its wait is over.
_Waiters = deque[asyncio.Future[bool]]


class ConcurrencyLimitInterceptor:
    """Bounds the calls in flight per key; see the module docstring."""

    __slots__ = (
        "_by_target",
        "_clock",
        "_counts",
        "_key",
        "_queues",
        "key",
        "limit",
        "max_waiting",
        "name",
        "wait_timeout",
    )

    def __init__(
        self,
        *,
        limit: int,
        max_waiting: int = 0,
        wait_timeout: float | None = None,
        key: str | KeyFunction = "target",
        clock: Clock | None = None,
    ) -> None:
        check_whole("limit", limit, 1)
        check_whole("max_waiting", max_waiting, 0)
        if wait_timeout is not None:
            wait_timeout = check_seconds(
                "wait_timeout",
                wait_timeout,
                zero=False,
                hint=", or None to wait until the request's deadline",
            )
        check_clock(clock)
        kind, self._key = key_function("ConcurrencyLimitInterceptor", key)
        self._by_target = kind == "target"
        self.limit = limit
        self.max_waiting = max_waiting
        self.wait_timeout = wait_timeout
        self.key = kind
        self.name = "concurrency_limit"
        self._clock = clock
        self._counts: dict[str, int] = {}
        self._queues: dict[str, _Waiters] = {}

    def bind_clock(self, clock: Clock) -> None:
        """Adopt the pipeline's clock; refuse one that differs from the clock already held."""
        self._clock = pick_clock("ConcurrencyLimitInterceptor", self._clock, clock, "waits")

    def in_flight(self, key: str) -> int:
        """Calls holding a slot of ``key`` now (for dashboards and tests)."""
        return self._counts.get(key, 0)

    def waiting(self, key: str) -> int:
        """Calls waiting for a slot of ``key`` now."""
        queue = self._queues.get(key)
        return 0 if queue is None else len(queue)

    @property
    def keys(self) -> int:
        """How many keys are tracked (those with calls in flight or waiting)."""
        return len(self._counts)

    async def __call__(self, request: RequestContext, call_next: CallNext) -> ResponseContext:
        if self._by_target:  # the default, inlined: a function call is a third of our cost
            key = request.target if request.action is None else request.qualified_name
        else:
            try:
                key = self._key(request)
            except Exception as exc:
                return key_failed(request, logger, self.name, self.key, exc)
            if type(key) is not str and not isinstance(key, str):
                return key_failed(request, logger, self.name, self.key, None, key)
        if len(key) > MAX_KEY_CHARS:
            key = bounded_key(key)
        counts = self._counts
        in_flight = counts.get(key, 0)
        waited: float | None = None
        # While anyone waits the key is full (a freed slot goes to the first waiter), so this
        # one test also keeps a newcomer from jumping the queue.
        if in_flight < self.limit:
            counts[key] = in_flight + 1
        else:
            outcome = await self._wait(request, key, in_flight)
            if isinstance(outcome, ResponseContext):
                return outcome
            waited = outcome
        held = True
        try:
            response = await call_next(request)
            stream = response.stream
            if stream is not None:
                # The producer runs until the stream ends: the slot is held until then.
                end = partial(self._stream_ended, key, asyncio.get_running_loop())
                response = response.with_stream(stream.observe(on_end=end, name=self.name))
                held = False
        finally:
            if held:
                self._release(key)
        if waited is not None:
            response = response.with_extra(WAITED, (response.get(WAITED) or 0.0) + waited)
        return response

    async def _wait(
        self, request: RequestContext, key: str, in_flight: int
    ) -> float | ResponseContext:
        """Seconds waited until a slot was handed over, or the refusal."""
        queue = self._queues.get(key)
        waiting = 0 if queue is None else len(queue)
        if waiting >= self.max_waiting:
            return self._refused(request, key, in_flight, waiting, None)
        clock = self._clock
        if clock is None:
            clock = system_clock
        now = clock.monotonic()
        until = None if self.wait_timeout is None else now + self.wait_timeout
        deadline = request.deadline
        if deadline is not None and (until is None or deadline < until):
            until = deadline
            if until <= now:  # no time left to wait in
                return self._refused(request, key, in_flight, waiting, 0.0)
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        if queue is None:
            queue = self._queues[key] = deque()
        queue.append(future)
        timer = None if until is None else clock.call_at(until, partial(_expire, future))
        try:
            granted = await future
        except asyncio.CancelledError:
            if future.cancelled() or not future.result():
                self._leave(key, future)
                # Tell an outer timeout that cancelled us that the call never started, so its
                # error says started=False (safe to retry) like a call queued for a worker.
                note_not_started(
                    f"all {self.limit} slots of its {self.key} in use; waited "
                    f"{clock.monotonic() - now:.3f}s for one"
                )
            else:  # handed a slot just as it was cancelled: pass it on
                self._release(key)
            raise
        finally:
            if timer is not None:
                timer.cancel()
        waited = clock.monotonic() - now
        if not granted:
            self._leave(key, future)
            return self._refused(request, key, self.in_flight(key), self.waiting(key), waited)
        return waited

    def _leave(self, key: str, future: asyncio.Future[bool]) -> None:
        queue = self._queues.get(key)
        if queue is None:
            return
        if future in queue:  # else _release already took it off (a done future it skipped)
            queue.remove(future)
        if not queue:
            del self._queues[key]

    def _release(self, key: str) -> None:
        """Free ``key``'s slot: hand it to the first waiter still waiting, or count it off."""
        queue = self._queues.get(key) if self._queues else None
        if queue is not None:
            while queue:
                future = queue.popleft()
                if not future.done():
                    if not queue:
                        del self._queues[key]
                    loop = future.get_loop()
                    if _running_loop() is loop:
                        future.set_result(True)
                    else:  # a waiter on another loop (thread): only its own loop can wake it
                        loop.call_soon_threadsafe(self._hand_over, key, future)
                    return
            del self._queues[key]
        left = self._counts[key] - 1
        if left:
            self._counts[key] = left
        else:
            del self._counts[key]

    def _hand_over(self, key: str, future: asyncio.Future[bool]) -> None:
        """On the waiter's own loop: give it the slot, or pass the slot on if its wait ended
        while the slot was on its way."""
        if future.done():
            self._release(key)
        else:
            future.set_result(True)

    def _stream_ended(self, key: str, loop: asyncio.AbstractEventLoop, end: StreamEnd) -> None:
        # An abandoned stream can end during garbage collection on another thread: the counts
        # and futures belong to the loop, so the release is sent there.
        if _running_loop() is loop:
            self._release(key)
            return
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits on it any more
            loop.call_soon_threadsafe(self._release, key)

    def _refused(
        self,
        request: RequestContext,
        key: str,
        in_flight: int,
        waiting: int,
        waited: float | None,
    ) -> ResponseContext:
        target = request.qualified_name
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "concurrency_limit.refused target=%s key=%s in_flight=%s waiting=%s",
                target,
                key,
                in_flight,
                waiting,
                extra={"target": target, "key": key, "in_flight": in_flight, "waiting": waiting},
            )
        message = (
            f"{target!r} refused: {in_flight} of {self.limit} calls in flight per {self.key}, "
            f"{waiting} of {self.max_waiting} waiting"
        )
        hint = None
        if waited is not None:
            message += f"; no slot freed within the {waited:.3f}s this call could wait"
            hint = "raise wait_timeout= or give the call a later deadline, or lower the load"
        error = ConcurrencyLimitedError(
            message,
            limit=self.limit,
            in_flight=in_flight,
            waiting=waiting,
            max_waiting=self.max_waiting,
            hint=hint,
            request_id=request.id,
            target=target,
        )
        return ResponseContext.failure(error)

    def __repr__(self) -> str:
        return (
            f"ConcurrencyLimitInterceptor(limit={self.limit}, max_waiting={self.max_waiting}, "
            f"wait_timeout={self.wait_timeout!r}, key={self.key!r})"
        )


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _expire(future: asyncio.Future[bool]) -> None:
    """The wait is over (wait_timeout or deadline): resolve the waiter as not granted."""
    if not future.done():
        future.set_result(False)
