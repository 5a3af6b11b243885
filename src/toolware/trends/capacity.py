"""The capacity report: what the recorded history says about load, latency and headroom.

Per target, from a :class:`~toolware.trends.recorder.TrendHistory` (or a recorder, read now):

- peak rate: the busiest second (calls in it) and when; mean rate: calls / seconds observed.
- latency trend: the least-squares slope of the chosen percentile over the per-minute points
  that had calls, in seconds per minute (needs two such minutes).
- saturation signs: the most calls in flight at once against the target's limit (``limits``),
  and the share of calls refused for lack of capacity (rate or concurrency limited).
- the rate at which the latency objective would be missed: a least-squares line of the
  percentile against calls per second over the per-second points that had calls, solved for
  the objective. It needs three such points at two different rates at least, and a latency
  that grows with the rate; otherwise the report says which of these is missing. It is an
  extrapolation from a straight line: read it as a hint of where the knee is, not a promise.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import msgspec

from toolware.trends.recorder import TargetHistory, TrendHistory, TrendPoint, TrendRecorder

__all__ = ["CapacityReport", "TargetCapacity", "capacity_report"]

_PERCENTILES = {0.5: "p50", 0.95: "p95", 0.99: "p99"}
TREND_METHOD = "least-squares slope of per-minute {p} over the minutes with calls"
OBJECTIVE_METHOD = (
    "least-squares line of per-second {p} on calls per second over the seconds with calls, "
    "solved for the objective"
)


class TargetCapacity(msgspec.Struct, frozen=True, kw_only=True):
    target: str
    calls: int
    seconds_observed: int
    peak_rate: float
    """Calls in the busiest second."""
    peak_at: float | None
    mean_rate: float
    error_rate: float
    latency_trend: float | None
    """Seconds of latency gained per minute (``None``: fewer than two minutes with calls)."""
    peak_in_flight: int
    in_flight_limit: int | None
    saturation: float | None
    """``peak_in_flight / in_flight_limit`` when a limit was given."""
    refused_rate: float
    objective_rate: float | None
    """Calls per second at which the objective would be missed (``None``: see the note)."""
    objective_note: str


class CapacityReport(msgspec.Struct, frozen=True, kw_only=True):
    at: float
    latency_objective: float
    percentile: float
    trend_method: str
    objective_method: str
    targets: tuple[TargetCapacity, ...]


def capacity_report(
    source: TrendRecorder | TrendHistory,
    *,
    latency_objective: float,
    percentile: float = 0.99,
    limits: Mapping[str, int] | None = None,
) -> CapacityReport:
    """The capacity summary of every recorded target; ``latency_objective`` in seconds,
    ``percentile`` one of 0.5, 0.95, 0.99 (what the points keep), ``limits`` the concurrency
    limit per target name."""
    if (
        isinstance(latency_objective, bool)
        or not isinstance(latency_objective, int | float)
        or not (math.isfinite(latency_objective) and latency_objective > 0)
    ):
        raise ValueError(
            f"latency_objective must be a positive, finite number of seconds, e.g. 0.5, got "
            f"{latency_objective!r}"
        )
    if percentile not in _PERCENTILES or isinstance(percentile, bool):
        raise ValueError(
            f"percentile must be one of 0.5, 0.95, 0.99 (the percentiles trend points keep), "
            f"got {percentile!r}"
        )
    limits = dict(limits or {})
    for name, limit in limits.items():
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError(f"limits[{name!r}] must be a positive integer, got {limit!r}")
    if isinstance(source, TrendRecorder):
        history = source.history()
    elif isinstance(source, TrendHistory):
        history = source
    else:
        raise TypeError(
            f"source must be a TrendRecorder or a TrendHistory, got {type(source).__name__}"
        )
    field = _PERCENTILES[percentile]
    return CapacityReport(
        at=history.at,
        latency_objective=float(latency_objective),
        percentile=percentile,
        trend_method=TREND_METHOD.format(p=field),
        objective_method=OBJECTIVE_METHOD.format(p=field),
        targets=tuple(
            _target(target, field, latency_objective, limits.get(target.target))
            for target in history.targets
        ),
    )


def _target(
    history: TargetHistory, field: str, objective: float, limit: int | None
) -> TargetCapacity:
    seconds = history.seconds
    busy = [p for p in seconds if p.calls]
    calls = sum(p.calls for p in seconds)
    peak = max(busy, key=lambda p: p.calls, default=None)  # the first of equal peaks
    minutes = [p for p in history.minutes if p.calls]
    trend = _slope([p.time / 60 for p in minutes], [_value(p, field) for p in minutes])
    peak_in_flight = max((p.peak_in_flight for p in seconds), default=0)
    rate, note = _objective_rate(busy, field, objective)
    return TargetCapacity(
        target=history.target,
        calls=calls,
        seconds_observed=len(seconds),
        peak_rate=float(peak.calls) if peak else 0.0,
        peak_at=peak.time if peak else None,
        mean_rate=calls / len(seconds) if seconds else 0.0,
        error_rate=sum(p.errors for p in seconds) / calls if calls else 0.0,
        latency_trend=trend,
        peak_in_flight=peak_in_flight,
        in_flight_limit=limit,
        saturation=None if limit is None else peak_in_flight / limit,
        refused_rate=sum(p.refused for p in seconds) / calls if calls else 0.0,
        objective_rate=rate,
        objective_note=note,
    )


def _value(point: TrendPoint, field: str) -> float:
    value: float = getattr(point, field)
    return value


def _slope(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """The least-squares slope of ys on xs; ``None`` without two distinct xs."""
    fit = _fit(xs, ys)
    return None if fit is None else fit[1]


def _fit(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float] | None:
    """Intercept and slope of the least-squares line; ``None`` without two distinct xs."""
    n = len(xs)
    if n < 2:
        return None
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    spread = sum((x - mean_x) ** 2 for x in xs)
    if spread == 0:
        return None
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread
    return mean_y - slope * mean_x, slope


def _objective_rate(
    busy: Sequence[TrendPoint], field: str, objective: float
) -> tuple[float | None, str]:
    if len(busy) < 3:
        return None, f"too little data: {len(busy)} seconds with calls, 3 needed"
    fit = _fit([float(p.calls) for p in busy], [_value(p, field) for p in busy])
    if fit is None:
        return None, "too little data: every second had the same rate, 2 rates needed"
    intercept, slope = fit
    if slope <= 0:
        return None, f"latency does not grow with the rate here (slope {slope:.3g} s per call/s)"
    rate = (objective - intercept) / slope
    if rate <= 0:
        return 0.0, "the objective is missed at any rate: latency exceeds it even when idle"
    return rate, f"latency = {intercept:.4g} s + {slope:.4g} s per call/s"
