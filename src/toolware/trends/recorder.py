"""TrendRecorder: per-second and per-minute aggregates per target over a fixed horizon.

Each target has two rings (:mod:`toolware.trends._ring`): ``horizon_seconds`` one-second
intervals and ``horizon_minutes`` one-minute intervals. A call is added to both (the minute
ring is the roll-up, kept at write time so that reading a minute costs nothing): a lock, two
bisects and a few integer increments, no allocation. An interval is numbered
``floor(clock.monotonic() / width)``; its slot is zeroed when the ring comes round to it again.

At most ``max_targets`` targets are kept; further ones are counted under ``OVERFLOW_TARGET``
(first overflow logs ``trends.targets_capped``, warning), so memory stays bounded whatever
names callers send.

Read it with :meth:`TrendRecorder.series` (frozen :class:`TrendPoint` per interval, oldest
first), :meth:`TrendRecorder.window` (a window of complete intervals merged, for alert rules)
or :meth:`TrendRecorder.history` (everything, serialisable, for the capacity report).
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Sequence
from typing import Literal

import msgspec

from toolware.clock import Clock, system_clock
from toolware.stats import DEFAULT_BUCKETS, OVERFLOW_TARGET
from toolware.trends._ring import Ring, percentile

__all__ = ["TargetHistory", "TrendHistory", "TrendPoint", "TrendRecorder", "WindowStats"]

logger = logging.getLogger("toolware.trends")

Resolution = Literal["second", "minute"]
_WIDTH = {"second": 1.0, "minute": 60.0}


class TrendPoint(msgspec.Struct, frozen=True, kw_only=True):
    """One interval: ``time`` is its start (monotonic seconds); latencies in seconds."""

    time: float
    calls: int
    errors: int
    refused: int
    """Calls refused for lack of capacity (rate limited or concurrency limited)."""
    p50: float
    p95: float
    p99: float
    peak_in_flight: int


class TargetHistory(msgspec.Struct, frozen=True, kw_only=True):
    target: str
    seconds: tuple[TrendPoint, ...]
    minutes: tuple[TrendPoint, ...]


class TrendHistory(msgspec.Struct, frozen=True, kw_only=True):
    """Every target's series, at monotonic time ``at``; ``msgspec.json`` round-trips it."""

    at: float
    targets: tuple[TargetHistory, ...]


class WindowStats(msgspec.Struct, frozen=True, kw_only=True):
    """Complete intervals merged: ``seconds`` long, ending at ``end`` (monotonic)."""

    end: float
    seconds: float
    calls: int
    errors: int
    refused: int
    latency: float | None
    """The requested percentile, ``None`` when there were no calls."""

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.calls if self.calls else None

    @property
    def rate(self) -> float:
        return self.calls / self.seconds


class _Target:
    __slots__ = ("first", "in_flight", "minutes", "recorded", "seconds")

    def __init__(self, recorder: TrendRecorder, now: float) -> None:
        self.seconds = Ring(recorder.horizon_seconds, 1.0, recorder.bounds)
        self.minutes = Ring(recorder.horizon_minutes, 60.0, recorder.bounds)
        self.in_flight = 0
        self.recorded = False
        self.first = now  # intervals before the target's first call are not part of its history


