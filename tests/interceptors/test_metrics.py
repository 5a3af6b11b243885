"""Tests for toolware.interceptors.metrics: what each call adds to the CallMetrics."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from toolware import (
    ErrorCategory,
    Kind,
    LocalRegistry,
    Pipeline,
    PipelineBuilder,
    RequestContext,
    ResponseContext,
)
from toolware.errors import (
    CallTimeoutError,
    ConcurrencyLimitedError,
    RateLimitedError,
    ToolFailedError,
)
from toolware.interceptors.circuit_breaker import CircuitBreakerInterceptor
from toolware.interceptors.metrics import MetricsInterceptor
from toolware.interceptors.rate_limit import RateLimitInterceptor
from toolware.interceptors.retry import RetryInterceptor
from toolware.markers import CACHE_HIT, FALLBACK, HEDGES, FallbackServed
from toolware.metrics import CallMetrics, RefusalKey
from toolware.state.base import BreakerState
from toolware.stats import DEFAULT_BUCKETS, OVERFLOW_TARGET
from toolware.streams import ResponseStream
from toolware.testing import FakeClock, FakeHandler
from toolware.types import CallNext


def registry_for(clock: FakeClock) -> LocalRegistry:
    registry = LocalRegistry()

    @registry.tool
    async def work(seconds: float = 0.0, fail: bool = False) -> str:
        await clock.sleep(seconds)
        if fail:
            raise ToolFailedError("failed")
        return "ok"

    @registry.tool
    async def numbers(count: int) -> AsyncIterator[int]:
        await clock.sleep(0.25)
        for n in range(count):
            yield n

    return registry


def build(clock: FakeClock, metrics: MetricsInterceptor, *stages: object) -> Pipeline:
    builder = PipelineBuilder(clock=clock).use(metrics)
    for stage in stages:
        builder.use(stage)  # type: ignore[arg-type]
    return builder.route(registry_for(clock)).build()


async def test_counts_calls_errors_and_durations_on_the_pipeline_clock() -> None:
    """Each call is counted with its duration on the fake clock; failures by category."""
    clock = FakeClock()
    metrics = MetricsInterceptor(buckets=(0.5, 1.0))
    pipeline = build(clock, metrics)
    task = asyncio.create_task(pipeline.invoke("work", {"seconds": 0.75}))
    await clock.advance(0.75)
    assert (await task).ok
    assert not (await pipeline.invoke("work", {"fail": True})).ok
    stats = metrics.metrics.snapshot().stats.get("work")
    assert (stats.calls, stats.errors) == (2, {ErrorCategory.TOOL_FAILED: 1})
    assert stats.total_seconds == 0.75
    assert stats.bucket_counts == (1, 1, 0)
    assert metrics.name == "metrics"


async def test_in_flight_counts_calls_until_they_end() -> None:
    """A call is in flight from its start to its end, per kind; none afterwards."""
    clock = FakeClock()
    metrics = MetricsInterceptor()
    pipeline = build(clock, metrics)
    tasks = [asyncio.create_task(pipeline.invoke("work", {"seconds": s})) for s in (1.0, 2.0)]
    await clock.advance(0.5)
    assert metrics.metrics.snapshot().in_flight == {Kind.TOOL: 2, Kind.PLUGIN: 0, Kind.RAG: 0}
    await clock.advance(0.5)
    assert metrics.metrics.snapshot().in_flight[Kind.TOOL] == 1
    await clock.advance(1.0)
    await asyncio.gather(*tasks)
    assert metrics.metrics.snapshot().in_flight[Kind.TOOL] == 0


async def test_a_stream_is_in_flight_until_it_ends_with_its_first_chunk_time() -> None:
    """A streamed call stays in flight while it is read; then its first-chunk time counts."""
    clock = FakeClock()
    metrics = MetricsInterceptor()
    pipeline = build(clock, metrics)
    task = asyncio.create_task(pipeline.invoke("numbers", {"count": 3}))
    await clock.advance(0.25)
    response = task.result()
    assert metrics.metrics.snapshot().in_flight[Kind.TOOL] == 1
    assert (await response.collect()).value == [0, 1, 2]
    snap = metrics.metrics.snapshot()
    assert snap.in_flight[Kind.TOOL] == 0
    stats = snap.stats.get("numbers")
    assert (stats.streams_completed, stats.first_chunk_total_seconds) == (1, 0.25)


async def test_limiter_refusals_are_counted_by_limiter() -> None:
    """RateLimitedError and ConcurrencyLimitedError count as refusals; other errors do not."""
    clock = FakeClock()
    metrics = MetricsInterceptor()
    errors = [
        RateLimitedError("slow down", retry_after=1.0),
        ConcurrencyLimitedError("busy", limit=1, in_flight=1, waiting=0, max_waiting=0),
        ToolFailedError("broke"),
    ]
    handler = FakeHandler([*errors, "ok"])
    pipeline = PipelineBuilder(clock=clock).use(metrics).route(handler).build()
    for _ in range(4):
        await pipeline.invoke("t")
    assert metrics.metrics.snapshot().refusals == {
        RefusalKey(Kind.TOOL, "t", None, "concurrency_limit"): 1,
        RefusalKey(Kind.TOOL, "t", None, "rate_limit"): 1,
    }


async def test_a_real_rate_limiter_inside_is_seen() -> None:
    """Placed outside a RateLimitInterceptor, it counts the calls that limiter refused."""
    clock = FakeClock()
    metrics = MetricsInterceptor()
    pipeline = build(clock, metrics, RateLimitInterceptor(rate=1.0, burst=1))
    results = [(await pipeline.invoke("work")).ok for _ in range(3)]
    assert results == [True, False, False]
    snap = metrics.metrics.snapshot()
    assert snap.refusals == {RefusalKey(Kind.TOOL, "work", None, "rate_limit"): 2}
    assert snap.stats.get("work").errors == {ErrorCategory.RATE_LIMITED: 2}


async def test_retries_are_counted_from_outside_the_retry_interceptor() -> None:
    """Outermost, it sees the final attempt count: retries are attempts beyond the first."""
    clock = FakeClock()
    metrics = MetricsInterceptor()
    handler = FakeHandler([ToolFailedError("x", retryable=True), "ok"])
    retry = RetryInterceptor(
        attempts=3, base_delay=0.01, max_delay=0.01, retry_non_idempotent=True, budget=None
    )
    pipeline = PipelineBuilder(clock=clock).use(metrics).use(retry).route(handler).build()
    task = asyncio.create_task(pipeline.invoke("t"))
    await clock.advance(1.0)
    assert (await task).ok
    assert metrics.metrics.snapshot().stats.get("t").retries == 1


async def test_breaker_changes_feed_the_breaker_state() -> None:
    """on_breaker_change given to a circuit breaker records its latest state per key."""
    clock = FakeClock()
    metrics = MetricsInterceptor()
    breaker = CircuitBreakerInterceptor(
        failure_ratio=None,
        consecutive_failures=2,
        on_state_change=metrics.metrics.on_breaker_change,
    )
    handler = FakeHandler([ToolFailedError("x")])
    pipeline = PipelineBuilder(clock=clock).use(metrics).use(breaker).route(handler).build()
    for _ in range(3):
        await pipeline.invoke("t")
    assert metrics.metrics.snapshot().breakers == {"t": BreakerState.OPEN}


async def test_max_targets_bounds_invented_names() -> None:
    """Past max_targets, calls (and refusals) are counted under (other)."""
    clock = FakeClock()
    metrics = MetricsInterceptor(max_targets=2)
    pipeline = PipelineBuilder(clock=clock).use(metrics).route(FakeHandler(["ok"])).build()
    for n in range(5):
        await pipeline.invoke(f"t{n}")
    snap = metrics.metrics.snapshot()
    assert [t.key.target for t in snap.stats.targets] == [OVERFLOW_TARGET, "t0", "t1"]
    assert snap.stats.get(OVERFLOW_TARGET).calls == 3


async def test_shared_metrics_aggregate_two_pipelines() -> None:
    """metrics= shares one CallMetrics between interceptors (and pipelines)."""
    shared = CallMetrics(max_targets=5)
    first, second = MetricsInterceptor(metrics=shared), MetricsInterceptor(metrics=shared)
    assert first.metrics is shared
    assert second.metrics is shared
    for interceptor in (first, second):
        pipeline = PipelineBuilder(clock=FakeClock()).use(interceptor).route(FakeHandler()).build()
        await pipeline.invoke("t")
    assert shared.snapshot().stats.get("t").calls == 2


def test_defaults() -> None:
    """By default: 1000 targets, the recorder's default buckets, no clock until bound."""
    metrics = MetricsInterceptor()
    assert metrics.metrics.max_targets == 1000
    assert metrics.metrics.snapshot().stats.targets == ()
    assert metrics.clock is None
    assert metrics.metrics.bounds == DEFAULT_BUCKETS


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"metrics": object()}, TypeError, r"metrics must be a toolware.metrics.CallMetrics"),
        ({"metrics": CallMetrics(), "max_targets": 5}, ValueError, r"max_targets=5 and buckets"),
        ({"metrics": CallMetrics(), "buckets": (1.0,)}, ValueError, r"CallMetrics\(max_targets"),
        ({"max_targets": 0}, ValueError, r"max_targets must be a positive integer.*got 0"),
        ({"max_targets": True}, TypeError, r"max_targets must be a positive integer.*True"),
        ({"max_targets": 1.5}, TypeError, r"max_targets must be a positive integer.*1.5"),
        ({"buckets": (float("nan"),)}, ValueError, r"buckets must be increasing"),
        ({"clock": object()}, TypeError, r"clock must be a toolware Clock or None"),
    ],
)
def test_options_are_validated(options: dict[str, object], error: type, match: str) -> None:
    """Each bad option is refused at construction with its name and value."""
    with pytest.raises(error, match=match):
        MetricsInterceptor(**options)  # type: ignore[arg-type]


