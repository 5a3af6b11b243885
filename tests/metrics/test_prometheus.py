"""Tests for toolware.metrics.prometheus: the exposition, read back by the official parser."""

from __future__ import annotations

import asyncio
import logging

import pytest
from prometheus_client.parser import text_string_to_metric_families

from toolware import Kind, PipelineBuilder
from toolware.errors import ErrorCategory, RateLimitedError, ToolFailedError
from toolware.interceptors.metrics import MetricsInterceptor
from toolware.metrics import CallMetrics
from toolware.metrics.prometheus import (
    CONTENT_TYPE,
    MetricsServer,
    prometheus_text,
    serve_metrics,
)
from toolware.state.base import BreakerChange, BreakerState
from toolware.streams import StreamOutcome
from toolware.testing import FakeClock, FakeHandler

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(text: str) -> Samples:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def labels(target: str = "t", **extra: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted({"kind": "tool", "target": target, "action": "", **extra}.items()))


def test_every_family_with_exact_values() -> None:
    """Calls, errors, histogram, streams, resilience, refusals and breakers parse exactly."""
    metrics = CallMetrics(buckets=(0.5, 1.0))
    rec = metrics
    rec.record(Kind.TOOL, "t", None, 0.25, None)
    rec.record(Kind.TOOL, "t", None, 0.75, ErrorCategory.TIMEOUT)
    rec.record(Kind.TOOL, "t", None, 2.0, ErrorCategory.TOOL_FAILED)
    rec.record_stream(
        Kind.TOOL, "s", None, 1.0, StreamOutcome.ABANDONED, None, first_chunk_seconds=0.5, chunks=2
    )
    rec.record_resilience(Kind.TOOL, "t", None, retries=3, cache_hit=True, fallback=True, hedges=2)
    metrics.call_started(Kind.TOOL)
    metrics.call_started(Kind.TOOL)
    metrics.call_started(Kind.TOOL)
    metrics.call_started(Kind.TOOL)
    metrics.call_started(Kind.RAG)
    metrics.record_refusal(Kind.TOOL, "t", "a", "rate_limit")
    metrics.on_breaker_change(BreakerChange("t", BreakerState.CLOSED, BreakerState.OPEN, "x", 1.0))
    got = samples(prometheus_text(metrics))
    assert got[("toolware_calls_total", labels())] == 3
    assert got[("toolware_call_errors_total", labels(category="timeout"))] == 1
    assert got[("toolware_call_errors_total", labels(category="tool_failed"))] == 1
    assert got[("toolware_call_duration_seconds_bucket", labels(le="0.5"))] == 1
    assert got[("toolware_call_duration_seconds_bucket", labels(le="1.0"))] == 2
    assert got[("toolware_call_duration_seconds_bucket", labels(le="+Inf"))] == 3
    assert got[("toolware_call_duration_seconds_sum", labels())] == 3.0
    assert got[("toolware_call_duration_seconds_count", labels())] == 3
    assert got[("toolware_calls_in_flight", (("kind", "tool"),))] == 0
    assert got[("toolware_calls_in_flight", (("kind", "rag"),))] == 1
    assert got[("toolware_calls_in_flight", (("kind", "plugin"),))] == 0
    assert got[("toolware_streams_total", labels("s", outcome="abandoned"))] == 1
    assert got[("toolware_streams_total", labels("s", outcome="completed"))] == 0
    assert got[("toolware_streams_total", labels("s", outcome="failed"))] == 0
    assert ("toolware_streams_total", labels(outcome="completed")) not in got
    assert got[("toolware_first_chunk_seconds_sum", labels("s"))] == 0.5
    assert got[("toolware_first_chunk_seconds_count", labels("s"))] == 1
    assert ("toolware_first_chunk_seconds_count", labels()) not in got
    assert got[("toolware_retries_total", labels())] == 3
    assert got[("toolware_cache_hits_total", labels())] == 1
    assert got[("toolware_fallbacks_total", labels())] == 1
    assert got[("toolware_hedges_total", labels())] == 2
    refusal = tuple(
        sorted({"kind": "tool", "target": "t", "action": "a", "limiter": "rate_limit"}.items())
    )
    assert got[("toolware_limiter_refusals_total", refusal)] == 1
    assert got[("toolware_breaker_state", (("key", "t"),))] == 2
    assert len(got) == 32


