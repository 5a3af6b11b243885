"""Tests for toolware.interceptors.cache with streamed results: recorded, stored on completion."""

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.interceptors.test_cache import BrokenStore
from toolware import (
    CallNext,
    LocalRegistry,
    Pipeline,
    PipelineBuilder,
    RequestContext,
    ResponseContext,
)
from toolware.errors import ErrorCategory
from toolware.interceptors._cache_keys import MAX_STREAM_CHUNKS
from toolware.interceptors.cache import CacheInterceptor
from toolware.markers import CACHE_HIT
from toolware.state.memory import MemoryState
from toolware.streams import StreamOutcome
from toolware.testing import FakeClock


def streamer(
    chunks: list[Any], *, fail_after: int | None = None
) -> tuple[LocalRegistry, list[int]]:
    """A registry with the streaming tool 'words' yielding ``chunks`` (raising after
    ``fail_after`` of them, if set); returns it and its run log."""
    registry, runs = LocalRegistry(), []

    @registry.tool(cache=True)
    async def words(n: int = 0) -> AsyncIterator[Any]:
        runs.append(n)
        for index, chunk in enumerate(chunks):
            if index == fail_after:
                raise RuntimeError("producer broke")
            yield chunk

    return registry, runs


def cached(registry: LocalRegistry, clock: FakeClock, **options: Any) -> Pipeline:
    cache = CacheInterceptor(**options)
    return PipelineBuilder(clock=clock).use(cache).route(registry).build()


async def test_a_completed_stream_is_replayed_as_a_stream() -> None:
    """The second call gets the same chunks as a new stream, marked a hit; one producer run."""
    clock = FakeClock()
    registry, runs = streamer(["a", {"b": [1]}, 3])
    pipeline = cached(registry, clock)
    first = await pipeline.invoke("words")
    assert first.get(CACHE_HIT) is False
    assert (await first.collect()).value == ["a", {"b": [1]}, 3]
    await clock.advance(2.0)
    hit = await pipeline.invoke("words")
    assert hit.get(CACHE_HIT) is True
    assert (hit.started_at, hit.finished_at) == (1002.0, 1002.0)
    assert hit.stream is not None
    assert hit.stream.target == "words"
    await clock.advance(1.0)
    collected = await hit.collect()
    assert collected.value == ["a", {"b": [1]}, 3]
    assert collected.finished_at == 1003.0  # the replayed stream ends on the pipeline clock
    assert runs == [0]


async def test_an_empty_completed_stream_is_cached() -> None:
    """Zero chunks is a result too."""
    clock = FakeClock()
    registry, runs = streamer([])
    pipeline = cached(registry, clock)
    assert (await (await pipeline.invoke("words")).collect()).value == []
    hit = await pipeline.invoke("words")
    assert hit.get(CACHE_HIT) is True
    assert (await hit.collect()).value == []
    assert runs == [0]


async def test_a_failed_stream_stores_nothing() -> None:
    """A stream that fails after its first chunk: the error reaches the consumer, no entry."""
    clock = FakeClock()
    registry, runs = streamer(["a", "b", "c"], fail_after=2)
    pipeline = cached(registry, clock)
    collected = await (await pipeline.invoke("words")).collect()
    assert collected.error is not None
    assert collected.error.category is ErrorCategory.TOOL_FAILED
    second = await pipeline.invoke("words")
    assert second.get(CACHE_HIT) is False
    await (await pipeline.invoke("words")).collect()
    assert runs == [0, 0, 0]


async def test_a_stream_failing_before_its_first_chunk_is_an_uncached_error() -> None:
    """The call fails as an ordinary error response; the next call runs again."""
    clock = FakeClock()
    registry, runs = streamer(["a"], fail_after=0)
    pipeline = cached(registry, clock)
    for _ in range(2):
        response = await pipeline.invoke("words")
        assert response.error is not None
    assert runs == [0, 0]


async def test_an_abandoned_stream_stores_nothing() -> None:
    """A consumer that stops after one chunk leaves no entry."""
    clock = FakeClock()
    registry, runs = streamer(["a", "b", "c"])
    pipeline = cached(registry, clock)
    response = await pipeline.invoke("words")
    assert response.stream is not None
    async with response.stream as chunks:
        assert await anext(chunks) == "a"
    assert response.stream.outcome is StreamOutcome.ABANDONED
    assert (await pipeline.invoke("words")).get(CACHE_HIT) is False
    assert runs == [0, 0]


@pytest.mark.parametrize(("extra", "stored"), [(0, True), (1, False)])
async def test_streams_are_cached_up_to_the_chunk_bound(extra: int, stored: bool) -> None:
    """MAX_STREAM_CHUNKS chunks are stored; one more and the stream is passed on uncached."""
    clock = FakeClock()
    registry, _ = streamer(list(range(MAX_STREAM_CHUNKS + extra)))
    pipeline = cached(registry, clock)
    collected = await (await pipeline.invoke("words")).collect()
    assert len(collected.value) == MAX_STREAM_CHUNKS + extra
    assert (await pipeline.invoke("words")).get(CACHE_HIT) is stored


