"""Tests for toolware.interceptors.concurrency_limit on streamed calls: the slot is held until
the stream ends (completed, failed, abandoned or collected), not when the response returns."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator

import pytest

from toolware import (
    LocalRegistry,
    Pipeline,
    PipelineBuilder,
    RequestContext,
    ResponseContext,
    ResponseStream,
    ToolFailedError,
)
from toolware.errors import ConcurrencyLimitedError
from toolware.interceptors.concurrency_limit import ConcurrencyLimitInterceptor
from toolware.markers import WAITED
from toolware.streams import StreamEnd, StreamOutcome
from toolware.testing import FakeClock, settle


def streaming(
    clock: FakeClock, **options: object
) -> tuple[Pipeline, ConcurrencyLimitInterceptor, list[str]]:
    """A pipeline over a registry with 'numbers(count, fail_at)', a streaming tool that notes
    when its producer finishes."""
    registry = LocalRegistry()
    finished: list[str] = []

    @registry.tool
    async def numbers(count: int, fail_at: int = -1) -> AsyncIterator[int]:
        try:
            for n in range(count):
                if n == fail_at:
                    raise ToolFailedError("broke")
                yield n
        finally:
            finished.append("numbers")

    limiter = ConcurrencyLimitInterceptor(limit=1, **options)  # type: ignore[arg-type]
    pipeline = PipelineBuilder(clock=clock).use(limiter).route(registry).build()
    return pipeline, limiter, finished


async def open_stream(pipeline: Pipeline, **arguments: int) -> ResponseStream:
    response = await pipeline.invoke("numbers", arguments)
    assert response.stream is not None
    return response.stream


async def test_the_slot_is_held_until_the_stream_completes() -> None:
    """While the stream is open the key is full; reading it to the end frees the slot."""
    clock = FakeClock()
    pipeline, limiter, finished = streaming(clock)
    stream = await open_stream(pipeline, count=3)
    assert limiter.in_flight("numbers") == 1
    refused = (await pipeline.invoke("numbers", {"count": 1})).error
    assert isinstance(refused, ConcurrencyLimitedError)
    assert [chunk async for chunk in stream] == [0, 1, 2]
    assert stream.outcome is StreamOutcome.COMPLETED
    assert finished == ["numbers"]
    assert limiter.keys == 0
    assert (await pipeline.invoke("numbers", {"count": 1})).stream is not None


async def test_an_abandoned_stream_frees_the_slot() -> None:
    """Closing the stream early (the consumer stops) frees the slot at once."""
    clock = FakeClock()
    pipeline, limiter, _ = streaming(clock)
    stream = await open_stream(pipeline, count=5)
    assert await anext(stream) == 0
    assert limiter.in_flight("numbers") == 1
    await stream.aclose()
    assert stream.outcome is StreamOutcome.ABANDONED
    assert limiter.keys == 0


async def test_a_failed_stream_frees_the_slot() -> None:
    """A producer failing mid-stream ends the stream, and the slot with it."""
    clock = FakeClock()
    pipeline, limiter, _ = streaming(clock)
    stream = await open_stream(pipeline, count=5, fail_at=2)
    with pytest.raises(ToolFailedError):
        async for _ in stream:
            pass
    assert stream.outcome is StreamOutcome.FAILED
    assert limiter.keys == 0


async def test_a_waiter_gets_the_slot_when_the_stream_ends() -> None:
    """A queued call starts when the stream before it ends, and reports the wait."""
    clock = FakeClock()
    pipeline, limiter, _ = streaming(clock, max_waiting=1)
    stream = await open_stream(pipeline, count=2)
    waiter = asyncio.create_task(pipeline.invoke("numbers", {"count": 1}))
    await clock.advance(2.0)
    assert not waiter.done()
    assert [chunk async for chunk in stream] == [0, 1]
    await settle()
    response = waiter.result()
    assert response.get(WAITED) == 2.0
    assert response.stream is not None
    assert limiter.in_flight("numbers") == 1
    await response.stream.aclose()
    assert limiter.keys == 0


async def test_a_stream_dropped_unread_frees_the_slot() -> None:
    """A response collected with its stream unread ends it as abandoned: the slot is freed."""
    clock = FakeClock()
    pipeline, limiter, _ = streaming(clock)
    response = await pipeline.invoke("numbers", {"count": 3})
    assert limiter.in_flight("numbers") == 1
    del response
    gc.collect()
    await settle()
    assert limiter.keys == 0


async def test_a_stream_collected_on_another_thread_frees_the_slot_on_the_loop() -> None:
    """Collected on a worker thread, the stream's end is handed to the loop that owns the
    counts; the slot is freed at the loop's next turn."""
    clock = FakeClock()
    limiter = ConcurrencyLimitInterceptor(limit=1)

    async def handler(request: RequestContext) -> ResponseContext:
        return ResponseContext(stream=ResponseStream.of([1, 2]))

    pipeline = PipelineBuilder(clock=clock).use(limiter).route(handler).build()
    kept = [await pipeline.invoke("t")]
    assert limiter.in_flight("t") == 1

    def drop() -> None:
        kept.clear()
        gc.collect()

    await asyncio.to_thread(drop)
    await settle()
    assert limiter.keys == 0


async def test_an_end_heard_after_its_loop_closed_is_ignored() -> None:
    """A stream ending once its event loop is closed has no one left to hand a slot to."""
    limiter = ConcurrencyLimitInterceptor(limit=1)
    closed = asyncio.new_event_loop()
    closed.close()
    end = StreamEnd(outcome=StreamOutcome.ABANDONED, chunks=0)
    limiter._stream_ended("t", closed, end)  # the counts have no "t": releasing would fail
    assert limiter.keys == 0
