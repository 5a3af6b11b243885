"""Tests for toolware.interceptors.metrics that pin durations, messages and marker counting."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest

from toolware import (
    ErrorCategory,
    Kind,
    LocalRegistry,
    PipelineBuilder,
    RequestContext,
    ResponseContext,
)
from toolware.clock import system_clock
from toolware.errors import (
    ConcurrencyLimitedError,
    RateLimitedError,
    ToolFailedError,
    ToolwareError,
)
from toolware.extras import EMPTY_EXTRAS
from toolware.interceptors.metrics import MetricsInterceptor
from toolware.markers import CACHE_HIT, FALLBACK, HEDGES, FallbackServed
from toolware.metrics import CallMetrics, RefusalKey
from toolware.stats import DEFAULT_BUCKETS, TargetStats
from toolware.streams import ResponseStream
from toolware.testing import FakeClock, FakeHandler
from toolware.types import CallNext


class CustomTimeout(ToolwareError):
    """A caller's own error in the timeout category, without ``started``."""

    category = ErrorCategory.TIMEOUT


def stats_of(metrics: MetricsInterceptor, target: str = "t") -> TargetStats:
    return metrics.metrics.snapshot().stats.get(target)


async def test_every_path_times_the_call_on_the_clock() -> None:
    """Success, error response, raised error, crash and cancellation: exact durations."""
    clock = FakeClock(start=100.0)
    metrics = MetricsInterceptor(buckets=(0.5, 1.0))

    async def slow(request: RequestContext, call_next: CallNext) -> ResponseContext:
        await clock.sleep(float(request.arguments["s"]))
        if request.target == "raised":
            raise ToolFailedError("raised")
        if request.target == "crash":
            raise RuntimeError("crash")
        if request.target == "error":
            return ResponseContext.failure(ToolFailedError("x"))
        return await call_next(request)

    pipeline = PipelineBuilder(clock=clock).use(metrics).use(slow).route(FakeHandler()).build()
    for target, seconds in (("t", 0.5), ("t", 0.25), ("error", 0.75), ("raised", 1.5)):
        task = asyncio.create_task(pipeline.invoke(target, {"s": seconds}))
        await clock.advance(seconds)
        await task
    task = asyncio.create_task(pipeline.invoke("crash", {"s": 2.0}))
    await clock.advance(2.0)
    await task
    task = asyncio.create_task(pipeline.invoke("cancel", {"s": 9.0}))
    await clock.advance(3.0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    t = stats_of(metrics)
    assert (t.calls, t.total_seconds, t.min_seconds, t.max_seconds) == (2, 0.75, 0.25, 0.5)
    assert t.bucket_counts == (2, 0, 0)
    assert stats_of(metrics, "error").total_seconds == 0.75
    assert stats_of(metrics, "raised").total_seconds == 1.5
    assert stats_of(metrics, "crash").total_seconds == 2.0
    assert stats_of(metrics, "cancel").total_seconds == 3.0


async def test_a_stream_counts_its_whole_duration_and_first_chunk() -> None:
    """A streamed call's duration runs until its stream ends; first chunk until the response."""
    clock = FakeClock(start=10.0)
    metrics = MetricsInterceptor()

    async def terminal(request: RequestContext) -> ResponseContext:
        await clock.sleep(0.25)
        return ResponseContext.success(None).with_stream(ResponseStream.of([1, 2, 3]))

    pipeline = PipelineBuilder(clock=clock).use(metrics).route(terminal).build()
    task = asyncio.create_task(pipeline.invoke("s", action="a"))
    await clock.advance(0.25)
    response = await task
    await clock.advance(1.0)
    await response.collect()
    s = metrics.metrics.snapshot().stats.get("s", action="a")
    assert (s.calls, s.total_seconds, s.first_chunk_total_seconds) == (1, 1.25, 0.25)
    assert (s.chunks, s.retries, s.cache_hits, s.fallbacks, s.hedges) == (3, 0, 0, 0, 0)


@pytest.mark.parametrize(
    ("response", "counted"),
    [
        (ResponseContext.success(1, attempts=3), (2, 0, 0, 0)),
        (ResponseContext.success(1, attempts=0), (0, 0, 0, 0)),
        (ResponseContext.failure(ToolFailedError("x"), attempts=4), (3, 0, 0, 0)),
        (ResponseContext.success(1).with_extra(CACHE_HIT, False), (0, 0, 0, 0)),
        (ResponseContext.success(1).with_extra(HEDGES, 0), (0, 0, 0, 0)),
        (ResponseContext.success(1, attempts=2).with_extra(HEDGES, 3), (1, 0, 0, 3)),
        (
            ResponseContext.success(1)
            .with_extra(CACHE_HIT, True)
            .with_extra(FALLBACK, FallbackServed(source="b", category=ErrorCategory.TIMEOUT)),
            (0, 1, 1, 0),
        ),
    ],
)
async def test_resilience_counts_follow_attempts_and_markers(
    response: ResponseContext, counted: tuple[int, int, int, int]
) -> None:
    """Retries are attempts beyond the first; only a true cache hit and a fallback count."""
    metrics = MetricsInterceptor()

    async def terminal(request: RequestContext) -> ResponseContext:
        return response

    pipeline = PipelineBuilder(clock=FakeClock()).use(metrics).route(terminal).build()
    await pipeline.invoke("t")
    await pipeline.invoke("t")
    t = stats_of(metrics)
    assert tuple(x // 2 for x in (t.retries, t.cache_hits, t.fallbacks, t.hedges)) == counted
    assert t.calls == 2


async def test_plain_responses_add_no_resilience() -> None:
    """A first-attempt response without markers shares the empty extras and counts nothing."""
    metrics = MetricsInterceptor()
    pipeline = PipelineBuilder(clock=FakeClock()).use(metrics).route(FakeHandler()).build()
    response = await pipeline.invoke("t")
    assert (response.attempts, response.extras is EMPTY_EXTRAS) == (1, True)
    t = stats_of(metrics)
    assert (t.retries, t.cache_hits, t.fallbacks, t.hedges) == (0, 0, 0, 0)


async def test_a_timeout_without_started_counts_as_started() -> None:
    """A timeout-category error that has no ``started`` did start: not in not_started."""
    metrics = MetricsInterceptor()

    async def terminal(request: RequestContext) -> ResponseContext:
        return ResponseContext.failure(CustomTimeout("late"))

    pipeline = PipelineBuilder(clock=FakeClock()).use(metrics).route(terminal).build()
    await pipeline.invoke("t")
    t = stats_of(metrics)
    assert (t.errors, t.not_started) == ({ErrorCategory.TIMEOUT: 1}, 0)


async def test_unknown_entries_drop_the_action() -> None:
    """An unknown entry with an action counts under (unknown) without the action."""
    clock = FakeClock()
    metrics = MetricsInterceptor()
    pipeline = PipelineBuilder(clock=clock).use(metrics).route(LocalRegistry()).build()
    await pipeline.invoke("nope", action="a")
    keys = [(s.key.target, s.key.action) for s in metrics.metrics.snapshot().stats.targets]
    assert keys == [("(unknown)", None)]


def test_an_explicit_clock_times_calls_before_any_pipeline() -> None:
    """The given clock is the one read, from construction on."""
    clock = FakeClock(start=5.0)
    metrics = MetricsInterceptor(clock=clock)
    assert metrics._now() == 5.0
    assert MetricsInterceptor()._now == system_clock.monotonic


def test_a_shared_metrics_accepts_the_default_options_spelled_out() -> None:
    """max_targets=1000 and the default buckets, given explicitly, combine with metrics=."""
    shared = CallMetrics()
    metrics = MetricsInterceptor(metrics=shared, max_targets=1000, buckets=list(DEFAULT_BUCKETS))
    assert metrics.metrics is shared


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        (
            {"metrics": 3},
            TypeError,
            "metrics must be a toolware.metrics.CallMetrics or None, got 3",
        ),
        (
            {"metrics": CallMetrics(), "max_targets": 5},
            ValueError,
            "max_targets=5 and buckets=... cannot be combined with a shared "
            "metrics=CallMetrics(...); pass them to CallMetrics(max_targets=..., "
            "buckets=...) instead",
        ),
        ({"clock": 3}, TypeError, "clock must be a toolware Clock or None, got 3"),
    ],
)
def test_refusals_are_exact(options: dict[str, object], error: type, message: str) -> None:
    """Each refusal names the option, the value and the fix."""
    with pytest.raises(error) as raised:
        MetricsInterceptor(**options)  # type: ignore[arg-type]
    assert str(raised.value) == message


