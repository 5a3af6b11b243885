"""The in-process aggregate every exporter reads: :class:`CallMetrics`.

Per (kind, target, action): calls, errors by category, the duration histogram (fixed bounds,
``DEFAULT_BUCKETS`` of :mod:`toolware.stats`), streams and their time to first chunk, retries,
cache hits, fallbacks and hedges, read as the :class:`~toolware.stats.TargetStats` the stats
interceptor reports. At most ``max_targets`` targets are kept; calls to further ones are
counted under ``(other)`` of their kind (``metrics.targets_capped`` is logged once per kind).

The hot path takes no lock: each thread writes its own shard (:mod:`._series`), and
:meth:`CallMetrics.snapshot` merges them. Besides the per-target counters:

- calls started, per kind: in flight = started - recorded (a call is recorded once, when it
  ends, a streamed call when its stream ends), so a call pays one increment for it;
- limiter refusals per target and limiter (``rate_limit`` for ``RateLimitedError``,
  ``concurrency_limit`` for ``ConcurrencyLimitedError``), bounded like the targets;
- the latest state of each circuit breaker, fed by :meth:`CallMetrics.on_breaker_change`
  (give it to ``CircuitBreakerInterceptor(on_state_change=...)``), at most ``max_breakers``
  keys; later keys are dropped and ``metrics.breakers_capped`` is logged once.

Exporters call :meth:`CallMetrics.snapshot` at collection time, never on the call path.
"""

from __future__ import annotations

import bisect
import logging
import math
import threading
from collections.abc import Mapping, Sequence

import msgspec

from toolware.context import Kind
from toolware.errors import ErrorCategory
from toolware.metrics._series import Key, Series, Shard, merge
from toolware.state.base import BreakerChange, BreakerState
from toolware.stats import DEFAULT_BUCKETS, OVERFLOW_TARGET, StatsSnapshot
from toolware.streams import StreamOutcome

__all__ = ["BREAKER_STATE_VALUES", "CallMetrics", "MetricsSnapshot", "RefusalKey"]

logger = logging.getLogger("toolware.metrics")

BREAKER_STATE_VALUES: Mapping[BreakerState, int] = {
    BreakerState.CLOSED: 0,
    BreakerState.HALF_OPEN: 1,
    BreakerState.OPEN: 2,
    BreakerState.ISOLATED: 3,
}
"""The gauge value of each breaker state (0 closed, 1 half open, 2 open, 3 isolated)."""


class RefusalKey(msgspec.Struct, frozen=True, order=True):
    """What limiter refusals are counted by."""

    kind: Kind
    target: str
    action: str | None
    limiter: str


class MetricsSnapshot(msgspec.Struct, frozen=True):
    """Everything the exporters publish, read at one moment."""

    stats: StatsSnapshot
    in_flight: Mapping[Kind, int]
    refusals: Mapping[RefusalKey, int]
    breakers: Mapping[str, BreakerState]


_OUTCOME_INDEX = {StreamOutcome.COMPLETED: 0, StreamOutcome.FAILED: 1, StreamOutcome.ABANDONED: 2}


