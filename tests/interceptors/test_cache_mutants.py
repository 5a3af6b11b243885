"""Tests for toolware.interceptors.cache pinned by mutation testing: exact log records,
repeated invalidations, and both scopes dropped at once."""

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.interceptors.test_cache import BrokenStore, cached, counting
from toolware import (
    CallNext,
    LocalRegistry,
    PipelineBuilder,
    RequestContext,
    ResponseContext,
)
from toolware.interceptors._cache_keys import cache_key
from toolware.interceptors.cache import CacheInterceptor
from toolware.markers import CACHE_HIT
from toolware.state.memory import MemoryState
from toolware.testing import FakeClock

LOGGER = "toolware.interceptors.cache"


async def test_key_failed_record_names_the_target_and_request(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """cache.key_failed: exact message with target and request id, same fields in extra."""
    clock, registry = FakeClock(), LocalRegistry()
    seen: list[str] = []

    @registry.tool(cache=True)
    async def lookup(ctx: RequestContext, q: Any = None) -> int:
        seen.append(ctx.id)
        return 1

    pipeline, _ = cached(registry, clock)
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        response = await pipeline.invoke("lookup", {"q": b"x"})
    assert response.ok
    [record] = caplog.records
    [request_id] = seen
    assert record.getMessage() == (
        f"cache.key_failed target=lookup request_id={request_id}: arguments with no exact JSON form"
    )
    assert record.__dict__["target"] == "lookup"
    assert record.__dict__["request_id"] == request_id


async def test_value_skipped_record_says_why_and_how_to_fix(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """cache.value_skipped for a plain value: exact message, reason and target in extra."""
    clock, registry = FakeClock(), LocalRegistry()

    @registry.tool(cache=True)
    async def odd() -> Any:
        return (1, 2)

    pipeline, _ = cached(registry, clock)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        await pipeline.invoke("odd")
    [record] = caplog.records
    reason = "the value does not round-trip through msgpack"
    assert record.getMessage() == (
        f"cache.value_skipped target=odd reason={reason}: results of this target are not "
        "cached; return JSON-like data (dicts, lists, str, numbers) to cache them"
    )
    assert record.__dict__["target"] == "odd"
    assert record.__dict__["reason"] == reason


async def test_value_skipped_for_a_stream_names_the_chunk_reason(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A stream with a chunk that does not round-trip: the record names target and reason."""
    clock, registry = FakeClock(), LocalRegistry()

    @registry.tool(cache=True)
    async def words() -> AsyncIterator[Any]:
        yield "a"
        yield (1, 2)

    pipeline, _ = cached(registry, clock)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        await (await pipeline.invoke("words")).collect()
    [record] = caplog.records
    reason = "a chunk does not round-trip, or too many chunks"
    assert record.getMessage().startswith(f"cache.value_skipped target=words reason={reason}: ")
    assert record.__dict__["target"] == "words"
    assert record.__dict__["reason"] == reason


async def test_store_failed_record_carries_operation_target_and_store(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """cache.store_failed: exact message, and operation, target and store in extra."""
    clock, registry = FakeClock(), LocalRegistry()
    counting(registry, cache=True)
    pipeline, _ = cached(registry, clock, state=BrokenStore({"get"}))
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        await pipeline.invoke("lookup", {"q": 1})
    [record] = caplog.records
    assert record.getMessage() == (
        "cache.store_failed operation=get target=lookup store=memory error=ConnectionError: "
        "answered as a miss"
    )
    assert {k: record.__dict__[k] for k in ("operation", "target", "store")} == {
        "operation": "get",
        "target": "lookup",
        "store": "memory",
    }


async def test_a_second_invalidate_also_stops_calls_begun_after_the_first() -> None:
    """Each invalidate() is a new generation: a call begun between two invalidations of its
    target is answered but not stored."""
    clock, registry = FakeClock(), LocalRegistry()
    runs: list[int] = []

    @registry.tool(cache=True)
    async def slow() -> int:
        runs.append(1)
        await clock.sleep(1.0)
        return len(runs)

    pipeline, cache = cached(registry, clock)
    assert await cache.invalidate("slow") == 0
    task = asyncio.create_task(pipeline.invoke("slow"))
    await clock.advance(0.5)
    assert await cache.invalidate("slow") == 0
    await clock.advance(0.5)
    assert task.result().unwrap() == 1
    assert isinstance(cache.state, MemoryState)
    assert len(cache.state.cache) == 0


async def test_invalidate_with_arguments_counts_both_scopes_dropped() -> None:
    """A target never cached here: its principal and shared entries (version "0") are both
    dropped and counted: 2."""
    clock, state = FakeClock(), MemoryState()
    for scope in (None, False):
        key = cache_key("fetch", "0", scope, {"q": 1})
        assert key is not None
        await state.cache_set(key, b"v\x01", 60.0, clock.monotonic())
    assert await CacheInterceptor(state=state).invalidate("fetch", {"q": 1}) == 2
    assert len(state.cache) == 0


async def test_an_empty_record_is_a_miss_answered_normally(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Empty bytes under the key: logged as a bad record (exact fields), the call answered
    by the tool."""
    clock, registry = FakeClock(), LocalRegistry()
    counting(registry, cache=True)
    state = MemoryState()
    key = cache_key("lookup", "0", None, {"q": 1})
    assert key is not None
    await state.cache_set(key, b"", 60.0, clock.monotonic())
    pipeline, _ = cached(registry, clock, state=state)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        response = await pipeline.invoke("lookup", {"q": 1})
    assert response.unwrap() == {"q": 1, "n": 1}
    [record] = caplog.records
    assert record.getMessage() == (
        "cache.store_failed operation=decode target=lookup store=memory error=ValueError: "
        "answered as a miss"
    )


async def test_a_replayed_stream_belongs_to_the_hit_request() -> None:
    """A stream hit carries the hitting request's id and target, as a fresh stream would."""
    clock, registry = FakeClock(), LocalRegistry()
    ids: list[str] = []

    @registry.tool(cache=True)
    async def words() -> AsyncIterator[str]:
        yield "a"

    async def spy(request: RequestContext, call_next: CallNext) -> ResponseContext:
        ids.append(request.id)
        return await call_next(request)

    cache = CacheInterceptor()
    pipeline = PipelineBuilder(clock=clock).use(spy).use(cache).route(registry).build()
    first = await pipeline.invoke("words")
    assert first.stream is not None
    assert first.stream.name == "cache"  # the recording layer is named after the stage
    await first.collect()
    hit = await pipeline.invoke("words")
    assert hit.get(CACHE_HIT) is True
    assert hit.stream is not None
    assert (hit.stream.request_id, hit.stream.target) == (ids[1], "words")


def test_the_private_store_holds_10000_entries_by_default() -> None:
    """max_entries defaults to 10,000: the private MemoryState's cache bound."""
    cache = CacheInterceptor()
    assert isinstance(cache.state, MemoryState)
    assert cache.state.cache.max_entries == 10_000


def test_an_explicit_clock_is_kept_and_a_different_one_refused_exactly() -> None:
    """clock= is the interceptor's clock; binding another names both and the fix."""
    mine, theirs = FakeClock(), FakeClock()
    cache = CacheInterceptor(clock=mine)
    assert cache.clock is mine
    cache.bind_clock(mine)
    with pytest.raises(ValueError, match=r"^CacheInterceptor was given clock") as refused:
        cache.bind_clock(theirs)
    assert str(refused.value) == (
        f"CacheInterceptor was given clock {mine!r}, but its pipeline uses {theirs!r}; "
        "entries would expire on another timeline: pass the same clock to "
        "PipelineBuilder(clock=...) or leave the interceptor's clock unset"
    )
