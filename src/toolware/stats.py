"""In-process call statistics: counts, errors by category and a latency histogram per target.

The histogram has fixed bucket bounds, so recording a call is a bisect and a few integer
increments, and percentiles are estimated by interpolating inside the bucket that holds them
(accurate to the bucket's width, which is what dashboards and alert rules need).

Timeouts of calls that never started (they waited for a worker thread until their deadline)
are counted under ``timeout`` like any other, and also in ``not_started``, so that a saturated
worker pool can be told from slow tools.

A recorder may be shared by pipelines on several threads: recording holds a lock (an
uncontended ``threading.Lock`` costs well under a microsecond), so no count is ever lost.
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
from toolware.streams import StreamOutcome

__all__ = [
    "OVERFLOW_TARGET",
    "bucket_percentile",
    "DEFAULT_BUCKETS",
    "StatsRecorder",
    "StatsSnapshot",
    "TargetKey",
    "TargetStats",
]

logger = logging.getLogger("toolware.stats")

OVERFLOW_TARGET = "(other)"
"""Where calls are counted once ``max_targets`` distinct targets have been seen."""

_OUTCOME_INDEX = {
    StreamOutcome.COMPLETED: 0,
    StreamOutcome.FAILED: 1,
    StreamOutcome.ABANDONED: 2,
}

# Upper bounds in seconds: 100 µs to ~105 s, doubling; one overflow bucket above the last.
DEFAULT_BUCKETS: tuple[float, ...] = tuple(0.0001 * 2**i for i in range(21))


class TargetKey(msgspec.Struct, frozen=True, order=True):
    """What statistics are grouped by."""

    kind: Kind
    target: str
    action: str | None = None

    @property
    def qualified_name(self) -> str:
        return self.target if self.action is None else f"{self.target}.{self.action}"


class TargetStats(msgspec.Struct, frozen=True, kw_only=True):
    """A snapshot of one target's statistics. Latencies are in seconds."""

    key: TargetKey
    calls: int
    errors: Mapping[ErrorCategory, int]
    total_seconds: float
    min_seconds: float
    max_seconds: float
    bucket_bounds: tuple[float, ...]
    bucket_counts: tuple[int, ...]
    not_started: int = 0
    """How many of the ``timeout`` errors were calls that never started (no worker free)."""
    streams_completed: int = 0
    """Streamed calls (counted in ``calls`` once their stream ended) read to the end."""
    streams_failed: int = 0
    """Streamed calls whose stream ended with an error after it started (counted in
    ``errors`` too); one that failed before its first chunk is an ordinary failed call."""
    streams_abandoned: int = 0
    """Streamed calls the consumer stopped reading early (closed, cancelled or dropped); not
    errors."""
    chunks: int = 0
    """Chunks delivered by all streamed calls."""
    first_chunk_total_seconds: float = 0.0
    first_chunk_max_seconds: float = 0.0
    retries: int = 0
    """Attempts beyond the first, over all calls (``response.attempts - 1``, summed)."""
    cache_hits: int = 0
    """Calls answered from the cache (``markers.CACHE_HIT``); counted in ``calls`` too."""
    fallbacks: int = 0
    """Calls answered by a fallback (``markers.FALLBACK``) instead of the target."""
    hedges: int = 0
    """Extra attempts started by hedging (``markers.HEDGES``), over all calls."""

    @property
    def streams(self) -> int:
        """Streamed calls recorded (completed, failed or abandoned)."""
        return self.streams_completed + self.streams_failed + self.streams_abandoned

    @property
    def mean_first_chunk_seconds(self) -> float:
        """Mean time to first chunk of the streamed calls."""
        return self.first_chunk_total_seconds / self.streams if self.streams else 0.0

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def error_rate(self) -> float:
        return self.error_count / self.calls if self.calls else 0.0

    @property
    def mean_seconds(self) -> float:
        return self.total_seconds / self.calls if self.calls else 0.0

    def percentile(self, fraction: float) -> float:
        """Estimated latency below which ``fraction`` (0..1) of calls fell."""
        if not 0.0 <= fraction <= 1.0:
            raise ValueError(f"fraction must be within 0..1, got {fraction}")
        return bucket_percentile(
            self.bucket_bounds,
            self.bucket_counts,
            self.min_seconds,
            self.max_seconds,
            fraction,
        )


