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

The original attempt runs in the caller's own task, as a plain ``await call_next(request)``:
a call answered before the delay costs one timer, no task and no extra turn of the event
loop. Hedges run as tasks; a winning hedge cancels the original and then withdraws that
cancellation (a cancellation someone else asked for still propagates). An inner stage that
raises in any attempt ends the call with that exception, as a plain await would.

Streams: a response with a stream counts as a success once it exists (its first chunk
arrived); the streams of the losers that also got that far are closed (``aclose()``), so
their producers' ``finally`` blocks run.

Place it inside timeout and retry (the deadline bounds all attempts together; a retry
starts a new hedged race) and outside circuit breaker, rate limit and concurrency limit, so
that every hedge asks them for a permit of its own.

Events: ``hedging.started`` (debug) when a hedge starts, with its number; ``hedging.won``
(debug) when a hedge answered before the others; ``hedging.loser_crashed`` (warning) when an
attempt ended by raising after the race was decided (the exception is logged, not lost).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable

from toolware.clock import Clock, system_clock
from toolware.context import RequestContext, ResponseContext
from toolware.interceptors._hedge_race import HedgeRace
from toolware.interceptors._latency_window import LatencyWindow
from toolware.types import CallNext

__all__ = ["HedgingInterceptor"]

logger = logging.getLogger("toolware.interceptors.hedging")


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
        # A plain function: it hands back call_next's own awaitable, or one coroutine (the
        # race, or the timing of an unhedged call), never a frame of its own around them.
        entry = request.entry
        if entry is None or not entry.may_repeat:
            return call_next(request)
        percentile, samples, delay = self.percentile, None, self.delay
        if percentile is not None:
            name = request.qualified_name
            samples = self._windows.get(name)
            if samples is None:
                samples = self._windows[name] = LatencyWindow(self.window)
            if len(samples) >= self.min_samples:
                delay = samples.percentile(percentile)
        clock = self.clock
        started = clock.monotonic()
        deadline = request.deadline
        if delay is None or (deadline is not None and started + delay >= deadline):
            # Nothing to race: no timer, no task.
            if samples is None:
                return call_next(request)
            return _timed(call_next(request), clock, started, samples)
        return HedgeRace(request, call_next, clock, delay, self.max_hedges).run(started, samples)


async def _timed(
    awaitable: Awaitable[ResponseContext], clock: Clock, started: float, samples: LatencyWindow
) -> ResponseContext:
    """The response of an unhedged call, its latency recorded if it succeeded."""
    response = await awaitable
    if response.error is None:
        samples.add(clock.monotonic() - started)
    return response
