"""Tests for toolware.metrics.prometheus that pin the exact exposition and HTTP answers."""

from __future__ import annotations

import asyncio
import logging

import pytest

from toolware import Kind
from toolware.errors import ErrorCategory
from toolware.metrics import CallMetrics
from toolware.metrics.prometheus import prometheus_text, serve_metrics
from toolware.state.base import BreakerChange, BreakerState
from toolware.streams import StreamOutcome

EXPECTED = [
    "# HELP toolware_calls_total Calls ended, by target.",
    "# TYPE toolware_calls_total counter",
    'toolware_calls_total{kind="rag",target="s",action="a"} 1',
    'toolware_calls_total{kind="tool",target="t",action=""} 3',
    "# HELP toolware_call_errors_total Failed calls, by error category.",
    "# TYPE toolware_call_errors_total counter",
    'toolware_call_errors_total{kind="rag",target="s",action="a",category="tool_failed"} 1',
    'toolware_call_errors_total{kind="tool",target="t",action="",category="internal"} 1',
    'toolware_call_errors_total{kind="tool",target="t",action="",category="timeout"} 1',
    "# HELP toolware_call_duration_seconds Call duration in seconds, on the pipeline clock.",
    "# TYPE toolware_call_duration_seconds histogram",
    'toolware_call_duration_seconds_bucket{kind="rag",target="s",action="a",le="0.5"} 0',
    'toolware_call_duration_seconds_bucket{kind="rag",target="s",action="a",le="1.0"} 1',
    'toolware_call_duration_seconds_bucket{kind="rag",target="s",action="a",le="+Inf"} 1',
    'toolware_call_duration_seconds_sum{kind="rag",target="s",action="a"} 1.0',
    'toolware_call_duration_seconds_count{kind="rag",target="s",action="a"} 1',
    'toolware_call_duration_seconds_bucket{kind="tool",target="t",action="",le="0.5"} 1',
    'toolware_call_duration_seconds_bucket{kind="tool",target="t",action="",le="1.0"} 2',
    'toolware_call_duration_seconds_bucket{kind="tool",target="t",action="",le="+Inf"} 3',
    'toolware_call_duration_seconds_sum{kind="tool",target="t",action=""} 3.0',
    'toolware_call_duration_seconds_count{kind="tool",target="t",action=""} 3',
    "# HELP toolware_calls_in_flight Calls started and not yet ended.",
    "# TYPE toolware_calls_in_flight gauge",
    'toolware_calls_in_flight{kind="tool"} 0',
    'toolware_calls_in_flight{kind="plugin"} 1',
    'toolware_calls_in_flight{kind="rag"} 0',
    "# HELP toolware_streams_total Streamed calls ended, by outcome.",
    "# TYPE toolware_streams_total counter",
    'toolware_streams_total{kind="rag",target="s",action="a",outcome="completed"} 0',
    'toolware_streams_total{kind="rag",target="s",action="a",outcome="failed"} 1',
    'toolware_streams_total{kind="rag",target="s",action="a",outcome="abandoned"} 0',
    "# HELP toolware_first_chunk_seconds Time to the first chunk of streamed calls, in seconds.",
    "# TYPE toolware_first_chunk_seconds summary",
    'toolware_first_chunk_seconds_sum{kind="rag",target="s",action="a"} 0.5',
    'toolware_first_chunk_seconds_count{kind="rag",target="s",action="a"} 1',
    "# HELP toolware_retries_total Attempts beyond the first.",
    "# TYPE toolware_retries_total counter",
    'toolware_retries_total{kind="rag",target="s",action="a"} 0',
    'toolware_retries_total{kind="tool",target="t",action=""} 3',
    "# HELP toolware_cache_hits_total Calls answered by the cache.",
    "# TYPE toolware_cache_hits_total counter",
    'toolware_cache_hits_total{kind="rag",target="s",action="a"} 0',
    'toolware_cache_hits_total{kind="tool",target="t",action=""} 1',
    "# HELP toolware_fallbacks_total Calls answered by a fallback.",
    "# TYPE toolware_fallbacks_total counter",
    'toolware_fallbacks_total{kind="rag",target="s",action="a"} 0',
    'toolware_fallbacks_total{kind="tool",target="t",action=""} 1',
    "# HELP toolware_hedges_total Hedged attempts started.",
    "# TYPE toolware_hedges_total counter",
    'toolware_hedges_total{kind="rag",target="s",action="a"} 0',
    'toolware_hedges_total{kind="tool",target="t",action=""} 2',
    "# HELP toolware_limiter_refusals_total Calls refused by a rate or concurrency limiter.",
    "# TYPE toolware_limiter_refusals_total counter",
    'toolware_limiter_refusals_total{kind="tool",target="t",action="x",limiter="rate_limit"} 1',
    'toolware_limiter_refusals_total{kind="tool",target="u",action="",'
    'limiter="concurrency_limit"} 1',
    "# HELP toolware_breaker_state Circuit breaker state: "
    "0 closed, 1 half_open, 2 open, 3 isolated.",
    "# TYPE toolware_breaker_state gauge",
    'toolware_breaker_state{key="k"} 1',
]


