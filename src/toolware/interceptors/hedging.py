"""Hedging: when a call is slow, start another attempt and take whichever succeeds first.

Only for calls that may run twice (``request.entry.may_repeat``: an idempotent entry, or one
with ``retry=True``); every other call, and a call with no registry entry, passes straight
through. After ``delay`` seconds without an answer a second attempt starts (its request carries
``markers.HEDGE`` = 1), another ``delay`` later a third (``HEDGE`` = 2), up to ``max_hedges``.
The first *successful* response wins and the attempts still running are cancelled (a
synchronous tool's worker thread is abandoned by the router, as on a timeout). The response
says how many hedges were started in ``markers.HEDGES``.

Options:

- ``delay``: seconds to wait before each hedge.
- ``percentile``: instead, the delay is that percentile (nearest rank, e.g. ``95.0``) of the
  target's recent successful latencies: the last ``window`` (1,000) samples kept per target.
  Until ``min_samples`` (20) are known, ``delay`` is used if given, else nothing is hedged.
- ``max_hedges``: how many extra attempts at most (1).

Hedging answers slowness, not failure (that is retry's job): a failed attempt does not start
the next one early. When every attempt started has failed, the call answers with the failure of
the *last* attempt to finish, as Polly does: it is the freshest view of the target, and it
ended the hedging (an earlier failure was answered while another attempt still had a chance).
No hedge is started at or after the request's deadline.

Streams: a response with a stream counts as a success once it exists (its first chunk
arrived); the streams of the losers that also got that far are closed (``aclose()``), so
their producers' ``finally`` blocks run.

Place it inside timeout and retry (the deadline bounds all attempts together; a retry
starts a new hedged race) and outside circuit breaker, rate limit and concurrency limit, so
that every hedge asks them for a permit of its own.

Events: ``hedging.started`` (debug) when a hedge starts, with its number; ``hedging.won``
(debug) when a hedge answered before the original; ``hedging.loser_crashed`` (warning) when
a cancelled attempt ended by raising instead.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable

from toolware.clock import Clock, TimerHandle, system_clock
from toolware.context import RequestContext, ResponseContext
from toolware.interceptors._latency_window import LatencyWindow
from toolware.markers import HEDGE, HEDGES
from toolware.types import CallNext

__all__ = ["HedgingInterceptor"]

logger = logging.getLogger("toolware.interceptors.hedging")

# Closing tasks of losers' streams that arrived after the race ended; kept so they are not
# collected while they run.
_closing: set[asyncio.Task[None]] = set()


class HedgingInterceptor:
    """Races extra attempts against a slow call; see the module docstring."""

    __slots__ = (
        "_clock",
        "_windows",
        "delay",
        "max_hedges",
        "min_samples",
        "name",
        "percentile",
        "window",
    )

    def __init__(
        self,
        *,
        delay: float | None = None,
        percentile: float | None = None,
        max_hedges: int = 1,
        min_samples: int = 20,
        window: int = 1000,
        clock: Clock | None = None,
    ) -> None:
        if delay is not None and (
            isinstance(delay, bool)
            or not isinstance(delay, int | float)
            or not (math.isfinite(delay) and delay > 0)
        ):
            raise ValueError(
                f"delay must be a positive, finite number of seconds, got {delay!r}; "
                "e.g. delay=0.2 to hedge a call that has not answered after 200 ms"
            )
        if percentile is not None and (
            isinstance(percentile, bool)
            or not isinstance(percentile, int | float)
            or not 0 < percentile <= 100
        ):
            raise ValueError(
                f"percentile must be a number in (0, 100], got {percentile!r}; "
                "e.g. percentile=95.0 hedges calls slower than 95 % of recent ones"
            )
        if delay is None and percentile is None:
            raise ValueError(
                "HedgingInterceptor needs delay= (seconds) or percentile= (of recent "
                "latencies), or both; with neither it would never hedge"
            )
        for option, value, least in (
            ("max_hedges", max_hedges, 1),
            ("min_samples", min_samples, 1),
            ("window", window, 1),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise ValueError(f"{option} must be a whole number >= {least}, got {value!r}")
        if min_samples > window:
            raise ValueError(
                f"min_samples ({min_samples}) must not exceed window ({window}): the window "
                "could never hold enough samples; raise window= or lower min_samples="
            )
        if clock is not None and not isinstance(clock, Clock):
            raise TypeError(f"clock must implement toolware.clock.Clock, got {clock!r}")
        self.delay = delay
        self.percentile = percentile
        self.max_hedges = max_hedges
        self.min_samples = min_samples
        self.window = window
        self.name = "hedging"
        self._clock = clock
        self._windows: dict[str, LatencyWindow] = {}

    @property
    def clock(self) -> Clock:
        """The clock delays are kept on: the pipeline's once built into one."""
        return system_clock if self._clock is None else self._clock

    def bind_clock(self, clock: Clock) -> None:
        """Adopt the pipeline's clock; refuse one that differs from a clock given explicitly."""
        if self._clock is None:
            self._clock = clock
        elif self._clock is not clock:
            raise ValueError(
                f"HedgingInterceptor was given clock {self._clock!r}, but its pipeline uses "
                f"{clock!r}; pass the same clock to PipelineBuilder(clock=...) or leave the "
                "interceptor's clock unset"
            )

    def delay_for(self, target: str) -> float | None:
        """The delay before hedging a call to ``target`` now (``None``: no hedge)."""
        samples = self._windows.get(target)
        percentile = self.percentile
        if percentile is not None and samples is not None and len(samples) >= self.min_samples:
            return samples.percentile(percentile)
        return self.delay

    def __call__(self, request: RequestContext, call_next: CallNext) -> Awaitable[ResponseContext]:
        entry = request.entry
        if entry is None or not entry.may_repeat:
            return call_next(request)
        percentile = self.percentile
        if percentile is None:
            return self._race(request, call_next, self.delay, None)
        name = request.qualified_name
        samples = self._windows.get(name)
        if samples is None:
            samples = self._windows[name] = LatencyWindow(self.window)
        delay = samples.percentile(percentile) if len(samples) >= self.min_samples else self.delay
        return self._race(request, call_next, delay, samples)

    async def _race(
        self,
        request: RequestContext,
        call_next: CallNext,
        delay: float | None,
        samples: LatencyWindow | None,
    ) -> ResponseContext:
        clock = self.clock
        started = clock.monotonic()
        deadline = request.deadline
        if delay is None or (deadline is not None and started + delay >= deadline):
            # Nothing to race: no task, no timer.
            response = await call_next(request)
            if samples is not None and response.error is None:
                samples.add(clock.monotonic() - started)
            return response
        loop = asyncio.get_running_loop()
        race = _Race(loop)
        running = [_start(loop, call_next(request), race, started, 0)]
        hedges, last_start = 0, started
        timer: TimerHandle | None = None
        failure: ResponseContext | None = None
        try:
            while True:
                if timer is None and hedges < self.max_hedges:
                    at = last_start + delay
                    if deadline is None or at < deadline:
                        timer = clock.call_at(at, race.due)
                await race.waiter
                race.waiter = loop.create_future()
                for attempt in [attempt for attempt in running if attempt[0].done()]:
                    running.remove(attempt)
                    task, began, number = attempt
                    response = task.result()  # an inner stage's crash propagates, as if awaited
                    if response.error is None:
                        self._won(request, began, number, samples)
                        return response if hedges == 0 else response.with_extra(HEDGES, hedges)
                    failure = response
                if not running and failure is not None:
                    return failure if hedges == 0 else failure.with_extra(HEDGES, hedges)
                if race.hedge_due:
                    race.hedge_due, timer = False, None
                    hedges += 1
                    last_start = clock.monotonic()
                    self._started(request, hedges)
                    hedged = call_next(request.with_extra(HEDGE, hedges))
                    running.append(_start(loop, hedged, race, last_start, hedges))
        finally:
            if timer is not None:
                timer.cancel()
            for task, _, _ in running:
                if not task.done():
                    task.cancel()
                    task.add_done_callback(_discard)
                else:  # finished in the same turn as the winner, or as we were cancelled
                    await _close_loser(task)

    @staticmethod
    def _started(request: RequestContext, number: int) -> None:
        name = request.qualified_name
        logger.debug(
            "hedging.started target=%s hedge=%s request_id=%s",
            name,
            number,
            request.id,
            extra={"target": name, "hedge": number, "request_id": request.id},
        )

    def _won(
        self, request: RequestContext, began: float, number: int, samples: LatencyWindow | None
    ) -> None:
        if samples is not None:
            samples.add(self.clock.monotonic() - began)
        if number:
            name = request.qualified_name
            logger.debug(
                "hedging.won target=%s hedge=%s request_id=%s",
                name,
                number,
                request.id,
                extra={"target": name, "hedge": number, "request_id": request.id},
            )