def test_family_types_and_help() -> None:
    """Each family carries its type for the parser."""
    families = {
        f.name: f.type for f in text_string_to_metric_families(prometheus_text(CallMetrics()))
    }
    assert families == {
        "toolware_calls": "counter",
        "toolware_call_errors": "counter",
        "toolware_call_duration_seconds": "histogram",
        "toolware_calls_in_flight": "gauge",
        "toolware_streams": "counter",
        "toolware_first_chunk_seconds": "summary",
        "toolware_retries": "counter",
        "toolware_cache_hits": "counter",
        "toolware_fallbacks": "counter",
        "toolware_hedges": "counter",
        "toolware_limiter_refusals": "counter",
        "toolware_breaker_state": "gauge",
    }


def test_label_values_are_escaped() -> None:
    """Quotes, backslashes and newlines in a target name survive the round trip."""
    name = 'we"ird\\name\nline'
    metrics = CallMetrics()
    metrics.record(Kind.PLUGIN, name, "act\\", 0.1, None)
    metrics.on_breaker_change(
        BreakerChange(name, BreakerState.OPEN, BreakerState.ISOLATED, "isolated", 0.0)
    )
    text = prometheus_text(metrics)
    assert 'target="we\\"ird\\\\name\\nline"' in text
    got = samples(text)
    key = tuple(sorted({"kind": "plugin", "target": name, "action": "act\\"}.items()))
    assert got[("toolware_calls_total", key)] == 1
    assert got[("toolware_breaker_state", (("key", name),))] == 3


def test_a_snapshot_renders_as_the_metrics() -> None:
    """prometheus_text takes a MetricsSnapshot as well as a CallMetrics."""
    metrics = CallMetrics()
    metrics.record(Kind.TOOL, "t", None, 0.1, None)
    assert prometheus_text(metrics.snapshot()) == prometheus_text(metrics)
    assert prometheus_text(metrics).endswith("\n# TYPE toolware_breaker_state gauge\n")


async def test_an_interceptor_pipeline_exposes_its_calls() -> None:
    """From a real pipeline: calls, errors, markers and refusals reach the exposition."""
    clock = FakeClock()
    metrics = MetricsInterceptor(buckets=(1.0,))
    handler = FakeHandler([RateLimitedError("slow", retry_after=2.0), ToolFailedError("x"), 1])
    pipeline = PipelineBuilder(clock=clock).use(metrics).route(handler).build()
    for _ in range(3):
        await pipeline.invoke("search")
    got = samples(prometheus_text(metrics.metrics))
    assert got[("toolware_calls_total", labels("search"))] == 3
    assert got[("toolware_call_errors_total", labels("search", category="rate_limited"))] == 1
    assert got[("toolware_call_errors_total", labels("search", category="tool_failed"))] == 1
    refusal = tuple(
        sorted({"kind": "tool", "target": "search", "action": "", "limiter": "rate_limit"}.items())
    )
    assert got[("toolware_limiter_refusals_total", refusal)] == 1
    assert got[("toolware_call_duration_seconds_bucket", labels("search", le="1.0"))] == 3


async def get(server: MetricsServer, request: bytes) -> tuple[str, dict[str, str], str]:
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(request)
    await writer.drain()
    raw = await reader.read()
    writer.close()
    await writer.wait_closed()
    head, _, body = raw.decode().partition("\r\n\r\n")
    status, *lines = head.split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines)
    return status, headers, body


async def test_serves_the_exposition_on_loopback() -> None:
    """GET /metrics answers 200 with the 0.0.4 content type and the current text."""
    metrics = CallMetrics()
    metrics.record(Kind.TOOL, "t", None, 0.1, None)
    async with serve_metrics(metrics) as server:
        assert server.host == "127.0.0.1"
        assert server.port > 0
        assert server.url == f"http://127.0.0.1:{server.port}/metrics"
        status, headers, body = await get(server, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == "HTTP/1.1 200 OK"
    assert headers["Content-Type"] == CONTENT_TYPE == "text/plain; version=0.0.4; charset=utf-8"
    assert int(headers["Content-Length"]) == len(body.encode())
    assert body == prometheus_text(metrics)


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 404 Not Found"),
        (b"GET /metrics?x=1 HTTP/1.1\r\n\r\n", "HTTP/1.1 200 OK"),
        (b"POST /metrics HTTP/1.1\r\n\r\n", "HTTP/1.1 405 Method Not Allowed"),
        (b"nonsense\r\n\r\n", "HTTP/1.1 400 Bad Request"),
    ],
)
async def test_other_requests(request_bytes: bytes, status: str) -> None:
    """Other paths 404, other methods 405, a garbled request line 400."""
    async with serve_metrics(lambda: "x 1\n") as server:
        got, _, _ = await get(server, request_bytes)
    assert got == status


