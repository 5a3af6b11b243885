"""Tests for toolware.interceptors.cache: single-flight misses and explicit invalidation."""

import asyncio
from typing import Any

import pytest

from toolware import (
    CallNext,
    LocalRegistry,
    Pipeline,
    PipelineBuilder,
    Principal,
    RequestContext,
    ResponseContext,
)
from toolware.errors import ErrorCategory, InternalError
from toolware.interceptors.cache import CacheInterceptor
from toolware.markers import CACHE_HIT
from toolware.registry.base import CachePolicy
from toolware.state.memory import MemoryState
from toolware.streams import ResponseStream
from toolware.testing import FakeClock, settle

ALICE = Principal(id="alice")


def slow_tool(
    clock: FakeClock, *, result: Any = None, fail: bool = False, **options: Any
) -> tuple[LocalRegistry, list[Any]]:
    """A registry with 'slow(q)': 1 s on the fake clock, then {"q": q, "n": run} (or raises)."""
    registry, runs = LocalRegistry(), []

    @registry.tool(**({"cache": True} | options))
    async def slow(q: Any = None) -> Any:
        runs.append(q)
        await clock.sleep(1.0)
        if fail:
            raise RuntimeError(f"run {len(runs)} failed")
        return {"q": q, "n": len(runs)} if result is None else result

    return registry, runs


def cached(
    terminal: Any, clock: FakeClock, *inner: Any, **options: Any
) -> tuple[Pipeline, CacheInterceptor]:
    cache = CacheInterceptor(**options)
    builder = PipelineBuilder(clock=clock).use(cache)
    for interceptor in inner:
        builder = builder.use(interceptor)
    return builder.route(terminal).build(), cache


def start(pipeline: Pipeline, n: int, q: Any = 1) -> list[asyncio.Task[ResponseContext]]:
    return [asyncio.create_task(pipeline.invoke("slow", {"q": q})) for _ in range(n)]


async def test_concurrent_identical_misses_make_one_call() -> None:
    """Five concurrent misses: one handler run; the leader answers, four waiters are hits."""
    clock = FakeClock()
    registry, runs = slow_tool(clock)
    pipeline, _ = cached(registry, clock)
    tasks = start(pipeline, 5)
    await clock.advance(0.5)
    await clock.advance(0.5)
    responses = [task.result() for task in tasks]
    assert runs == [1]
    assert [r.unwrap() for r in responses] == [{"q": 1, "n": 1}] * 5
    assert [r.get(CACHE_HIT) for r in responses] == [False, True, True, True, True]
    assert [(r.started_at, r.finished_at) for r in responses[1:]] == [(1000.0, 1001.0)] * 4
    values = [r.value for r in responses]
    assert len({id(value) for value in values}) == 5  # each caller its own copy


async def test_different_keys_do_not_wait_for_each_other() -> None:
    """Concurrent misses of two keys make two calls."""
    clock = FakeClock()
    registry, runs = slow_tool(clock)
    pipeline, _ = cached(registry, clock)
    tasks = start(pipeline, 2, q=1) + start(pipeline, 2, q=2)
    await clock.advance(1.0)
    assert sorted(runs) == [1, 2]
    assert [task.result().unwrap()["q"] for task in tasks] == [1, 1, 2, 2]


async def test_a_leader_failure_is_shared_with_its_waiters() -> None:
    """The leader's error answers every waiter (one run), each bound to its own call."""
    clock = FakeClock()
    registry, runs = slow_tool(clock, fail=True)
    pipeline, cache = cached(registry, clock)
    tasks = start(pipeline, 3)
    await clock.advance(1.0)
    errors = [task.result().error for task in tasks]
    assert runs == [1]
    assert [e.category for e in errors if e is not None] == [ErrorCategory.TOOL_FAILED] * 3
    assert all("run 1 failed" in e.message for e in errors if e is not None)
    assert len({e.request_id for e in errors if e is not None}) == 3
    assert [task.result().get(CACHE_HIT) for task in tasks] == [False] * 3
    assert isinstance(cache.state, MemoryState)
    assert len(cache.state.cache) == 0


async def test_a_cancelled_leader_hands_the_call_to_a_waiter() -> None:
    """Cancelling the leader cancels no waiter: the first one leads, the other waits on it."""
    clock = FakeClock()
    registry, runs = slow_tool(clock)
    pipeline, _ = cached(registry, clock)
    leader, *waiters = start(pipeline, 3)
    await clock.advance(0.5)
    leader.cancel()
    await settle()
    assert leader.cancelled()
    assert runs == [1, 1]
    assert not any(task.done() for task in waiters)
    await clock.advance(1.0)
    responses = [task.result() for task in waiters]
    assert runs == [1, 1]
    assert [r.unwrap()["n"] for r in responses] == [2, 2]
    assert [r.get(CACHE_HIT) for r in responses] == [False, True]
    assert responses[1].started_at == 1000.0