async def test_a_chunk_that_does_not_round_trip_leaves_the_stream_uncached(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A tuple chunk: every chunk still reaches the consumer; nothing stored; warned once."""
    clock = FakeClock()
    registry, runs = streamer(["a", (1, 2), "c"])
    pipeline = cached(registry, clock)
    with caplog.at_level(logging.WARNING, logger="toolware.interceptors.cache"):
        for _ in range(2):
            collected = await (await pipeline.invoke("words")).collect()
            assert collected.value == ["a", (1, 2), "c"]
    assert runs == [0, 0]
    assert [r.getMessage().split()[0] for r in caplog.records] == ["cache.value_skipped"]


async def test_a_consumer_mutating_chunks_cannot_change_the_cache() -> None:
    """Chunks are encoded as they pass: mutating one afterwards leaves the record intact."""
    clock = FakeClock()
    registry, _ = streamer([{"n": 1}, {"n": 2}])
    pipeline = cached(registry, clock)
    response = await pipeline.invoke("words")
    assert response.stream is not None
    async for chunk in response.stream:
        chunk["n"] = 0
    assert (await (await pipeline.invoke("words")).collect()).value == [{"n": 1}, {"n": 2}]


async def test_a_stream_read_across_an_invalidate_stores_nothing() -> None:
    """A stream still being read when its target is invalidated is not stored."""
    clock = FakeClock()
    registry, runs = streamer(["a", "b"])
    cache = CacheInterceptor()
    pipeline = PipelineBuilder(clock=clock).use(cache).route(registry).build()
    response = await pipeline.invoke("words")
    await cache.invalidate("words")
    assert (await response.collect()).value == ["a", "b"]
    assert (await pipeline.invoke("words")).get(CACHE_HIT) is False
    assert runs == [0, 0]


async def test_a_stream_invalidated_before_its_answer_stores_nothing() -> None:
    """invalidate() while the streamed call is starting: its stream is not stored."""
    clock = FakeClock()
    registry, runs = LocalRegistry(), []

    @registry.tool(cache=True)
    async def words() -> AsyncIterator[str]:
        runs.append(0)
        await clock.sleep(1.0)
        yield "a"

    cache = CacheInterceptor()
    pipeline = PipelineBuilder(clock=clock).use(cache).route(registry).build()
    task = asyncio.create_task(pipeline.invoke("words"))
    await clock.advance(0.5)
    await cache.invalidate("words")
    await clock.advance(0.5)
    assert (await task.result().collect()).value == ["a"]
    assert isinstance(cache.state, MemoryState)
    assert len(cache.state.cache) == 0
    assert runs == [0]


async def test_concurrent_streamed_misses_each_run() -> None:
    """Streamed misses are not single-flight: two concurrent calls run the producer twice."""
    clock = FakeClock()
    registry, runs = LocalRegistry(), []

    @registry.tool(cache=True)
    async def words() -> AsyncIterator[str]:
        runs.append(0)
        await clock.sleep(1.0)
        yield "a"

    pipeline = cached(registry, clock)
    tasks = [asyncio.create_task(pipeline.invoke("words")) for _ in range(2)]
    await clock.advance(1.0)
    assert runs == [0, 0]
    for task in tasks:
        assert (await task.result().collect()).value == ["a"]


async def test_a_store_failing_at_the_end_of_a_stream_does_not_fail_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The stream completes for its consumer; the failed set is logged."""
    clock = FakeClock()
    registry, _ = streamer(["a"])
    pipeline = cached(registry, clock, state=BrokenStore({"set"}))
    with caplog.at_level(logging.WARNING, logger="toolware.interceptors.cache"):
        response = await pipeline.invoke("words")
        collected = await response.collect()
    assert collected.value == ["a"]
    assert caplog.records[0].getMessage().startswith("cache.store_failed operation=set")


async def test_a_streaming_entry_answering_with_a_plain_value_caches_it() -> None:
    """A plain success from a streaming entry (an inner stage answered it) is cached as a value."""
    clock = FakeClock()
    registry, _ = streamer(["a"])
    answered: list[int] = []

    async def plain(request: RequestContext, call_next: CallNext) -> ResponseContext:
        answered.append(1)
        return ResponseContext.success(["whole"])

    cache = CacheInterceptor()
    pipeline = PipelineBuilder(clock=clock).use(cache).use(plain).route(registry).build()
    await pipeline.invoke("words")
    hit = await pipeline.invoke("words")
    assert hit.get(CACHE_HIT) is True
    assert hit.stream is None
    assert hit.value == ["whole"]
    assert answered == [1]