def test_the_exposition_is_exact() -> None:
    """Every family's HELP, TYPE and samples, byte for byte, in order."""
    m = CallMetrics(buckets=(0.5, 1))
    m.record(Kind.TOOL, "t", None, 0.25, None)
    m.record(Kind.TOOL, "t", None, 2.0, ErrorCategory.TIMEOUT)
    m.record(Kind.TOOL, "t", None, 0.75, ErrorCategory.INTERNAL)
    m.record_stream(
        Kind.RAG,
        "s",
        "a",
        1.0,
        StreamOutcome.FAILED,
        ErrorCategory.TOOL_FAILED,
        first_chunk_seconds=0.5,
        chunks=2,
    )
    m.record_resilience(Kind.TOOL, "t", None, retries=3, cache_hit=True, fallback=True, hedges=2)
    m.call_started(Kind.PLUGIN)
    m.record_refusal(Kind.TOOL, "t", "x", "rate_limit")
    m.record_refusal(Kind.TOOL, "u", None, "concurrency_limit")
    m.on_breaker_change(BreakerChange("k", BreakerState.CLOSED, BreakerState.HALF_OPEN, "x", 1.0))
    assert prometheus_text(m) == "\n".join([*EXPECTED, ""])


async def raw_answer(port: int, request: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    raw = await reader.read()
    writer.close()
    await writer.wait_closed()
    return raw


def answer(status: str, body: bytes, ctype: str = "text/plain; charset=utf-8") -> bytes:
    return (
        f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode() + body


@pytest.mark.parametrize(
    ("request_bytes", "expected"),
    [
        (
            b"GET /metrics HTTP/1.1\r\n\r\n",
            answer("200 OK", b"x 1\n", "text/plain; version=0.0.4; charset=utf-8"),
        ),
        (
            b"GET /metrics?a?b HTTP/1.1\r\n\r\n",
            answer("200 OK", b"x 1\n", "text/plain; version=0.0.4; charset=utf-8"),
        ),
        (b"GET /x?metrics HTTP/1.1\r\n\r\n", answer("404 Not Found", b"not found: try /metrics\n")),
        (b"PUT /metrics HTTP/1.1\r\n\r\n", answer("405 Method Not Allowed", b"use GET\n")),
        (b"GET /metrics\r\n\r\n", answer("400 Bad Request", b"bad request\n")),
        (b"GET /metrics HTTP/1.1 x\r\nA: b\r\n\r\n", answer("400 Bad Request", b"bad request\n")),
    ],
)
async def test_answers_are_exact(request_bytes: bytes, expected: bytes) -> None:
    """Each answer's status line, headers and body, byte for byte."""
    async with serve_metrics(lambda: "x 1\n") as server:
        assert await raw_answer(server.port, request_bytes) == expected


async def test_the_body_is_utf8_and_its_length_in_bytes() -> None:
    """A non-ASCII exposition is sent as UTF-8 with its length in bytes."""
    async with serve_metrics(lambda: "é 1\n") as server:
        raw = await raw_answer(server.port, b"GET /metrics HTTP/1.1\r\n\r\n")
    assert raw == answer("200 OK", "é 1\n".encode(), "text/plain; version=0.0.4; charset=utf-8")


async def test_a_request_head_past_the_limit_is_dropped() -> None:
    """A request head longer than 8192 bytes gets no answer; a shorter long one is served."""
    async with serve_metrics(lambda: "x 1\n") as server:
        huge = b"GET /metrics HTTP/1.1\r\nA: " + b"a" * 9000 + b"\r\n\r\n"
        assert await raw_answer(server.port, huge) == b""
        fits = b"GET /metrics HTTP/1.1\r\nA: " + b"a" * 7000 + b"\r\n\r\n"
        assert (await raw_answer(server.port, fits)).startswith(b"HTTP/1.1 200 OK\r\n")


async def test_a_failing_exposition_is_logged_with_its_fields(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """metrics.exposition_failed: an error of toolware.metrics.prometheus with the traceback."""

    def broken() -> str:
        raise KeyError("boom")

    async with serve_metrics(broken) as server:
        with caplog.at_level(logging.DEBUG):
            raw = await raw_answer(server.port, b"GET /metrics HTTP/1.1\r\n\r\n")
    assert raw == answer("500 Internal Server Error", b"metrics exposition failed\n")
    [record] = caplog.records
    assert (record.name, record.levelno) == ("toolware.metrics.prometheus", logging.ERROR)
    assert record.error == "KeyError"  # type: ignore[attr-defined]
    assert record.getMessage() == "metrics.exposition_failed error=KeyError"
    assert record.exc_info is not None


@pytest.mark.parametrize("host", ["::1", "127.0.0.2", "localhost"])
async def test_loopback_hosts_are_accepted(host: str) -> None:
    """IPv4 and IPv6 loopback addresses and 'localhost' need no allow_remote."""
    async with serve_metrics(lambda: "", host=host, port=0) as server:
        assert server.port > 0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"host": "10.0.0.1"},
            "host='10.0.0.1' is not a loopback address; metrics name your tools: serve them on "
            "127.0.0.1 (and scrape through a proxy), or pass allow_remote=True",
        ),
        (
            {"host": 1},
            "host=1 is not a loopback address; metrics name your tools: serve them on "
            "127.0.0.1 (and scrape through a proxy), or pass allow_remote=True",
        ),
        (
            {"host": 1, "allow_remote": True},
            "host=1 is not a loopback address; metrics name "
            "your tools: serve them on 127.0.0.1 (and scrape through a proxy), or pass "
            "allow_remote=True",
        ),
        ({"port": 65536}, "port must be an integer in 0..65535 (0: any free port), got 65536"),
        ({"port": 1.0}, "port must be an integer in 0..65535 (0: any free port), got 1.0"),
    ],
)
async def test_server_refusals_are_exact(options: dict[str, object], message: str) -> None:
    """Each refusal names the option, the value and the fix."""
    with pytest.raises((ValueError, TypeError)) as raised:
        async with serve_metrics(lambda: "", **options):  # type: ignore[arg-type]
            pass  # pragma: no cover
    assert str(raised.value) == message