def bucket_percentile(
    bounds: Sequence[float], counts: Sequence[int], low: float, high: float, fraction: float
) -> float:
    """The latency below which ``fraction`` of the counted calls fell, from a histogram with
    upper ``bounds`` (one overflow bucket above the last): linear interpolation inside the
    bucket holding that rank, the bucket clamped to the fastest (``low``) and slowest
    (``high``) call seen, so a single 200 ms call reports p50 = 200 ms rather than a point
    inside the 102-205 ms bucket. ``0.0`` when nothing was counted."""
    total = sum(counts)
    if not total:
        return 0.0
    rank = fraction * total
    seen = 0
    for index, count in enumerate(counts):
        if count and seen + count >= rank:
            lower = bounds[index - 1] if index else 0.0
            upper = bounds[index] if index < len(bounds) else high
            upper = min(upper, high)
            lower = min(max(lower, low), upper)
            return lower + (upper - lower) * ((rank - seen) / count)
        seen += count
    return high  # pragma: no cover - the loop always reaches rank


class StatsSnapshot(msgspec.Struct, frozen=True):
    """Statistics for every target seen, in target order."""

    targets: tuple[TargetStats, ...]

    def get(self, target: str, *, kind: Kind = Kind.TOOL, action: str | None = None) -> TargetStats:
        key = TargetKey(kind, target, action)
        for stats in self.targets:
            if stats.key == key:
                return stats
        seen = ", ".join(f"{s.key.kind.value} {s.key.qualified_name!r}" for s in self.targets)
        raise KeyError(
            f"no statistics for {kind.value} {key.qualified_name!r}; seen: {seen or '(none)'}"
        )

    @property
    def calls(self) -> int:
        return sum(stats.calls for stats in self.targets)

    @property
    def not_started(self) -> int:
        """Timeouts, over all targets, of calls that never started."""
        return sum(stats.not_started for stats in self.targets)


class _Counters:
    __slots__ = (
        "cache_hits",
        "calls",
        "chunks",
        "counts",
        "errors",
        "fallbacks",
        "first_chunk_max",
        "first_chunk_total",
        "hedges",
        "max",
        "min",
        "not_started",
        "retries",
        "streams",
        "total",
    )

    def __init__(self, buckets: int) -> None:
        self.calls = 0
        self.not_started = 0
        self.streams = [0, 0, 0]  # completed, failed, abandoned
        self.chunks = 0
        self.first_chunk_total = 0.0
        self.first_chunk_max = 0.0
        self.total = 0.0
        self.min = float("inf")
        self.max = 0.0
        self.counts = [0] * (buckets + 1)
        self.errors: dict[ErrorCategory, int] = {}
        self.retries = 0
        self.cache_hits = 0
        self.fallbacks = 0
        self.hedges = 0


