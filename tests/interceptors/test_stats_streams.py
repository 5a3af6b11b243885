"""Tests for toolware.interceptors.stats on streamed calls: recorded when the stream ends,
with its outcome, time to first chunk, chunk count and duration (fake clock)."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Awaitable

import pytest

from toolware import (
    ErrorCategory,
    Kind,
    LocalRegistry,
    Pipeline,
    PipelineBuilder,
    RequestContext,
    ResponseContext,
    ResponseStream,
    StatsInterceptor,
    StatsRecorder,
    TimeoutInterceptor,
    ToolFailedError,
)
from toolware.stats import OVERFLOW_TARGET
from toolware.streams import StreamOutcome
from toolware.testing import FakeClock, FakeHandler
from toolware.types import CallNext


def build(clock: FakeClock, *, timeout: float | None = None) -> tuple[Pipeline, StatsInterceptor]:
    registry = LocalRegistry()

    @registry.tool
    async def numbers(count: int, every: float = 0.0, fail_at: int = -1) -> AsyncIterator[int]:
        await clock.sleep(0.25)  # time to first chunk
        for n in range(count):
            if n:
                await clock.sleep(every)
            if n == fail_at:
                raise ToolFailedError("broke")
            yield n

    stats = StatsInterceptor()
    builder = PipelineBuilder(clock=clock).use(stats)
    if timeout is not None:
        builder.use(TimeoutInterceptor(timeout=timeout))
    return builder.route(registry).build(), stats


async def consume(pipeline: Pipeline, clock: FakeClock, **arguments: object) -> list[int]:
    task = asyncio.create_task(pipeline.invoke("numbers", arguments))
    await clock.advance(0.25)
    response = task.result()
    assert response.stream is not None
    chunks: list[int] = []

    async def read() -> None:
        async for chunk in response.stream:  # type: ignore[union-attr]
            chunks.append(chunk)

    reader = asyncio.create_task(read())
    await clock.advance(10.0)
    await asyncio.gather(reader, return_exceptions=True)
    return chunks


async def test_a_completed_stream_is_recorded_when_it_ends() -> None:
    clock = FakeClock()
    pipeline, stats = build(clock)
    task = asyncio.create_task(pipeline.invoke("numbers", {"count": 3, "every": 0.5}))
    await clock.advance(0.25)
    response = task.result()
    assert stats.snapshot().calls == 0  # not yet: the stream is still open
    assert response.stream is not None
    reader = asyncio.create_task(response.stream.__anext__())
    await clock.advance(0)
    assert reader.result() == 0
    assert stats.snapshot().calls == 0
    rest = asyncio.create_task(_drain(response.stream))
    await clock.advance(1.0)
    assert rest.result() == [1, 2]
    numbers = stats.snapshot().get("numbers")
    assert numbers.calls == 1
    assert numbers.errors == {}
    assert (numbers.streams_completed, numbers.streams_failed, numbers.streams_abandoned) == (
        1,
        0,
        0,
    )
    assert numbers.streams == 1
    assert numbers.chunks == 3
    assert numbers.first_chunk_total_seconds == 0.25
    assert numbers.first_chunk_max_seconds == 0.25
    assert numbers.mean_first_chunk_seconds == 0.25
    assert numbers.total_seconds == 1.25  # to the end of the stream


async def _drain(stream: object) -> list[int]:
    return [chunk async for chunk in stream]  # type: ignore[attr-defined]


async def test_a_failed_stream_is_an_error_with_its_category() -> None:
    clock = FakeClock()
    pipeline, stats = build(clock)
    chunks = await consume(pipeline, clock, count=5, every=0.5, fail_at=2)
    assert chunks == [0, 1]
    numbers = stats.snapshot().get("numbers")
    assert numbers.errors == {ErrorCategory.TOOL_FAILED: 1}
    assert (numbers.streams_completed, numbers.streams_failed, numbers.streams_abandoned) == (
        0,
        1,
        0,
    )
    assert numbers.chunks == 2
    assert numbers.total_seconds == 1.25


async def test_a_timeout_mid_stream_is_counted_as_a_timeout() -> None:
    clock = FakeClock()
    pipeline, stats = build(clock, timeout=1.0)
    chunks = await consume(pipeline, clock, count=10, every=0.5)
    assert chunks == [0, 1]
    numbers = stats.snapshot().get("numbers")
    assert numbers.errors == {ErrorCategory.TIMEOUT: 1}
    assert numbers.streams_failed == 1
    assert numbers.total_seconds == 1.0


async def test_an_abandoned_stream_is_counted_apart_and_not_as_an_error() -> None:
    clock = FakeClock()
    pipeline, stats = build(clock)
    task = asyncio.create_task(pipeline.invoke("numbers", {"count": 5}))
    await clock.advance(0.25)
    response = task.result()
    assert response.stream is not None
    assert await response.stream.__anext__() == 0
    await clock.advance(0.5)
    await response.stream.aclose()
    numbers = stats.snapshot().get("numbers")
    assert numbers.errors == {}
    assert (numbers.streams_completed, numbers.streams_failed, numbers.streams_abandoned) == (
        0,
        0,
        1,
    )
    assert numbers.chunks == 1
    assert numbers.total_seconds == 0.75


async def test_a_dropped_stream_is_recorded_as_abandoned() -> None:
    clock = FakeClock()
    pipeline, stats = build(clock)
    task = asyncio.create_task(pipeline.invoke("numbers", {"count": 5}))
    await clock.advance(0.25)
    del task
    gc.collect()
    await asyncio.sleep(0)  # a collected stream is reported at the loop's next turn
    numbers = stats.snapshot().get("numbers")
    assert numbers.streams_abandoned == 1
    assert numbers.chunks == 0


async def test_a_failure_before_the_first_chunk_is_a_plain_failed_call() -> None:
    clock = FakeClock()
    pipeline, stats = build(clock)
    task = asyncio.create_task(pipeline.invoke("numbers", {"count": 3, "fail_at": 0}))
    await clock.advance(0.25)
    assert task.result().error is not None
    numbers = stats.snapshot().get("numbers")
    assert numbers.errors == {ErrorCategory.TOOL_FAILED: 1}
    assert numbers.streams == 0
    assert numbers.mean_first_chunk_seconds == 0.0


def test_record_stream_past_the_target_cap_goes_to_the_overflow_target() -> None:
    recorder = StatsRecorder(max_targets=1)
    recorder.record(Kind.TOOL, "first", None, 0.1, None)
    recorder.record_stream(
        Kind.TOOL,
        "second",
        None,
        0.5,
        StreamOutcome.ABANDONED,
        None,
        first_chunk_seconds=0.2,
        chunks=4,
    )
    overflow = recorder.snapshot().get(OVERFLOW_TARGET)
    assert (overflow.calls, overflow.streams_abandoned, overflow.chunks) == (1, 1, 4)
    assert overflow.first_chunk_max_seconds == 0.2


@pytest.mark.parametrize("first", [0.1, 0.3])
def test_first_chunk_max_keeps_the_largest(first: float) -> None:
    recorder = StatsRecorder()
    for seconds in (0.2, first):
        recorder.record_stream(
            Kind.TOOL,
            "t",
            None,
            1.0,
            StreamOutcome.COMPLETED,
            None,
            first_chunk_seconds=seconds,
            chunks=1,
        )
    stats = recorder.snapshot().get("t")
    assert stats.first_chunk_max_seconds == max(0.2, first)
    assert stats.first_chunk_total_seconds == pytest.approx(0.2 + first)
    assert stats.streams_completed == 2


def streaming_below(request: RequestContext, call_next: CallNext) -> Awaitable[ResponseContext]:
    """An interceptor answering every call with a stream of its own."""
    stream = ResponseStream.of([1, 2], request_id=request.id, target=request.target)
    return asyncio.sleep(0, ResponseContext(stream=stream))


async def test_a_stream_is_kept_with_its_calls_action() -> None:
    clock = FakeClock()
    stats = StatsInterceptor()
    pipeline = (
        PipelineBuilder(clock=clock).use(stats).use(streaming_below).route(FakeHandler()).build()
    )
    response = await pipeline.invoke("notes", kind=Kind.PLUGIN, action="add")
    assert response.stream is not None
    assert await _drain(response.stream) == [1, 2]
    notes = stats.snapshot().get("notes", kind=Kind.PLUGIN, action="add")
    assert (notes.streams_completed, notes.chunks) == (1, 2)


class BrokenRecorder(StatsRecorder):
    def record_stream(self, *args: object, **options: object) -> None:
        raise RuntimeError("recorder bug")


async def test_a_failing_recorder_is_logged_as_the_stats_observer(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The stream still ends for its consumer; the log names the 'stats' observer."""
    clock = FakeClock()
    stats = StatsInterceptor(recorder=BrokenRecorder())
    pipeline = (
        PipelineBuilder(clock=clock).use(stats).use(streaming_below).route(FakeHandler()).build()
    )
    response = await pipeline.invoke("search")
    assert response.stream is not None
    with caplog.at_level(logging.ERROR, logger="toolware.streams"):
        assert await _drain(response.stream) == [1, 2]
    assert [(r.getMessage(), r.observer) for r in caplog.records] == [
        ("stream.observer_failed observer=stats target=search error=RuntimeError", "stats")
    ]