class _Race:
    """What the racing coroutine waits on: woken by any attempt's end or by the hedge timer."""

    __slots__ = ("hedge_due", "loop", "waiter")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.waiter: asyncio.Future[None] = loop.create_future()
        self.hedge_due = False

    def wake(self, _: object = None) -> None:
        if not self.waiter.done():
            self.waiter.set_result(None)

    def due(self) -> None:
        self.hedge_due = True
        self.wake()


def _start(
    loop: asyncio.AbstractEventLoop,
    awaitable: Awaitable[ResponseContext],
    race: _Race,
    began: float,
    number: int,
) -> tuple[asyncio.Future[ResponseContext], float, int]:
    """One attempt as a task that wakes the race when it ends."""
    task = asyncio.ensure_future(awaitable, loop=loop)
    task.add_done_callback(race.wake)
    return task, began, number


async def _close_loser(task: asyncio.Future[ResponseContext]) -> None:
    """Close the stream of an attempt that finished but did not win."""
    if not task.cancelled() and task.exception() is None:
        stream = task.result().stream
        if stream is not None:
            await stream.aclose()


def _discard(task: asyncio.Future[ResponseContext]) -> None:
    """A cancelled loser ended: retrieve its outcome (asyncio warns about an exception never
    retrieved) and close the stream of one that answered anyway."""
    if task.cancelled():
        return
    error = task.exception()
    if error is not None:
        logger.warning(
            "hedging.loser_crashed error=%s",
            type(error).__name__,
            exc_info=error,
            extra={"error": type(error).__name__},
        )
        return
    stream = task.result().stream
    if stream is not None:
        closing = task.get_loop().create_task(stream.aclose())
        _closing.add(closing)
        closing.add_done_callback(_closing.discard)