class StatsRecorder:
    """Accumulates statistics; safe to share between pipelines, on one thread or several.

    At most ``max_targets`` targets are tracked; calls to further targets are counted under
    ``OVERFLOW_TARGET``, so that statistics (and the metric label sets fed from them) stay
    bounded whatever names callers send. The first overflow logs ``stats.targets_capped``.
    """

    __slots__ = ("_bounds", "_lock", "_max_targets", "_targets")

    def __init__(
        self, buckets: Sequence[float] = DEFAULT_BUCKETS, *, max_targets: int = 1000
    ) -> None:
        if isinstance(max_targets, bool) or not isinstance(max_targets, int) or max_targets < 1:
            raise ValueError(f"max_targets must be a positive integer, got {max_targets!r}")
        self._max_targets = max_targets
        problem = ValueError(
            f"buckets must be increasing positive seconds, e.g. (0.01, 0.1, 1.0), got {buckets!r}"
        )
        try:
            bounds = tuple(float(b) for b in buckets)
        except (TypeError, ValueError):
            raise problem from None
        if (
            not bounds
            or not all(math.isfinite(b) and b > 0 for b in bounds)
            or list(bounds) != sorted(set(bounds))
        ):
            raise problem
        self._bounds = bounds
        self._targets: dict[tuple[Kind, str, str | None], _Counters] = {}
        # Without it, threads recording a new target at once each made its counters and all
        # but one were lost, and even "calls += 1" can lose a count between its read and write.
        self._lock = threading.Lock()

    def record(
        self,
        kind: Kind,
        target: str,
        action: str | None,
        seconds: float,
        error: ErrorCategory | None,
        *,
        not_started: bool = False,
    ) -> None:
        """Count one call; ``not_started`` marks a timeout of a call that never began."""
        key = (kind, target, action)
        slot = bisect.bisect_left(self._bounds, seconds)
        with self._lock:
            counters = self._targets.get(key)
            if counters is None:
                counters = self._new_counters(key)
            counters.calls += 1
            counters.total += seconds
            if seconds > counters.max:
                counters.max = seconds
            if seconds < counters.min:
                counters.min = seconds
            counters.counts[slot] += 1
            if error is not None:
                counters.errors[error] = counters.errors.get(error, 0) + 1
                if not_started:
                    counters.not_started += 1

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
    ) -> None:
        """Count one streamed call when its stream has ended: ``seconds`` from the call to the
        end of the stream, ``error`` for a stream that failed (``None`` otherwise)."""
        self.record(kind, target, action, seconds, error)
        index = _OUTCOME_INDEX[outcome]
        key = (kind, target, action)
        with self._lock:
            counters = self._targets.get(key)
            if counters is None:  # counted under OVERFLOW_TARGET by record()
                counters = self._targets[(kind, OVERFLOW_TARGET, None)]
            counters.streams[index] += 1
            counters.chunks += chunks
            counters.first_chunk_total += first_chunk_seconds
            if first_chunk_seconds > counters.first_chunk_max:
                counters.first_chunk_max = first_chunk_seconds

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
        """Add what the resilience interceptors did for one call already counted by
        :meth:`record` (retries, a cache hit, a fallback, hedges)."""
        key = (kind, target, action)
        with self._lock:
            counters = self._targets.get(key)
            if counters is None:  # counted under OVERFLOW_TARGET by record()
                counters = self._targets[(kind, OVERFLOW_TARGET, None)]
            counters.retries += retries
            counters.cache_hits += cache_hit
            counters.fallbacks += fallback
            counters.hedges += hedges

    def _new_counters(self, key: tuple[Kind, str, str | None]) -> _Counters:
        if len(self._targets) >= self._max_targets:
            overflow = (key[0], OVERFLOW_TARGET, None)
            counters = self._targets.get(overflow)
            if counters is not None:
                return counters
            logger.warning(
                "stats.targets_capped max_targets=%d kind=%s",
                self._max_targets,
                key[0].value,
                extra={"max_targets": self._max_targets, "kind": key[0].value},
            )
            key = overflow
        counters = self._targets[key] = _Counters(len(self._bounds))
        return counters

    def snapshot(self) -> StatsSnapshot:
        with self._lock:
            stats = [
                TargetStats(
                    key=TargetKey(*key),
                    calls=c.calls,
                    errors=dict(c.errors),
                    total_seconds=c.total,
                    min_seconds=c.min,
                    max_seconds=c.max,
                    bucket_bounds=self._bounds,
                    bucket_counts=tuple(c.counts),
                    not_started=c.not_started,
                    streams_completed=c.streams[0],
                    streams_failed=c.streams[1],
                    streams_abandoned=c.streams[2],
                    chunks=c.chunks,
                    first_chunk_total_seconds=c.first_chunk_total,
                    first_chunk_max_seconds=c.first_chunk_max,
                    retries=c.retries,
                    cache_hits=c.cache_hits,
                    fallbacks=c.fallbacks,
                    hedges=c.hedges,
                )
                for key, c in self._targets.items()
            ]
        stats.sort(key=lambda s: (s.key.kind.value, s.key.target, s.key.action or ""))
        return StatsSnapshot(tuple(stats))

    def reset(self) -> None:
        with self._lock:
            self._targets.clear()
