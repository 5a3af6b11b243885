"""Trends: per-second and per-minute aggregates per target, and the capacity report.

- :class:`TrendRecorder` (:mod:`toolware.trends.recorder`): fixed rings of intervals per target
  (calls, errors, refusals, p50/p95/p99, peak in flight) over a configurable horizon.
- :class:`TrendsInterceptor` (:mod:`toolware.trends.interceptor`, stage name ``"trends"``):
  feeds a recorder from a pipeline; put it outermost.
- :func:`capacity_report` (:mod:`toolware.trends.capacity`): peak and mean rate, latency trend,
  saturation signs and the rate at which a latency objective would be missed, method stated.

Alert rules evaluated on a recorder are in :mod:`toolware.alerts`; ``toolware report`` prints
the capacity report.
"""

from toolware.trends.capacity import CapacityReport, TargetCapacity, capacity_report
from toolware.trends.interceptor import TrendsInterceptor
from toolware.trends.recorder import (
    TargetHistory,
    TrendHistory,
    TrendPoint,
    TrendRecorder,
    WindowStats,
)

__all__ = [
    "CapacityReport",
    "TargetCapacity",
    "TargetHistory",
    "TrendHistory",
    "TrendPoint",
    "TrendRecorder",
    "TrendsInterceptor",
    "WindowStats",
    "capacity_report",
]