def _bounded(option: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{option} must be a positive integer, e.g. 1000, got {value!r}")
    if value < 1:
        raise ValueError(f"{option} must be a positive integer, e.g. 1000, got {value!r}")
    return value


def _buckets(buckets: object) -> tuple[float, ...]:
    problem = ValueError(
        f"buckets must be increasing positive seconds, e.g. (0.01, 0.1, 1.0), got {buckets!r}"
    )
    try:
        bounds = tuple(float(b) for b in buckets)  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        raise problem from None
    if not bounds or not all(math.isfinite(b) and b > 0 for b in bounds):
        raise problem
    if list(bounds) != sorted(set(bounds)):
        raise problem
    return bounds


class CallMetrics:
    """Aggregates calls in process; safe to share between pipelines and threads."""

    __slots__ = (
        "_admitted",
        "_breakers",
        "_breakers_capped",
        "_capped",
        "_finished_before",
        "_lock",
        "_refusals",
        "_shards",
        "bounds",
        "max_breakers",
        "max_targets",
    )

    def __init__(
        self,
        *,
        max_targets: int = 1000,
        buckets: Sequence[float] = DEFAULT_BUCKETS,
        max_breakers: int = 1000,
    ) -> None:
        self.max_targets = _bounded("max_targets", max_targets)
        self.max_breakers = _bounded("max_breakers", max_breakers)
        self.bounds = _buckets(buckets)
        self._lock = threading.Lock()
        self._shards: dict[int, Shard] = {}
        self._admitted: set[Key] = set()
        self._capped: set[Kind] = set()
        self._finished_before: dict[Kind, int] = dict.fromkeys(Kind, 0)
        self._refusals: dict[RefusalKey, int] = {}
        self._breakers: dict[str, BreakerState] = {}
        self._breakers_capped = False

    def shard(self) -> Shard:
        """The calling thread's shard (only this thread writes it)."""
        ident = threading.get_ident()
        shard = self._shards.get(ident)
        if shard is None:
            with self._lock:
                shard = self._shards[ident] = Shard()
        return shard

    def series(self, shard: Shard, key: Key) -> Series:
        """The counters of ``key`` in ``shard``: admitted while under ``max_targets``, else
        the ``(other)`` of its kind (not remembered under ``key``, so invented names cost no
        memory)."""
        series = shard.series.get(key)
        if series is not None:
            return series
        with self._lock:
            admitted = self._admitted
            if key not in admitted:
                if len(admitted) < self.max_targets:
                    admitted.add(key)
                else:
                    kind = key[0]
                    key = (kind, OVERFLOW_TARGET, None)
                    if kind not in self._capped:
                        self._capped.add(kind)
                        logger.warning(
                            "metrics.targets_capped max_targets=%d kind=%s",
                            self.max_targets,
                            kind.value,
                            extra={"max_targets": self.max_targets, "kind": kind.value},
                        )
            series = shard.series.get(key)
            if series is None:
                series = shard.series[key] = Series(len(self.bounds))
        return series

    def record(
        self,
        kind: Kind,
        target: str,
        action: str | None,
        seconds: float,
        error: ErrorCategory | None,
        *,
        not_started: bool = False,
    ) -> Series:
        """Count one ended call (``not_started``: a timeout of a call that never began)."""
        series = self.series(self.shard(), (kind, target, action))
        series.calls += 1
        series.total += seconds
        if seconds > series.max:
            series.max = seconds
        if seconds < series.min:
            series.min = seconds
        series.counts[bisect.bisect_left(self.bounds, seconds)] += 1
        if error is not None:
            series.errors[error] = series.errors.get(error, 0) + 1
            series.not_started += not_started
        return series

    def record_stream(
        self,
        kind: Kind,
        target: str,
        action: str | None,
        seconds: float,
        outcome: StreamOutcome,
        error: ErrorCategory | None,
        *,
        first_chunk_seconds: float,
        chunks: int,
    ) -> Series:
        """Count a streamed call when its stream has ended."""
        series = self.record(kind, target, action, seconds, error)
        series.streams[_OUTCOME_INDEX[outcome]] += 1
        series.chunks += chunks
        series.first_chunk_total += first_chunk_seconds
        if first_chunk_seconds > series.first_chunk_max:
            series.first_chunk_max = first_chunk_seconds
        return series

    def call_started(self, kind: Kind) -> None:
        """Count a call entering (it is in flight until :meth:`record` counts its end)."""
        self.shard().started[kind] += 1

    def record_resilience(
        self,
        kind: Kind,
        target: str,
        action: str | None,
        *,
        retries: int = 0,
        cache_hit: bool = False,
        fallback: bool = False,
        hedges: int = 0,
    ) -> None:
        """Add what resilience did for a call already counted by :meth:`record`."""
        series = self.series(self.shard(), (kind, target, action))
        series.retries += retries
        series.cache_hits += cache_hit
        series.fallbacks += fallback
        series.hedges += hedges

    def record_refusal(self, kind: Kind, target: str, action: str | None, limiter: str) -> None:
        """Count a call a limiter refused (rare: under the lock)."""
        key = RefusalKey(kind, target, action, limiter)
        with self._lock:
            refusals = self._refusals
            if key not in refusals and len(refusals) >= self.max_targets:
                key = RefusalKey(kind, OVERFLOW_TARGET, None, limiter)
            refusals[key] = refusals.get(key, 0) + 1

    def on_breaker_change(self, change: BreakerChange) -> None:
        """Keep the latest state of ``change.key``; pass this as ``on_state_change``."""
        key = change.key
        with self._lock:
            breakers = self._breakers
            if key in breakers or len(breakers) < self.max_breakers:
                breakers[key] = change.current
                return
            if self._breakers_capped:
                return
            self._breakers_capped = True
        logger.warning(
            "metrics.breakers_capped max_breakers=%d key=%s",
            self.max_breakers,
            key,
            extra={"max_breakers": self.max_breakers, "key": key},
        )

    def snapshot(self) -> MetricsSnapshot:
        """Read everything (collection time, not the call path)."""
        with self._lock:
            shards = list(self._shards.values())
            refusals = dict(sorted(self._refusals.items()))
            breakers = dict(sorted(self._breakers.items()))
            finished = dict(self._finished_before)
        # Started is read before the series, so a call ending in between cannot make a call
        # look in flight twice; one starting in between is counted a moment late.
        started = dict.fromkeys(Kind, 0)
        for shard in shards:
            for kind, count in list(shard.started.items()):
                started[kind] += count
        parts: dict[Key, list[Series]] = {}
        for shard in shards:
            for key, series in list(shard.series.items()):
                parts.setdefault(key, []).append(series)
        targets = [merge(key, found, self.bounds) for key, found in parts.items()]
        targets.sort(key=lambda s: (s.key.kind.value, s.key.target, s.key.action or ""))
        for stats in targets:
            finished[stats.key.kind] += stats.calls
        in_flight = {kind: max(started[kind] - finished[kind], 0) for kind in Kind}
        return MetricsSnapshot(StatsSnapshot(tuple(targets)), in_flight, refusals, breakers)

    def reset(self) -> None:
        """Forget everything but the calls still in flight (a call that ends while this runs
        may be lost from the counts, and then looks in flight until the next reset)."""
        ended = self.snapshot().stats.targets
        with self._lock:
            for stats in ended:
                self._finished_before[stats.key.kind] += stats.calls
            for shard in self._shards.values():
                shard.series.clear()
            self._admitted.clear()
            self._capped.clear()
            self._refusals.clear()
            self._breakers.clear()
            self._breakers_capped = False
