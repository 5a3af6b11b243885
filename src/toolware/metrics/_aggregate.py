"""The in-process aggregate every exporter reads: :class:`CallMetrics`.

Per-call numbers (calls, errors by category, the duration histogram, streams, time to first
chunk, retries, cache hits, fallbacks, hedges) live in a :class:`~toolware.stats.StatsRecorder`,
bounded by ``max_targets`` with the ``(other)`` overflow target. Kept here besides it:

- calls started, per kind: in flight = started - recorded (a call is recorded once, when it
  ends, a streamed call when its stream ends), so the hot path pays one increment and nothing
  when it finishes;
- limiter refusals per target and limiter (``rate_limit`` for ``RateLimitedError``,
  ``concurrency_limit`` for ``ConcurrencyLimitedError``), bounded like the targets;
- the latest state of each circuit breaker, fed by :meth:`CallMetrics.on_breaker_change`
  (give it to ``CircuitBreakerInterceptor(on_state_change=...)``), at most ``max_breakers``
  keys; later keys are dropped and ``metrics.breakers_capped`` is logged once.

Exporters call :meth:`CallMetrics.snapshot` at collection time, never on the call path.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence

import msgspec

from toolware.context import Kind
from toolware.state.base import BreakerChange, BreakerState
from toolware.stats import DEFAULT_BUCKETS, OVERFLOW_TARGET, StatsRecorder, StatsSnapshot

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


def _bounded(option: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{option} must be a positive integer, e.g. 1000, got {value!r}")
    if value < 1:
        raise ValueError(f"{option} must be a positive integer, e.g. 1000, got {value!r}")
    return value


class CallMetrics:
    """Aggregates calls in process; safe to share between pipelines and threads."""

    __slots__ = (
        "_breakers",
        "_breakers_capped",
        "_lock",
        "_refusals",
        "_started",
        "max_breakers",
        "max_targets",
        "recorder",
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
        self.recorder = StatsRecorder(buckets, max_targets=max_targets)
        self._lock = threading.Lock()
        self._started: dict[Kind, int] = dict.fromkeys(Kind, 0)
        self._refusals: dict[RefusalKey, int] = {}
        self._breakers: dict[str, BreakerState] = {}
        self._breakers_capped = False

    def call_started(self, kind: Kind) -> None:
        """Count a call entering (the hot path: one locked increment)."""
        with self._lock:
            self._started[kind] += 1

    def record_refusal(self, kind: Kind, target: str, action: str | None, limiter: str) -> None:
        """Count a call a limiter refused."""
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
            started = dict(self._started)
            refusals = dict(sorted(self._refusals.items()))
            breakers = dict(sorted(self._breakers.items()))
        stats = self.recorder.snapshot()
        finished = dict.fromkeys(Kind, 0)
        for target in stats.targets:
            finished[target.key.kind] += target.calls
        # Started is read first, so a call ending in between can only make this smaller.
        in_flight = {kind: max(started[kind] - finished[kind], 0) for kind in Kind}
        return MetricsSnapshot(stats, in_flight, refusals, breakers)

    def reset(self) -> None:
        """Forget everything but the calls still in flight."""
        with self._lock:
            stats = self.recorder.snapshot()
            self.recorder.reset()
            for target in stats.targets:
                self._started[target.key.kind] -= target.calls
            self._refusals.clear()
            self._breakers.clear()
            self._breakers_capped = False
