"""Tests for toolware._read_ahead: chunks fetched ahead of the consumer by a bounded task."""

import asyncio
import gc
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from toolware import LocalRegistry, RequestContext, Router, ToolFailedError
from toolware._read_ahead import ReadAheadStream
from toolware.streams import ResponseStream, StreamOutcome
from toolware.testing import FakeClock, settle


async def wait_for(condition: Any, rounds: int = 400) -> None:
    """Poll ``condition()`` (work finishing on a worker thread) in short real sleeps, bounded."""
    for _ in range(rounds):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("the condition never became true")


# -- ReadAheadStream -------------------------------------------------------------------------


@pytest.fixture
def registry() -> LocalRegistry:
    return LocalRegistry()


@pytest.fixture
def router(registry: LocalRegistry) -> Iterator[Router]:
    router = Router(registry)
    yield router
    router.close()


def read_ahead_tasks() -> list[asyncio.Task[Any]]:
    return [
        task
        for task in asyncio.all_tasks()
        if task.get_name().startswith("toolware-read-ahead") and not task.done()
    ]


async def open_stream(router: Router, target: str, **arguments: object) -> ResponseStream:
    response = await router(RequestContext.create(target, dict(arguments), id="req-1"))
    assert response.error is None, response.error
    assert response.stream is not None
    return response.stream


def producing(registry: LocalRegistry, produced: list[int], finished: list[str]) -> None:
    @registry.tool(read_ahead=2)
    async def ahead(n: int, fail_after: int = -1) -> AsyncIterator[int]:
        try:
            for i in range(n):
                if i == fail_after:
                    raise ValueError(f"failed at {i}")
                produced.append(i)
                yield i
        finally:
            finished.append("finally")


async def test_read_ahead_produces_exactly_n_chunks_ahead_of_the_consumer(
    registry: LocalRegistry, router: Router
) -> None:
    produced: list[int] = []
    finished: list[str] = []
    producing(registry, produced, finished)
    stream = await open_stream(router, "ahead", n=10)
    assert isinstance(stream, ReadAheadStream)
    assert (stream.request_id, stream.target) == ("req-1", "ahead")
    await settle()
    assert produced == [0, 1]
    assert await anext(stream) == 0
    await settle()
    assert produced == [0, 1, 2]
    assert await anext(stream) == 1
    assert await anext(stream) == 2
    await settle()
    assert produced == [0, 1, 2, 3, 4]
    assert stream.chunks == 3
    await stream.aclose()
    assert finished == ["finally"]  # aclose() returns after the handler's finally ran
    assert stream.outcome is StreamOutcome.ABANDONED
    assert read_ahead_tasks() == []
    assert produced == [0, 1, 2, 3, 4]


async def test_read_ahead_completes_and_its_task_ends(
    registry: LocalRegistry, router: Router
) -> None:
    produced: list[int] = []
    finished: list[str] = []
    producing(registry, produced, finished)
    stream = await open_stream(router, "ahead", n=4)
    assert [chunk async for chunk in stream] == [0, 1, 2, 3]
    assert stream.outcome is StreamOutcome.COMPLETED
    assert stream.chunks == 4
    await settle()
    assert finished == ["finally"]
    assert read_ahead_tasks() == []


async def test_read_ahead_delivers_the_error_after_the_buffered_chunks(
    registry: LocalRegistry, router: Router
) -> None:
    produced: list[int] = []
    finished: list[str] = []
    producing(registry, produced, finished)
    stream = await open_stream(router, "ahead", n=10, fail_after=2)
    await settle()
    assert finished == []  # two chunks buffered: the reader waits for room
    assert await anext(stream) == 0
    await settle()
    assert finished == ["finally"]  # the reader met the failure, ahead of the consumer
    assert await anext(stream) == 1
    with pytest.raises(ToolFailedError) as caught:
        await anext(stream)
    assert caught.value.message == "'ahead' raised ValueError: failed at 2 after 2 chunk(s)"
    assert (caught.value.request_id, caught.value.target) == ("req-1", "ahead")
    assert stream.outcome is StreamOutcome.FAILED
    assert stream.error is caught.value
    assert stream.chunks == 2
    with pytest.raises(StopAsyncIteration):
        await anext(stream)
    assert read_ahead_tasks() == []


