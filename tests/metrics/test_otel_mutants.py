"""Tests for toolware.metrics.otel that pin instrument metadata, failures and the import."""

from __future__ import annotations

import logging
import sys

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from toolware import Kind
from toolware.errors import ErrorCategory
from toolware.metrics import CallMetrics, MetricsSnapshot
from toolware.metrics.otel import register_otel_metrics
from toolware.state.base import BreakerChange, BreakerState
from toolware.streams import StreamOutcome

EXPECTED = {
    "toolware.calls": ("{call}", "Calls ended.", "Sum", True),
    "toolware.call.errors": ("{call}", "Failed calls, by error category.", "Sum", True),
    "toolware.call.duration.sum": ("s", "Seconds spent in calls.", "Sum", True),
    "toolware.call.duration.bucket": ("{call}", "Calls of at most le s.", "Sum", True),
    "toolware.calls.in_flight": ("{call}", "Calls not yet ended.", "Sum", False),
    "toolware.streams": ("{stream}", "Streamed calls ended, by outcome.", "Sum", True),
    "toolware.stream.first_chunk.sum": ("s", "Seconds to first chunk.", "Sum", True),
    "toolware.retries": ("{attempt}", "Retries.", "Sum", True),
    "toolware.cache.hits": ("{call}", "Calls answered by the cache.", "Sum", True),
    "toolware.fallbacks": ("{call}", "Calls answered by a fallback.", "Sum", True),
    "toolware.hedges": ("{attempt}", "Hedges.", "Sum", True),
    "toolware.limiter.refusals": ("{call}", "Limiter refusals.", "Sum", True),
    "toolware.breaker.state": ("1", "0 closed 1 half_open 2 open 3 isolated.", "Gauge", None),
}


def test_every_instrument_has_its_unit_description_and_type() -> None:
    """Each instrument's name, unit, description, and (non-)monotonic sum or gauge."""
    metrics = CallMetrics()
    reader = InMemoryMetricReader()
    register_otel_metrics(metrics, meter_provider=MeterProvider(metric_readers=[reader]))
    metrics.record_stream(
        Kind.TOOL,
        "s",
        None,
        1.0,
        StreamOutcome.COMPLETED,
        ErrorCategory.TIMEOUT,
        first_chunk_seconds=0.5,
        chunks=1,
    )
    metrics.record_refusal(Kind.TOOL, "t", None, "rate_limit")
    metrics.on_breaker_change(BreakerChange("b", BreakerState.CLOSED, BreakerState.OPEN, "x", 0))
    data = reader.get_metrics_data()
    assert data is not None
    got = {
        m.name: (
            m.unit,
            m.description,
            type(m.data).__name__,
            getattr(m.data, "is_monotonic", None),
        )
        for r in data.resource_metrics
        for scope in r.scope_metrics
        for m in scope.metrics
    }
    assert got == EXPECTED


def test_a_failing_callback_is_logged_with_its_fields(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """metrics.otel_callback_failed: an error of toolware.metrics.otel, traceback and fields."""
    metrics = CallMetrics()
    reader = InMemoryMetricReader()
    register_otel_metrics(metrics, meter_provider=MeterProvider(metric_readers=[reader]))

    def broken(self: CallMetrics) -> MetricsSnapshot:
        raise KeyError("boom")

    monkeypatch.setattr(CallMetrics, "snapshot", broken)
    with caplog.at_level(logging.DEBUG):
        reader.get_metrics_data()
    mine = [r for r in caplog.records if r.name == "toolware.metrics.otel"]
    [record] = mine
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None
    assert (record.instrument, record.error) == ("toolware.calls", "KeyError")  # type: ignore[attr-defined]


def test_without_the_api_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    """With OpenTelemetry missing, an ImportError names the extra to install."""
    monkeypatch.setitem(sys.modules, "opentelemetry", None)
    with pytest.raises(ImportError) as raised:
        register_otel_metrics(CallMetrics())
    assert str(raised.value) == (
        "register_otel_metrics needs the OpenTelemetry API: pip install 'toolware[otel]'"
    )
    assert isinstance(raised.value.__cause__, ImportError)


def test_the_type_error_names_the_value() -> None:
    """The refusal of a non-CallMetrics says where to get one and what was given."""
    with pytest.raises(TypeError) as raised:
        register_otel_metrics(3)  # type: ignore[arg-type]
    assert str(raised.value) == (
        "metrics must be a toolware.metrics.CallMetrics (MetricsInterceptor().metrics), got 3"
    )


def test_a_per_target_reading_yields_the_value_and_the_target_attributes() -> None:
    """_per_target reads each target's value with its attributes (built at import, so also
    called here: a test run must see the helper itself)."""
    from toolware.metrics.otel import _per_target

    metrics = CallMetrics()
    metrics.record(Kind.TOOL, "t", "a", 0.5, None)
    reading = _per_target(lambda stats: stats.total_seconds)
    assert list(reading(metrics.snapshot())) == [
        (0.5, {"toolware.kind": "tool", "toolware.target": "t", "toolware.action": "a"})
    ]