async def test_a_non_callable_exposition_message() -> None:
    """The TypeError names the value given."""
    with pytest.raises(TypeError) as raised:
        async with serve_metrics(3):  # type: ignore[arg-type]
            pass  # pragma: no cover
    assert str(raised.value) == (
        "exposition must be a CallMetrics or a function returning the text, got 3"
    )


def test_infinite_sums_render_as_prometheus_infinities() -> None:
    """An infinite duration sum is written -Inf/+Inf, as the format spells them."""
    metrics = CallMetrics()
    metrics.record(Kind.TOOL, "n", None, float("-inf"), None)
    metrics.record(Kind.TOOL, "p", None, float("inf"), None)
    text = prometheus_text(metrics)
    assert 'toolware_call_duration_seconds_sum{kind="tool",target="n",action=""} -Inf\n' in text
    assert 'toolware_call_duration_seconds_sum{kind="tool",target="p",action=""} +Inf\n' in text


async def test_the_request_limit_is_8192_bytes_before_the_blank_line() -> None:
    """A head of 8192 bytes plus its closing blank line is served; one byte more is not."""
    async with serve_metrics(lambda: "x 1\n") as server:
        start = b"GET /metrics HTTP/1.1\r\nA: "
        fits = start + b"a" * (8192 - len(start)) + b"\r\n\r\n"
        assert len(fits) == 8196
        assert (await raw_answer(server.port, fits)).startswith(b"HTTP/1.1 200 OK\r\n")
        over = start + b"a" * (8193 - len(start)) + b"\r\n\r\n"
        assert await raw_answer(server.port, over) == b""


def test_the_alerts_family_is_exact() -> None:
    """With alerts=, the exposition ends with the alerts gauge, one exact line per rule."""
    from toolware.alerts import AlertRules, ErrorRateAbove, LatencyAbove
    from toolware.testing import FakeClock
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
    text = prometheus_text(CallMetrics(), alerts=rules)
    assert text.endswith(
        "# TYPE toolware_breaker_state gauge\n"
        "# HELP toolware_alerts_firing Alert rules firing now (1) or not (0).\n"
        "# TYPE toolware_alerts_firing gauge\n"
        'toolware_alerts_firing{rule="errors"} 1\n'
        'toolware_alerts_firing{rule="slow"} 0\n'
    )
