"""Tests for toolware.metrics.otel: observable instruments read by the real SDK."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from toolware import Kind
from toolware.errors import ErrorCategory
from toolware.metrics import CallMetrics, MetricsSnapshot
from toolware.metrics.otel import register_otel_metrics
from toolware.state.base import BreakerChange, BreakerState
from toolware.streams import StreamOutcome

Points = dict[str, dict[tuple[tuple[str, Any], ...], float]]


def collect(reader: InMemoryMetricReader) -> Points:
    data = reader.get_metrics_data()
    points: Points = {}
    if data is None:
        return points
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            assert scope.scope.name == "toolware"
            for metric in scope.metrics:
                series = points.setdefault(metric.name, {})
                for point in metric.data.data_points:
                    series[tuple(sorted(point.attributes.items()))] = point.value  # type: ignore[union-attr]
    return points


def setup() -> tuple[CallMetrics, InMemoryMetricReader]:
    metrics = CallMetrics(buckets=(0.5,))
    reader = InMemoryMetricReader()
    instruments = register_otel_metrics(
        metrics, meter_provider=MeterProvider(metric_readers=[reader])
    )
    assert len(instruments) == 13
    return metrics, reader


T = (("toolware.kind", "tool"), ("toolware.target", "t"))


def test_instruments_report_exact_values() -> None:
    """Every instrument reports its aggregate with the documented attributes."""
    metrics, reader = setup()
    rec = metrics
    rec.record(Kind.TOOL, "t", None, 0.25, None)
    rec.record(Kind.TOOL, "t", None, 1.0, ErrorCategory.TIMEOUT)
    rec.record_stream(
        Kind.TOOL, "s", "a", 2.0, StreamOutcome.COMPLETED, None, first_chunk_seconds=0.5, chunks=1
    )
    rec.record_resilience(Kind.TOOL, "t", None, retries=2, cache_hit=True, fallback=True, hedges=1)
    for _ in range(4):
        metrics.call_started(Kind.TOOL)
    metrics.record_refusal(Kind.TOOL, "t", None, "concurrency_limit")
    metrics.record_refusal(Kind.RAG, "r", "q", "rate_limit")
    metrics.on_breaker_change(BreakerChange("b", BreakerState.OPEN, BreakerState.HALF_OPEN, "x", 0))
    got = collect(reader)
    s = (("toolware.action", "a"), ("toolware.kind", "tool"), ("toolware.target", "s"))
    assert got["toolware.calls"] == {T: 2, s: 1}
    assert got["toolware.call.errors"] == {(("error.type", "timeout"), *T): 1}
    assert got["toolware.call.duration.sum"] == {T: 1.25, s: 2.0}
    assert got["toolware.call.duration.bucket"] == {
        (("le", "+Inf"), *T): 2,
        (("le", "0.5"), *T): 1,
        (("le", "+Inf"), *s): 1,
        (("le", "0.5"), *s): 0,
    }
    assert got["toolware.calls.in_flight"] == {
        (("toolware.kind", "tool"),): 1,
        (("toolware.kind", "plugin"),): 0,
        (("toolware.kind", "rag"),): 0,
    }
    assert got["toolware.streams"] == {
        tuple(sorted((*s, ("toolware.stream.outcome", outcome)))): int(outcome == "completed")
        for outcome in ("completed", "failed", "abandoned")
    }
    assert got["toolware.stream.first_chunk.sum"] == {s: 0.5}
    assert got["toolware.retries"] == {T: 2, s: 0}
    assert got["toolware.cache.hits"] == {T: 1, s: 0}
    assert got["toolware.fallbacks"] == {T: 1, s: 0}
    assert got["toolware.hedges"] == {T: 1, s: 0}
    assert got["toolware.limiter.refusals"] == {
        (("toolware.kind", "tool"), ("toolware.limiter", "concurrency_limit"), T[1]): 1,
        (
            ("toolware.action", "q"),
            ("toolware.kind", "rag"),
            ("toolware.limiter", "rate_limit"),
            ("toolware.target", "r"),
        ): 1,
    }
    assert got["toolware.breaker.state"] == {(("toolware.breaker.key", "b"),): 1}


def test_units_and_kinds() -> None:
    """Durations are in seconds; counters are monotonic sums, in flight a non-monotonic one."""
    metrics, reader = setup()
    metrics.record(Kind.TOOL, "t", None, 0.1, None)
    metrics.on_breaker_change(BreakerChange("b", BreakerState.CLOSED, BreakerState.OPEN, "x", 0))
    data = reader.get_metrics_data()
    assert data is not None
    found = {m.name: m for r in data.resource_metrics for sc in r.scope_metrics for m in sc.metrics}
    assert found["toolware.call.duration.sum"].unit == "s"
    assert found["toolware.calls"].data.is_monotonic is True  # type: ignore[union-attr]
    assert found["toolware.calls.in_flight"].data.is_monotonic is False  # type: ignore[union-attr]
    assert type(found["toolware.breaker.state"].data).__name__ == "Gauge"


def test_nothing_is_recorded_until_calls_are() -> None:
    """Before any call, only the in-flight gauge has points (zero per kind)."""
    _, reader = setup()
    assert collect(reader) == {
        "toolware.calls.in_flight": {
            (("toolware.kind", "tool"),): 0,
            (("toolware.kind", "plugin"),): 0,
            (("toolware.kind", "rag"),): 0,
        }
    }


def test_a_failing_callback_is_logged_once_and_reports_nothing(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A snapshot that raises: no points, one log line, later collections still quiet."""
    _, reader = setup()

    def broken() -> MetricsSnapshot:
        raise RuntimeError("boom")

    monkeypatch.setattr(CallMetrics, "snapshot", lambda self: broken())
    with caplog.at_level(logging.ERROR, "toolware.metrics.otel"):
        assert collect(reader) == {}
        assert collect(reader) == {}
    mine = [r.getMessage() for r in caplog.records if r.name == "toolware.metrics.otel"]
    assert mine == ["metrics.otel_callback_failed instrument=toolware.calls error=RuntimeError"]


def test_the_global_meter_provider_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without meter_provider, the global provider's meter is used."""
    from opentelemetry import metrics as otel_metrics

    seen: list[object] = []
    real = otel_metrics.get_meter

    def spy(name: str, *args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs.get("meter_provider"))
        return real(name, *args, **kwargs)

    monkeypatch.setattr(otel_metrics, "get_meter", spy)
    register_otel_metrics(CallMetrics())
    assert seen == [None]


def test_metrics_must_be_call_metrics() -> None:
    """Anything but a CallMetrics is refused with a TypeError naming it."""
    with pytest.raises(TypeError, match=r"metrics must be a toolware.metrics.CallMetrics"):
        register_otel_metrics(object())  # type: ignore[arg-type]


def test_one_snapshot_per_collection(monkeypatch: pytest.MonkeyPatch) -> None:
    """All instruments of one collection read one snapshot; the next collection a fresh one."""
    metrics, reader = setup()
    taken: list[MetricsSnapshot] = []
    real = CallMetrics.snapshot

    def counting(self: CallMetrics) -> MetricsSnapshot:
        taken.append(real(self))
        return taken[-1]

    monkeypatch.setattr(CallMetrics, "snapshot", counting)
    metrics.record(Kind.TOOL, "t", None, 0.1, None)
    assert collect(reader)["toolware.calls"] == {T: 1}
    assert len(taken) == 1
    metrics.record(Kind.TOOL, "t", None, 0.1, None)
    assert collect(reader)["toolware.calls"] == {T: 2}
    assert len(taken) == 2