async def test_a_cancelled_waiter_does_not_disturb_the_others() -> None:
    """A waiter that is cancelled stops waiting; leader and other waiters finish normally."""
    clock = FakeClock()
    registry, runs = slow_tool(clock)
    pipeline, _ = cached(registry, clock)
    leader, gone, waiter = start(pipeline, 3)
    await clock.advance(0.5)
    gone.cancel()
    await clock.advance(0.5)
    assert gone.cancelled()
    assert leader.result().unwrap() == waiter.result().unwrap() == {"q": 1, "n": 1}
    assert runs == [1]


async def test_a_leader_whose_inner_code_raised_hands_the_call_on() -> None:
    """The leader's call_next raised (a broken inner interceptor): it fails as internal,
    and a waiter makes the call itself."""
    clock = FakeClock()
    registry, runs = slow_tool(clock)
    raised: list[bool] = []

    async def broken_once(request: RequestContext, call_next: CallNext) -> ResponseContext:
        if not raised:
            raised.append(True)
            await clock.sleep(1.0)
            raise ValueError("inner bug")
        return await call_next(request)

    pipeline, _ = cached(registry, clock, broken_once)
    leader, waiter = start(pipeline, 2)
    await clock.advance(1.0)
    assert isinstance(leader.result().error, InternalError)
    assert not waiter.done()
    await clock.advance(1.0)
    assert waiter.result().unwrap() == {"q": 1, "n": 1}
    assert runs == [1]


async def test_a_value_that_cannot_be_copied_is_shared_as_it_is() -> None:
    """A tuple is not cached, but the waiters still get the leader's answer (one run)."""
    clock = FakeClock()
    registry, runs = slow_tool(clock, result=(1, 2))
    pipeline, _ = cached(registry, clock)
    leader, waiter = start(pipeline, 2)
    await clock.advance(1.0)
    assert leader.result() is waiter.result()
    assert runs == [1]


async def test_a_stream_answer_is_not_shared_waiters_call_in_turn() -> None:
    """A plain entry answered with a stream (by an inner interceptor): each call gets a stream
    of its own, and the completed stream is cached for later calls."""
    clock = FakeClock()
    registry, runs = slow_tool(clock)
    made: list[int] = []

    async def as_stream(request: RequestContext, call_next: CallNext) -> ResponseContext:
        made.append(1)
        await clock.sleep(1.0)
        return ResponseContext(stream=ResponseStream.of(["a", "b"]))

    pipeline, _ = cached(registry, clock, as_stream)
    first, second = start(pipeline, 2)
    await settle()
    assert len(made) == 1
    await clock.advance(1.0)
    assert first.done()
    assert not second.done()  # it began its own call when the first ended
    assert len(made) == 2
    await clock.advance(1.0)
    for task in (first, second):
        assert (await task.result().collect()).value == ["a", "b"]
    hit = await pipeline.invoke("slow", {"q": 1})
    assert hit.get(CACHE_HIT) is True
    assert hit.stream is not None
    assert (await hit.collect()).value == ["a", "b"]
    assert len(made) == 2
    assert runs == []


async def test_invalidate_all_entries_of_a_target() -> None:
    """invalidate(target) drops every argument set and principal; it returns how many."""
    clock = FakeClock()
    registry, runs = slow_tool(clock, cache=CachePolicy(ttl=100))
    pipeline, cache = cached(registry, clock)
    for q, who in ((1, None), (2, None), (1, ALICE)):
        task = asyncio.create_task(pipeline.invoke("slow", {"q": q}, principal=who))
        await clock.advance(1.0)
        assert task.result().ok
    assert await cache.invalidate("slow") == 3
    assert await cache.invalidate("slow") == 0
    task = asyncio.create_task(pipeline.invoke("slow", {"q": 1}))
    await clock.advance(1.0)
    assert task.result().get(CACHE_HIT) is False
    assert runs == [1, 2, 1, 1]


async def test_invalidate_a_plugin_drops_all_its_actions() -> None:
    """invalidate('notes') drops notes.a and notes.b; invalidate('notes.a') only notes.a."""
    clock, registry = FakeClock(), LocalRegistry()

    class Notes:
        async def a(self) -> str:
            return "a"

        async def b(self) -> str:
            return "b"

    registry.plugin(Notes, cache=True)
    pipeline, cache = cached(registry, clock)
    await pipeline.invoke("notes.a")
    await pipeline.invoke("notes.b")
    assert await cache.invalidate("notes.a") == 1
    assert await cache.invalidate("notes") == 1
    await pipeline.invoke("notes.a")
    await pipeline.invoke("notes.b")
    assert await cache.invalidate("notes") == 2