def test_a_different_explicit_clock_is_refused() -> None:
    """An explicit clock other than the pipeline's is refused at build()."""
    clock = FakeClock()
    metrics = MetricsInterceptor(clock=clock)
    assert metrics.clock is clock
    PipelineBuilder(clock=clock).use(metrics).route(FakeHandler()).build()
    with pytest.raises(ValueError, match=r"MetricsInterceptor was given clock="):
        PipelineBuilder(clock=FakeClock()).use(metrics).route(FakeHandler()).build()


def test_a_bound_clock_is_not_rebound_to_another() -> None:
    """Bound to one pipeline's clock, it refuses another pipeline's clock."""
    clock = FakeClock()
    metrics = MetricsInterceptor()
    PipelineBuilder(clock=clock).use(metrics).route(FakeHandler()).build()
    assert metrics.clock is clock
    with pytest.raises(ValueError, match=r"already times calls on .* metrics=CallMetrics"):
        PipelineBuilder(clock=FakeClock()).use(metrics).route(FakeHandler()).build()


async def test_unknown_entries_and_cancellation_are_counted() -> None:
    """An unknown entry counts under (unknown); a cancelled call under cancelled, not in flight."""
    clock = FakeClock()
    metrics = MetricsInterceptor()
    pipeline = build(clock, metrics)
    await pipeline.invoke("nope")
    task = asyncio.create_task(pipeline.invoke("work", {"seconds": 5.0}))
    await clock.advance(1.0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    snap = metrics.metrics.snapshot()
    assert snap.stats.get("(unknown)").errors == {ErrorCategory.NOT_FOUND: 1}
    assert snap.stats.get("work").errors == {ErrorCategory.CANCELLED: 1}
    assert snap.in_flight[Kind.TOOL] == 0


async def test_requests_pass_through_unchanged() -> None:
    """The response is the inner one, as is."""
    clock = FakeClock()
    answer = ResponseContext.success(42)

    async def terminal(request: RequestContext) -> ResponseContext:
        return answer

    pipeline = PipelineBuilder(clock=clock).use(MetricsInterceptor()).route(terminal).build()
    assert (await pipeline.invoke("t")).value == 42


async def test_errors_raised_below_are_counted_then_propagate() -> None:
    """A ToolwareError raised below counts under its category, a crash under internal."""
    clock = FakeClock()
    metrics = MetricsInterceptor()

    async def raising(request: RequestContext, call_next: CallNext) -> ResponseContext:
        if request.target == "typed":
            raise RateLimitedError("raised", retry_after=1.0)
        raise RuntimeError("crash")

    pipeline = PipelineBuilder(clock=clock).use(metrics).use(raising).route(FakeHandler()).build()
    assert (await pipeline.invoke("typed")).error.category is ErrorCategory.RATE_LIMITED  # type: ignore[union-attr]
    assert (await pipeline.invoke("crash")).error.category is ErrorCategory.INTERNAL  # type: ignore[union-attr]
    snap = metrics.metrics.snapshot()
    assert snap.stats.get("typed").errors == {ErrorCategory.RATE_LIMITED: 1}
    assert snap.stats.get("crash").errors == {ErrorCategory.INTERNAL: 1}
    assert snap.refusals == {RefusalKey(Kind.TOOL, "typed", None, "rate_limit"): 1}
    assert snap.in_flight[Kind.TOOL] == 0


async def test_a_streamed_call_counts_its_resilience_when_it_ends() -> None:
    """Retries and markers of a streamed call are counted with the stream, at its end."""
    clock = FakeClock()
    metrics = MetricsInterceptor()
    stream_response = ResponseContext.success(None, attempts=3).with_stream(
        ResponseStream.of([1, 2])
    )
    plain = ResponseContext.success(None, attempts=1).with_stream(ResponseStream.of([1]))
    answers = iter([stream_response, plain])

    async def terminal(request: RequestContext) -> ResponseContext:
        return next(answers)

    pipeline = PipelineBuilder(clock=clock).use(metrics).route(terminal).build()
    first = await pipeline.invoke("s")
    assert metrics.metrics.snapshot().stats.targets == ()
    await first.collect()
    await (await pipeline.invoke("s")).collect()
    stats = metrics.metrics.snapshot().stats.get("s")
    assert (stats.calls, stats.retries, stats.streams_completed, stats.chunks) == (2, 2, 2, 3)


async def test_markers_are_counted() -> None:
    """Cache hits, fallbacks and hedges from the response markers are counted."""
    clock = FakeClock()
    metrics = MetricsInterceptor()
    served = FallbackServed(source="backup", category=ErrorCategory.TIMEOUT)
    response = (
        ResponseContext.success(1)
        .with_extra(CACHE_HIT, True)
        .with_extra(FALLBACK, served)
        .with_extra(HEDGES, 2)
    )

    async def terminal(request: RequestContext) -> ResponseContext:
        return response

    pipeline = PipelineBuilder(clock=clock).use(metrics).route(terminal).build()
    await pipeline.invoke("t")
    stats = metrics.metrics.snapshot().stats.get("t")
    assert (stats.retries, stats.cache_hits, stats.fallbacks, stats.hedges) == (0, 1, 1, 2)


async def test_a_timeout_that_never_started_is_counted_as_such() -> None:
    """A CallTimeoutError with started=False counts in not_started."""
    clock = FakeClock()
    metrics = MetricsInterceptor()
    handler = FakeHandler(
        [CallTimeoutError("late", limit=1.0, started=False), CallTimeoutError("x", limit=1.0)]
    )
    pipeline = PipelineBuilder(clock=clock).use(metrics).route(handler).build()
    await pipeline.invoke("t")
    await pipeline.invoke("t")
    stats = metrics.metrics.snapshot().stats.get("t")
    assert (stats.errors, stats.not_started) == ({ErrorCategory.TIMEOUT: 2}, 1)
