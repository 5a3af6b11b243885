"""Interactions between the resilience stages (and with threads, loops and floods), each on a
real pipeline: bugs found in review are pinned here with the checklist of issue #7."""

from __future__ import annotations

import asyncio
import threading

from toolware import LocalRegistry, PipelineBuilder, RequestContext, ResponseContext
from toolware.interceptors.cache import CacheInterceptor
from toolware.interceptors.concurrency_limit import ConcurrencyLimitInterceptor


def test_cache_single_flight_across_two_event_loops_never_strands_a_waiter() -> None:
    """One cached pipeline called from two threads (two loops) at once: the second call does
    not wait on a flight led by the other loop (whose wake-up could never reach it); it makes
    its own call, and both answer as soon as the handler returns."""
    registry = LocalRegistry()
    entered, release = threading.Event(), threading.Event()
    runs: list[int] = []

    @registry.tool(cache=True)
    async def lookup(x: int) -> int:
        runs.append(x)
        entered.set()
        await asyncio.get_running_loop().run_in_executor(None, release.wait, 5.0)
        return x * 2

    cache = CacheInterceptor()
    pipeline = PipelineBuilder().use(cache).route(registry).build()
    results: dict[str, object] = {}

    def first() -> None:
        results["first"] = asyncio.run(pipeline.invoke("lookup", {"x": 21})).value

    def second() -> None:
        async def go() -> object:
            entered.wait(5.0)
            call = asyncio.ensure_future(pipeline.invoke("lookup", {"x": 21}))
            for _ in range(20):  # let the call reach the cache (no I/O before it)
                await asyncio.sleep(0)
            loop = asyncio.get_running_loop()
            released = loop.time()
            release.set()
            await asyncio.wait({call}, timeout=2.0)
            # Only measured, never slept on: a stranded waiter wakes with the 2 s timer.
            if loop.time() - released >= 1.0:
                return "stranded"
            return call.result().value

        results["second"] = asyncio.run(go())

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10.0)
    assert results == {"first": 42, "second": 42}
    assert cache._flights == {}


def test_a_bulkhead_slot_freed_on_one_loop_reaches_a_waiter_on_another() -> None:
    """One concurrency limit (limit 1, one waiter) shared by two threads: when the call on
    the first loop ends, the waiter on the second loop gets the slot at once (its future was
    resolved from a foreign thread, which never woke its loop: it waited out its 2 s)."""
    entered, release = threading.Event(), threading.Event()
    limiter = ConcurrencyLimitInterceptor(limit=1, max_waiting=1, wait_timeout=2.0)

    async def handler(request: RequestContext) -> ResponseContext:
        if request.arguments["who"] == "first":
            entered.set()
            await asyncio.get_running_loop().run_in_executor(None, release.wait, 5.0)
        return ResponseContext.success(request.arguments["who"])

    pipeline = PipelineBuilder().use(limiter).route(handler).build()
    results: dict[str, object] = {}

    def first() -> None:
        results["first"] = asyncio.run(pipeline.invoke("t", {"who": "first"})).value

    def second() -> None:
        async def go() -> object:
            entered.wait(5.0)
            call = asyncio.ensure_future(pipeline.invoke("t", {"who": "second"}))
            for _ in range(20):  # no I/O before the queue: a few turns at most
                await asyncio.sleep(0)
            assert limiter.waiting("t") == 1
            loop = asyncio.get_running_loop()
            released = loop.time()
            release.set()
            response = await call
            # Only measured, never slept on: a stranded waiter wakes with its 2 s timer.
            return "stranded" if loop.time() - released >= 1.0 else response.value

        results["second"] = asyncio.run(go())

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10.0)
    assert results == {"first": "first", "second": "second"}
    assert (limiter.keys, limiter.waiting("t")) == (0, 0)


async def test_a_slot_on_its_way_to_a_waiter_that_left_is_passed_on() -> None:
    """A slot sent to a waiter on another loop whose wait ended meanwhile is released, not
    lost: the next call gets it."""
    limiter = ConcurrencyLimitInterceptor(limit=1)
    future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
    future.cancel()
    limiter._counts["t"] = 1
    limiter._hand_over("t", future)
    assert limiter.keys == 0