async def test_invalidate_one_entry_by_arguments_and_principal() -> None:
    """With arguments, only that call's entry goes (for the given principal)."""
    clock, registry = FakeClock(), LocalRegistry()
    runs: list[int] = []

    @registry.tool(cache=True, version="7")
    async def fetch(q: int) -> int:
        runs.append(q)
        return q

    pipeline, cache = cached(registry, clock)
    for q, who in ((1, None), (2, None), (1, ALICE)):
        await pipeline.invoke("fetch", {"q": q}, principal=who)
    assert await cache.invalidate("fetch", {"q": 1}, principal=ALICE) == 1
    assert await cache.invalidate("fetch", {"q": 1}, principal=ALICE) == 0
    assert await cache.invalidate("fetch", {"q": 1}) == 1
    assert await cache.invalidate("fetch", {"q": 3}) == 0
    assert await cache.invalidate("fetch", {"q": b"x"}) == 0  # no key, nothing cached
    assert (await pipeline.invoke("fetch", {"q": 2})).get(CACHE_HIT) is True
    assert (await pipeline.invoke("fetch", {"q": 1})).get(CACHE_HIT) is False


async def test_invalidate_one_shared_entry() -> None:
    """For a shared entry the principal does not matter."""
    clock, registry = FakeClock(), LocalRegistry()

    @registry.tool(cache=CachePolicy(scope="shared"))
    async def fetch(q: int) -> int:
        return q

    pipeline, cache = cached(registry, clock)
    await pipeline.invoke("fetch", {"q": 1}, principal=ALICE)
    assert await cache.invalidate("fetch", {"q": 1}) == 1


async def test_invalidate_a_target_this_interceptor_never_cached() -> None:
    """Another process filled the store: version '0' by default or version=, both scopes."""
    clock, state = FakeClock(), MemoryState()
    shared, private = LocalRegistry(), LocalRegistry()

    @shared.tool(cache=CachePolicy(scope="shared"), version="2")
    async def fetch(q: int) -> int:
        return q

    @private.tool(name="fetch", cache=True)
    async def fetch_private(q: int) -> int:
        return q

    for registry in (shared, private):
        pipeline, _ = cached(registry, clock, state=state)
        await pipeline.invoke("fetch", {"q": 1})
    fresh = CacheInterceptor(state=state)
    assert await fresh.invalidate("fetch", {"q": 1}) == 1  # version "0", the principal one
    assert await fresh.invalidate("fetch", {"q": 1}) == 0
    assert await fresh.invalidate("fetch", {"q": 1}, version="2") == 1  # the shared one
    assert len(state.cache) == 0


async def test_invalidate_one_entry_uses_the_scope_last_seen() -> None:
    """The entry turned from shared to per principal: only the scope seen last is dropped."""
    clock, state = FakeClock(), MemoryState()
    shared, private = LocalRegistry(), LocalRegistry()

    @shared.tool(cache=CachePolicy(scope="shared"))
    async def fetch(q: int) -> int:
        return q

    @private.tool(name="fetch", cache=True)
    async def fetch_private(q: int) -> int:
        return q

    for registry in (shared, private):
        pipeline, cache = cached(registry, clock, state=state)
        await pipeline.invoke("fetch", {"q": 1})
    assert len(state.cache) == 2
    assert await cache.invalidate("fetch", {"q": 1}) == 1
    assert len(state.cache) == 1
    assert await CacheInterceptor(state=state).invalidate("fetch", {"q": 1}) == 1


async def test_a_call_in_flight_during_invalidate_stores_nothing() -> None:
    """A result begun before invalidate() is answered but not stored (it may be stale)."""
    clock = FakeClock()
    registry, runs = slow_tool(clock)
    pipeline, cache = cached(registry, clock)
    leader, waiter = start(pipeline, 2)
    await clock.advance(0.5)
    assert await cache.invalidate("slow") == 0
    await clock.advance(0.5)
    assert leader.result().unwrap() == waiter.result().unwrap() == {"q": 1, "n": 1}
    assert isinstance(cache.state, MemoryState)
    assert len(cache.state.cache) == 0
    task = asyncio.create_task(pipeline.invoke("slow", {"q": 1}))
    await clock.advance(1.0)
    assert task.result().get(CACHE_HIT) is False
    assert (await pipeline.invoke("slow", {"q": 1})).get(CACHE_HIT) is True
    assert runs == [1, 1]


@pytest.mark.parametrize("target", ["", None, 3])
async def test_invalidate_refuses_a_target_that_is_not_a_name(target: Any) -> None:
    """The target must be a non-empty string."""
    with pytest.raises(ValueError, match=r"^target must be an entry's qualified name, got"):
        await CacheInterceptor().invalidate(target)
