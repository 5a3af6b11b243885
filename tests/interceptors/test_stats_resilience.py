"""Tests for toolware.interceptors.stats: what the resilience interceptors did, per target."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from toolware import (
    ErrorCategory,
    PipelineBuilder,
    RequestContext,
    ResponseContext,
    ResponseStream,
    StatsInterceptor,
    ToolFailedError,
    UnknownEntryError,
)
from toolware.interceptors.stats import UNKNOWN_TARGET
from toolware.markers import CACHE_HIT, FALLBACK, HEDGES, FallbackServed
from toolware.stats import OVERFLOW_TARGET, StatsRecorder
from toolware.testing import FakeClock
from toolware.types import CallNext

Shape = Callable[[ResponseContext], ResponseContext]


def answering(response: ResponseContext):  # type: ignore[no-untyped-def]
    async def terminal(request: RequestContext) -> ResponseContext:
        return response

    return terminal


async def run(response: ResponseContext, recorder: StatsRecorder, target: str = "t") -> None:
    clock = FakeClock()
    stats = StatsInterceptor(recorder=recorder)
    pipeline = PipelineBuilder(clock=clock).use(stats).route(answering(response)).build()
    result = await pipeline.invoke(target)
    if result.stream is not None:
        await result.collect()


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (ResponseContext.success(1, attempts=3), (2, 0, 0, 0)),
        (ResponseContext.failure(ToolFailedError("x"), attempts=2), (1, 0, 0, 0)),
        (ResponseContext.success(1).with_extra(CACHE_HIT, True), (0, 1, 0, 0)),
        (ResponseContext.success(1).with_extra(CACHE_HIT, False), (0, 0, 0, 0)),
        (
            ResponseContext.success(1).with_extra(
                FALLBACK, FallbackServed("backup", ErrorCategory.UNAVAILABLE)
            ),
            (0, 0, 1, 0),
        ),
        (ResponseContext.success(1).with_extra(HEDGES, 2), (0, 0, 0, 2)),
        (ResponseContext.success(1), (0, 0, 0, 0)),
    ],
)
async def test_retries_cache_hits_fallbacks_and_hedges_are_counted(
    response: ResponseContext, expected: tuple[int, int, int, int]
) -> None:
    """Each marker lands in its own counter of the call's target, and nothing else moves."""
    recorder = StatsRecorder()
    await run(response, recorder)
    await run(response, recorder)
    stats = recorder.snapshot().get("t")
    assert stats.calls == 2
    assert (stats.retries, stats.cache_hits, stats.fallbacks, stats.hedges) == tuple(
        2 * n for n in expected
    )


async def test_a_stream_counts_its_retries_when_it_ends() -> None:
    """A streamed call's resilience counters are added with the call, at the stream's end."""
    recorder = StatsRecorder()
    response = ResponseContext(stream=ResponseStream.of([1, 2]), attempts=2).with_extra(HEDGES, 1)
    await run(response, recorder)
    stats = recorder.snapshot().get("t")
    assert (stats.calls, stats.streams_completed, stats.retries, stats.hedges) == (1, 1, 1, 1)


async def test_unknown_targets_record_no_resilience_counters() -> None:
    """A call to an entry that does not exist counts under (unknown), with no retries."""
    recorder = StatsRecorder()
    await run(ResponseContext.failure(UnknownEntryError("no"), attempts=3), recorder)
    stats = recorder.snapshot().get(UNKNOWN_TARGET)
    assert (stats.calls, stats.retries) == (1, 0)


async def test_overflowing_targets_keep_their_resilience_counters() -> None:
    """Past max_targets the counters go to the overflow target, like the calls themselves."""
    recorder = StatsRecorder(max_targets=1)
    await run(ResponseContext.success(1), recorder, target="first")
    await run(ResponseContext.success(1, attempts=4), recorder, target="second")
    stats = recorder.snapshot().get(OVERFLOW_TARGET)
    assert (stats.calls, stats.retries) == (1, 3)


async def test_an_interceptor_that_answers_with_zero_attempts_records_no_negative_retries() -> None:
    """attempts=0 (a cache hit made by hand, say) never subtracts from the retry count."""
    recorder = StatsRecorder()

    async def zero(request: RequestContext, call_next: CallNext) -> ResponseContext:
        return ResponseContext.success(1, attempts=0).with_extra(CACHE_HIT, True)

    clock = FakeClock()
    pipeline = (
        PipelineBuilder(clock=clock)
        .use(StatsInterceptor(recorder=recorder))
        .use(zero)
        .route(answering(ResponseContext.success(2)))
        .build()
    )
    await pipeline.invoke("t")
    stats = recorder.snapshot().get("t")
    assert (stats.retries, stats.cache_hits) == (0, 1)