def test_clock_conflicts_are_exact() -> None:
    """Both clock conflicts name the two clocks and the fix."""
    one, other = FakeClock(), FakeClock()
    explicit = MetricsInterceptor(clock=one)
    with pytest.raises(ValueError, match="MetricsInterceptor was given") as raised:
        explicit.bind_clock(other)
    assert str(raised.value) == (
        f"MetricsInterceptor was given clock={one!r} but its pipeline uses "
        f"clock={other!r}; pass the same clock to PipelineBuilder(clock=...) and "
        f"MetricsInterceptor, or leave the interceptor's clock unset"
    )
    bound = MetricsInterceptor()
    bound.bind_clock(one)
    bound.bind_clock(one)
    with pytest.raises(ValueError, match="already times calls") as raised:
        bound.bind_clock(other)
    assert str(raised.value) == (
        f"this MetricsInterceptor already times calls on {one!r} for another pipeline "
        f"and cannot also use clock={other!r}; give the pipelines one clock, or a "
        f"MetricsInterceptor each sharing one metrics=CallMetrics()"
    )
    assert bound.clock is one


async def test_failed_calls_and_refusals_keep_the_action() -> None:
    """A failed call and a limiter refusal are counted under the call's action."""
    metrics = MetricsInterceptor()
    answers = iter(
        [
            ResponseContext.failure(ToolFailedError("x")),
            ResponseContext.failure(RateLimitedError("slow", retry_after=1.0)),
            ResponseContext.failure(
                ConcurrencyLimitedError("busy", limit=1, in_flight=1, waiting=0, max_waiting=0)
            ),
        ]
    )

    async def terminal(request: RequestContext) -> ResponseContext:
        return next(answers)

    pipeline = PipelineBuilder(clock=FakeClock()).use(metrics).route(terminal).build()
    for _ in range(3):
        await pipeline.invoke("t", action="a")
    snap = metrics.metrics.snapshot()
    [stats] = snap.stats.targets
    assert (stats.key.action, stats.calls) == ("a", 3)
    assert snap.refusals == {
        RefusalKey(Kind.TOOL, "t", "a", "concurrency_limit"): 1,
        RefusalKey(Kind.TOOL, "t", "a", "rate_limit"): 1,
    }