async def test_a_client_that_hangs_up_early_does_not_stop_the_server() -> None:
    """An incomplete request is dropped; the next one is answered."""
    async with serve_metrics(lambda: "x 1\n") as server:
        _, writer = await asyncio.open_connection(server.host, server.port)
        writer.write(b"GET /met")
        writer.close()
        await writer.wait_closed()
        status, _, body = await get(server, b"GET /metrics HTTP/1.1\r\n\r\n")
    assert (status, body) == ("HTTP/1.1 200 OK", "x 1\n")


async def test_a_failing_exposition_answers_500_and_logs_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An exposition that raises gives 500, is logged once, and the server goes on."""

    def broken() -> str:
        raise RuntimeError("boom")

    async with serve_metrics(broken) as server:
        with caplog.at_level(logging.ERROR, "toolware.metrics.prometheus"):
            first, _, _ = await get(server, b"GET /metrics HTTP/1.1\r\n\r\n")
            second, _, _ = await get(server, b"GET /metrics HTTP/1.1\r\n\r\n")
    assert first == second == "HTTP/1.1 500 Internal Server Error"
    events = [r.getMessage() for r in caplog.records]
    assert events == ["metrics.exposition_failed error=RuntimeError"]


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"host": "0.0.0.0"}, ValueError, r"host='0.0.0.0' is not a loopback.*allow_remote=True"),
        ({"host": "example.com"}, ValueError, r"host='example.com' is not a loopback"),
        ({"port": -1}, ValueError, r"port must be an integer in 0..65535.*-1"),
        ({"port": 70000}, ValueError, r"port must be an integer.*70000"),
        ({"port": True}, ValueError, r"port must be an integer.*True"),
    ],
)
async def test_server_options_are_validated(
    options: dict[str, object], error: type, match: str
) -> None:
    """A non-loopback host (without allow_remote) and a bad port are refused."""
    with pytest.raises(error, match=match):
        async with serve_metrics(lambda: "", **options):  # type: ignore[arg-type]
            pass  # pragma: no cover


async def test_exposition_must_be_callable() -> None:
    """A non-callable exposition is refused with a TypeError."""
    with pytest.raises(TypeError, match=r"exposition must be a CallMetrics or a function"):
        async with serve_metrics("text"):  # type: ignore[arg-type]
            pass  # pragma: no cover


async def test_localhost_and_allow_remote() -> None:
    """'localhost' is loopback; allow_remote=True permits any host (here 0.0.0.0)."""
    async with serve_metrics(lambda: "", host="localhost") as server:
        assert server.port > 0
    async with serve_metrics(lambda: "", host="0.0.0.0", allow_remote=True) as server:
        assert server.host == "0.0.0.0"


def test_ipv6_url() -> None:
    """An IPv6 host is bracketed in the URL."""
    assert MetricsServer(host="::1", port=9).url == "http://[::1]:9/metrics"


def test_alert_rules_are_a_gauge_per_rule() -> None:
    """With alerts=, each rule is a sample: 1 while it fires, 0 otherwise, parsed as a gauge."""
    from toolware.alerts import AlertRules, ErrorRateAbove, LatencyAbove
    from toolware.trends import TrendRecorder

    clock = FakeClock(start=1_000.0)
    recorder = TrendRecorder(clock=clock)
    rules = AlertRules(
        [
            ErrorRateAbove(threshold=0.5, window=10, name="errors"),
            LatencyAbove(threshold=10.0, window=10, name="slow"),
        ],
        recorder=recorder,
        clock=clock,
    )
    for _ in range(5):
        recorder.record("search", 0.01, error=True)
    clock.advance_now(1.0)
    rules.evaluate()
    assert rules.firing() == ("errors",)
    families = {
        f.name: f
        for f in text_string_to_metric_families(prometheus_text(CallMetrics(), alerts=rules))
    }
    firing = families["toolware_alerts_firing"]
    assert firing.type == "gauge"
    assert {s.labels["rule"]: s.value for s in firing.samples} == {"errors": 1.0, "slow": 0.0}
    assert "toolware_alerts_firing" not in prometheus_text(CallMetrics())