def _count(option: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{option} must be a positive integer, got {value!r}")
    return value


class TrendRecorder:
    """Ring buffers of per-second and per-minute aggregates per target; thread safe."""

    __slots__ = (
        "_clock",
        "_lock",
        "_targets",
        "bounds",
        "horizon_minutes",
        "horizon_seconds",
        "max_targets",
    )

    def __init__(
        self,
        *,
        horizon_seconds: int = 600,
        horizon_minutes: int = 120,
        max_targets: int = 100,
        buckets: Sequence[float] = DEFAULT_BUCKETS,
        clock: Clock | None = None,
    ) -> None:
        """Keep the last ``horizon_seconds`` seconds and ``horizon_minutes`` minutes of at
        most ``max_targets`` targets, with latency histograms over ``buckets`` (seconds)."""
        self.horizon_seconds = _count("horizon_seconds", horizon_seconds)
        self.horizon_minutes = _count("horizon_minutes", horizon_minutes)
        self.max_targets = _count("max_targets", max_targets)
        bounds = tuple(buckets) if isinstance(buckets, Sequence) else ()
        if (
            not bounds
            or not all(
                isinstance(b, int | float)
                and not isinstance(b, bool)
                and math.isfinite(b)
                and b > 0
                for b in bounds
            )
            or list(bounds) != sorted(set(bounds))
        ):
            raise ValueError(
                f"buckets must be increasing positive finite seconds, e.g. (0.01, 0.1, 1.0), "
                f"got {buckets!r}"
            )
        if clock is not None and not isinstance(clock, Clock):
            raise TypeError(f"clock must implement toolware.clock.Clock, got {clock!r}")
        self.bounds = tuple(float(b) for b in bounds)
        self._clock = clock
        self._targets: dict[str, _Target] = {}
        self._lock = threading.Lock()

    @property
    def clock(self) -> Clock:
        """The clock intervals are numbered on (``system_clock`` until one is given or bound)."""
        return system_clock if self._clock is None else self._clock

    def bind_clock(self, clock: Clock) -> None:
        """Adopt ``clock`` if none was given; refuse a different one (two timelines)."""
        if self._clock is None:
            self._clock = clock
        elif self._clock is not clock:
            raise ValueError(
                f"TrendRecorder keeps time on {self._clock!r} but was asked to use {clock!r}; "
                "give the recorder, its interceptors and their pipelines the same clock"
            )

    def _target(self, target: str, now: float) -> _Target:
        series = self._targets.get(target)
        if series is None:
            if len(self._targets) >= self.max_targets and target != OVERFLOW_TARGET:
                series = self._targets.get(OVERFLOW_TARGET)
                if series is not None:
                    return series
                logger.warning(
                    "trends.targets_capped max_targets=%d",
                    self.max_targets,
                    extra={"max_targets": self.max_targets},
                )
                target = OVERFLOW_TARGET
            series = self._targets[target] = _Target(self, now)
        return series

    def begin(self, target: str) -> None:
        """A call to ``target`` started: counts it in flight until :meth:`end`."""
        now = self.clock.monotonic()
        with self._lock:
            series = self._target(target, now)
            series.in_flight += 1
            series.seconds.in_flight(now, series.in_flight)
            series.minutes.in_flight(now, series.in_flight)

    def end(
        self, target: str, seconds: float, *, error: bool = False, refused: bool = False
    ) -> None:
        """A call begun with :meth:`begin` finished after ``seconds``."""
        now = self.clock.monotonic()
        with self._lock:
            series = self._target(target, now)
            # A call that spans intervals was in flight in this one too.
            flight = series.in_flight
            if flight:
                series.in_flight = flight - 1
            series.recorded = True
            series.seconds.add(now, seconds, error, refused, flight)
            series.minutes.add(now, seconds, error, refused, flight)

    def forget(self, target: str) -> None:
        """A call begun with :meth:`begin` is not to be counted under ``target`` after all (it
        named no known entry); a target with nothing recorded is dropped again."""
        with self._lock:
            # A name begun past max_targets was counted under OVERFLOW_TARGET: forget it there.
            key = target if target in self._targets else OVERFLOW_TARGET
            series = self._targets.get(key)
            if series is None:
                return
            if series.in_flight:
                series.in_flight -= 1
            if not series.recorded and not series.in_flight:
                del self._targets[key]

    def record(
        self, target: str, seconds: float, *, error: bool = False, refused: bool = False
    ) -> None:
        """Count one call that took ``seconds``, ending now (no in-flight tracking)."""
        now = self.clock.monotonic()
        with self._lock:
            series = self._target(target, now)
            series.recorded = True
            series.seconds.add(now, seconds, error, refused)
            series.minutes.add(now, seconds, error, refused)

    def targets(self) -> tuple[str, ...]:
        with self._lock:
            return tuple(sorted(self._targets))

    def series(
        self, target: str, resolution: Resolution = "second", *, last: int | None = None
    ) -> tuple[TrendPoint, ...]:
        """The last ``last`` intervals (default: the whole horizon) up to and including the
        current one, oldest first, from the target's first call on; empty intervals included."""
        if resolution not in _WIDTH:
            raise ValueError(f"resolution must be 'second' or 'minute', got {resolution!r}")
        horizon = self.horizon_seconds if resolution == "second" else self.horizon_minutes
        count = horizon if last is None else _count("last", last)
        if count > horizon:
            raise ValueError(
                f"last={count} is beyond the {resolution} horizon of {horizon}; ask for at most "
                f"{horizon} or raise horizon_{resolution}s"
            )
        now = self.clock.monotonic()
        with self._lock:
            series = self._targets.get(target)
            if series is None:
                known = ", ".join(repr(t) for t in sorted(self._targets)) or "(none)"
                raise KeyError(f"no trends for {target!r}; recorded: {known}")
            return self._points(series, resolution, now, count)

    def _points(
        self, series: _Target, resolution: Resolution, now: float, count: int
    ) -> tuple[TrendPoint, ...]:
        ring = series.seconds if resolution == "second" else series.minutes
        width = ring.width
        current = int(now // width)
        first = max(current - count + 1, int(series.first // width))
        points = []
        for number in range(first, current + 1):
            index = ring.holds(number)
            if index is None:
                points.append(_empty(number * width))
                continue
            counts = ring.histogram(index)
            low, high = ring.low[index], ring.high[index]
            points.append(
                TrendPoint(
                    time=number * width,
                    calls=ring.calls[index],
                    errors=ring.errors[index],
                    refused=ring.refused[index],
                    p50=percentile(ring.bounds, counts, low, high, 0.5),
                    p95=percentile(ring.bounds, counts, low, high, 0.95),
                    p99=percentile(ring.bounds, counts, low, high, 0.99),
                    peak_in_flight=ring.peak[index],
                )
            )
        return tuple(points)

    def window(
        self, target: str | None, seconds: int, *, fraction: float = 0.99, now: float | None = None
    ) -> WindowStats:
        """The ``seconds`` complete seconds before the current one, merged (all targets when
        ``target`` is None). Windows longer than the second horizon are read from the minute
        ring, as the ``ceil(seconds / 60)`` complete minutes before the current one."""
        now = self.clock.monotonic() if now is None else now
        if seconds <= self.horizon_seconds:
            width, span = 1.0, seconds
        else:
            width, span = 60.0, math.ceil(seconds / 60)
        current = int(now // width)
        merged = [0] * (len(self.bounds) + 1)
        calls = errors = refused = 0
        low, high = math.inf, 0.0
        with self._lock:
            chosen = self._targets.values() if target is None else [self._targets.get(target)]
            for series in chosen:
                if series is None:
                    continue
                ring = series.seconds if width == 1.0 else series.minutes
                for number in range(current - span, current):
                    index = ring.holds(number)
                    if index is None or not ring.calls[index]:
                        continue
                    calls += ring.calls[index]
                    errors += ring.errors[index]
                    refused += ring.refused[index]
                    low = min(low, ring.low[index])
                    high = max(high, ring.high[index])
                    for slot, count in enumerate(ring.histogram(index)):
                        merged[slot] += count
        latency = percentile(self.bounds, merged, low, high, fraction) if calls else None
        return WindowStats(
            end=current * width,
            seconds=span * width,
            calls=calls,
            errors=errors,
            refused=refused,
            latency=latency,
        )

    def history(self) -> TrendHistory:
        """Every target's whole second and minute series, now."""
        now = self.clock.monotonic()
        with self._lock:
            targets = tuple(
                TargetHistory(
                    target=name,
                    seconds=self._points(series, "second", now, self.horizon_seconds),
                    minutes=self._points(series, "minute", now, self.horizon_minutes),
                )
                for name, series in sorted(self._targets.items())
            )
        return TrendHistory(at=now, targets=targets)


def _empty(time: float) -> TrendPoint:
    return TrendPoint(
        time=time, calls=0, errors=0, refused=0, p50=0.0, p95=0.0, p99=0.0, peak_in_flight=0
    )