async def failing_source() -> AsyncIterator[int]:
    yield 1
    raise ToolFailedError("mid-stream")


async def test_a_failed_stream_counts_its_error_category() -> None:
    """A stream that fails is counted as failed, under its error's category."""
    metrics = MetricsInterceptor()

    async def terminal(request: RequestContext) -> ResponseContext:
        return ResponseContext.success(None).with_stream(ResponseStream.of(failing_source()))

    pipeline = PipelineBuilder(clock=FakeClock()).use(metrics).route(terminal).build()
    await (await pipeline.invoke("s")).collect()
    stats = stats_of(metrics, "s")
    assert (stats.streams_failed, stats.errors) == (1, {ErrorCategory.TOOL_FAILED: 1})


@pytest.mark.parametrize(
    ("response", "counted"),
    [
        (ResponseContext.success(None, attempts=2), (1, 0)),
        (ResponseContext.success(None).with_extra(HEDGES, 2), (0, 2)),
        (ResponseContext.success(None, attempts=1), (0, 0)),
    ],
)
async def test_a_stream_counts_retries_and_markers_when_it_ends(
    response: ResponseContext, counted: tuple[int, int]
) -> None:
    """A streamed call's attempts and markers are counted with the stream."""
    metrics = MetricsInterceptor()

    async def terminal(request: RequestContext) -> ResponseContext:
        return response.with_stream(ResponseStream.of([1]))

    pipeline = PipelineBuilder(clock=FakeClock()).use(metrics).route(terminal).build()
    await (await pipeline.invoke("s")).collect()
    stats = stats_of(metrics, "s")
    assert (stats.retries, stats.hedges) == counted


async def test_the_stream_observer_is_named_metrics(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If recording a stream's end fails, the stream log names the observer ``metrics``."""
    metrics = MetricsInterceptor()

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(CallMetrics, "record_stream", broken)

    async def terminal(request: RequestContext) -> ResponseContext:
        return ResponseContext.success(None).with_stream(ResponseStream.of([1]))

    pipeline = PipelineBuilder(clock=FakeClock()).use(metrics).route(terminal).build()
    with caplog.at_level(logging.ERROR):
        await (await pipeline.invoke("s")).collect()
    assert [r.observer for r in caplog.records] == ["metrics"]  # type: ignore[attr-defined]