async def test_read_ahead_task_is_gone_after_the_stream_is_dropped(
    registry: LocalRegistry, router: Router
) -> None:
    produced: list[int] = []
    finished: list[str] = []
    producing(registry, produced, finished)
    stream = await open_stream(router, "ahead", n=10)
    assert await anext(stream) == 0
    await settle()
    assert len(read_ahead_tasks()) == 1
    del stream
    gc.collect()
    await settle()
    assert read_ahead_tasks() == []
    assert finished == ["finally"]
    assert produced == [0, 1, 2]


async def test_read_ahead_consumer_cancelled_stops_the_reader(
    registry: LocalRegistry, router: Router
) -> None:
    release = asyncio.Event()
    finished: list[str] = []

    @registry.tool(read_ahead=1)
    async def slow() -> AsyncIterator[int]:
        try:
            yield 1
            await release.wait()
            yield 2  # pragma: no cover - cancelled before
        finally:
            finished.append("finally")

    stream = await open_stream(router, "slow")
    assert await anext(stream) == 1
    task = asyncio.create_task(anext(stream))
    await settle()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert stream.outcome is StreamOutcome.ABANDONED
    await settle()
    assert finished == ["finally"]
    assert read_ahead_tasks() == []


async def test_read_ahead_over_a_sync_generator(registry: LocalRegistry, router: Router) -> None:
    produced: list[int] = []

    @registry.tool(read_ahead=3)
    def counting(n: int) -> Iterator[int]:
        for i in range(n):
            produced.append(i)
            yield i

    stream = await open_stream(router, "counting", n=10)
    await wait_for(lambda: len(produced) == 3)
    await settle()
    assert produced == [0, 1, 2]
    assert [chunk async for chunk in stream] == list(range(10))
    assert stream.outcome is StreamOutcome.COMPLETED


async def test_read_ahead_stream_wraps_any_stream() -> None:
    clock = FakeClock()
    inner = ResponseStream.of([1, 2, 3], request_id="r-9", target="t", now=clock.monotonic)
    stream = ReadAheadStream(inner, 2)
    assert (stream.request_id, stream.target) == ("r-9", "t")
    assert [chunk async for chunk in stream] == [1, 2, 3]
    assert stream.ended_at == clock.monotonic()
    assert inner.outcome is StreamOutcome.COMPLETED


async def test_read_ahead_hands_over_chunks_before_its_buffer_ever_filled() -> None:
    """The consumer takes chunks while the reader has never waited for room (fewer chunks
    than ``read_ahead``): nothing to wake, and the stream completes."""
    stream = ReadAheadStream(ResponseStream.of([1, 2], target="t"), 5)
    assert await anext(stream) == 1
    assert await anext(stream) == 2
    with pytest.raises(StopAsyncIteration):
        await anext(stream)
    assert stream.outcome is StreamOutcome.COMPLETED


async def test_read_ahead_reader_cancelled_from_outside_ends_the_consumers_wait() -> None:
    """The reader task cancelled by someone else (the loop shutting down, say) while the
    consumer waits for a chunk: the consumer's wait ends, it does not hang."""
    finished: list[str] = []

    async def slow() -> AsyncIterator[int]:
        try:
            yield 1
            await asyncio.Event().wait()
            yield 2  # pragma: no cover - cancelled before
        finally:
            finished.append("finally")

    stream = ReadAheadStream(ResponseStream.of(slow(), target="slow"), 1)
    assert await anext(stream) == 1
    waiting = asyncio.create_task(anext(stream))
    await settle()
    [reader] = read_ahead_tasks()
    reader.cancel()
    await settle()
    assert waiting.done()
    with pytest.raises(StopAsyncIteration):
        waiting.result()
    assert finished == ["finally"]
    assert read_ahead_tasks() == []


def test_read_ahead_stream_dropped_after_its_loop_closed_is_quiet(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Collected after its loop was closed (its reader is gone with it): nothing to cancel,
    and nothing raised from the collection."""
    unraisable: list[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    loop = asyncio.new_event_loop()

    async def make() -> ReadAheadStream:
        stream = ReadAheadStream(ResponseStream.of([], target="none"), 1)
        await settle()  # the reader finds the end and finishes
        return stream

    try:
        stream = loop.run_until_complete(make())
    finally:
        loop.close()
    assert stream.outcome is None  # never read
    del stream
    gc.collect()
    assert unraisable == []
