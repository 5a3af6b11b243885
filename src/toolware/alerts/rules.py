"""Alert rules: what is measured over which window, and the thresholds with hysteresis.

See :mod:`toolware.alerts` for the options they share and how they are evaluated.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

import msgspec

from toolware.trends.recorder import WindowStats

__all__ = [
    "AlertEvent",
    "AlertRule",
    "AlertState",
    "ErrorRateAbove",
    "LatencyAbove",
    "ThroughputBelow",
    "rule_from_dict",
]


class AlertState(StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"


class AlertEvent(msgspec.Struct, frozen=True, kw_only=True):
    """A rule started firing or resolved at ``at`` (monotonic), its metric being ``value``."""

    rule: str
    state: AlertState
    value: float
    threshold: float
    at: float


def number(option: str, value: object, *, positive: bool = True) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or (value <= 0 if positive else value < 0)
    ):
        bound = "> 0" if positive else ">= 0"
        raise ValueError(f"{option} must be a finite number {bound}, got {value!r}")
    return float(value)


class AlertRule:
    """What the three rules share; see the module docstring for the options."""

    __slots__ = (
        "above",
        "for_",
        "name",
        "resolve_after",
        "resolve_threshold",
        "target",
        "threshold",
        "window",
    )

    metric = ""

    def __init__(
        self,
        *,
        threshold: float,
        window: float,
        target: str | None,
        for_: float,
        resolve_after: float,
        resolve_threshold: float | None,
        name: str | None,
        above: bool,
    ) -> None:
        self.window = math.ceil(number("window", window))
        self.for_ = number("for_", for_, positive=False)
        self.resolve_after = number("resolve_after", resolve_after, positive=False)
        if target is not None and (not isinstance(target, str) or not target):
            raise TypeError(f"target must be a qualified name or None for all, got {target!r}")
        self.target = target
        self.threshold = threshold
        self.above = above
        clear = threshold if resolve_threshold is None else resolve_threshold
        clear = number("resolve_threshold", clear, positive=False)
        if (clear > threshold) if above else (clear < threshold):
            side = "at or below" if above else "at or above"
            raise ValueError(
                f"resolve_threshold must be {side} the threshold {threshold!r} (hysteresis), "
                f"got {clear!r}"
            )
        self.resolve_threshold = clear
        if name is None:
            name = f"{self.metric}:{target or '*'}"
        elif not isinstance(name, str) or not name:
            raise TypeError(f"name must be a non-empty string, got {name!r}")
        self.name = name

    def value(self, stats: WindowStats) -> float | None:  # pragma: no cover - overridden
        raise NotImplementedError

    def breached(self, value: float) -> bool:
        return value > self.threshold if self.above else value < self.threshold

    def clear(self, value: float) -> bool:
        return value <= self.resolve_threshold if self.above else value >= self.resolve_threshold

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, threshold={self.threshold!r})"


class ErrorRateAbove(AlertRule):
    """Fires when errors / calls over ``window`` seconds exceeds ``threshold`` (0..1)."""

    __slots__ = ()
    metric = "error_rate"

    def __init__(
        self,
        *,
        threshold: float = 0.05,
        window: float = 60,
        target: str | None = None,
        for_: float = 0.0,
        resolve_after: float = 0.0,
        resolve_threshold: float | None = None,
        name: str | None = None,
    ) -> None:
        if number("threshold", threshold, positive=False) >= 1:
            raise ValueError(f"threshold must be an error rate in [0, 1), got {threshold!r}")
        super().__init__(
            threshold=float(threshold),
            window=window,
            target=target,
            for_=for_,
            resolve_after=resolve_after,
            resolve_threshold=resolve_threshold,
            name=name,
            above=True,
        )

    def value(self, stats: WindowStats) -> float | None:
        return stats.error_rate


class LatencyAbove(AlertRule):
    """Fires when the ``percentile`` latency over ``window`` seconds exceeds ``threshold`` s."""

    __slots__ = ("percentile",)
    metric = "latency"

    def __init__(
        self,
        *,
        threshold: float,
        percentile: float = 0.99,
        window: float = 60,
        target: str | None = None,
        for_: float = 0.0,
        resolve_after: float = 0.0,
        resolve_threshold: float | None = None,
        name: str | None = None,
    ) -> None:
        if not 0 < number("percentile", percentile) <= 1:
            raise ValueError(f"percentile must be in (0, 1], e.g. 0.99, got {percentile!r}")
        self.percentile = float(percentile)
        super().__init__(
            threshold=number("threshold", threshold),
            window=window,
            target=target,
            for_=for_,
            resolve_after=resolve_after,
            resolve_threshold=resolve_threshold,
            name=name,
            above=True,
        )

    def value(self, stats: WindowStats) -> float | None:
        return stats.latency


class ThroughputBelow(AlertRule):
    """Fires when calls per second over ``window`` seconds fall below ``min_rate``."""

    __slots__ = ()
    metric = "throughput"

    def __init__(
        self,
        *,
        min_rate: float,
        window: float = 60,
        target: str | None = None,
        for_: float = 0.0,
        resolve_after: float = 0.0,
        resolve_threshold: float | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(
            threshold=number("min_rate", min_rate),
            window=window,
            target=target,
            for_=for_,
            resolve_after=resolve_after,
            resolve_threshold=resolve_threshold,
            name=name,
            above=False,
        )

    def value(self, stats: WindowStats) -> float | None:
        return stats.rate


_METRICS: dict[str, type[AlertRule]] = {
    "error_rate": ErrorRateAbove,
    "latency": LatencyAbove,
    "throughput": ThroughputBelow,
}


def rule_from_dict(spec: Mapping[str, Any]) -> AlertRule:
    """A rule from a config mapping: ``metric`` (error_rate, latency, throughput) and the
    rule's options, e.g. ``{"metric": "latency", "threshold": 0.5, "window": 30}``."""
    options = dict(spec)
    metric = options.pop("metric", None)
    rule = _METRICS.get(metric) if isinstance(metric, str) else None
    if rule is None:
        raise ValueError(
            f"unknown alert metric {metric!r}; known metrics: {', '.join(sorted(_METRICS))}"
        )
    try:
        return rule(**options)
    except TypeError as exc:
        raise TypeError(f"alert rule {metric!r}: {exc}") from None
