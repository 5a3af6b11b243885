"""Metrics: the in-process aggregate and its exporters.

:class:`CallMetrics` is fed by :class:`~toolware.interceptors.metrics.MetricsInterceptor` (and
by circuit breakers through :meth:`CallMetrics.on_breaker_change`). Exporters read it when
they are scraped: :mod:`toolware.metrics.prometheus` (text exposition and a loopback HTTP
endpoint) and :mod:`toolware.metrics.otel` (observable OpenTelemetry instruments). Neither
``prometheus_client`` nor ``opentelemetry`` is imported by this package.
"""

from toolware.metrics._aggregate import (
    BREAKER_STATE_VALUES,
    CallMetrics,
    MetricsSnapshot,
    RefusalKey,
)

__all__ = ["BREAKER_STATE_VALUES", "CallMetrics", "MetricsSnapshot", "RefusalKey"]
