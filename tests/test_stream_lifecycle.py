"""Lifecycle guarantees of streamed responses: closed exactly once however the consumer leaves
(aclose, async with, cancellation, garbage collection), no leaked tasks, threads or memory, and
WorkerPool.start, which closes sync generators without blocking the loop."""

import asyncio
import gc
import os
import threading
import time
import tracemalloc
from collections.abc import AsyncIterator, Callable, Iterator

import pytest

from toolware import LocalRegistry, RequestContext, Router
from toolware._workers import WorkerPool
from toolware.streams import ResponseStream, StreamEnd, StreamOutcome
from toolware.testing import settle


def request(target: str, arguments: dict[str, object] | None = None) -> RequestContext:
    return RequestContext.create(target, arguments, id="req-1")


async def wait_for(condition: Callable[[], bool], rounds: int = 400) -> None:
    """Poll ``condition()`` (work finishing on a worker thread) in short real sleeps, bounded."""
    for _ in range(rounds):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("the condition never became true")


async def open_stream(router: Router, target: str, **arguments: object) -> ResponseStream:
    response = await router(request(target, dict(arguments)))
    assert response.error is None, response.error
    assert response.stream is not None
    return response.stream


class Counted:
    """A registry whose tools count how often their ``finally`` ran, and where."""

    def __init__(self) -> None:
        self.registry = LocalRegistry()
        self.finished = 0
        self.threads: list[threading.Thread] = []
        self.lock = threading.Lock()
        self.release = threading.Event()
        self.stepping = threading.Event()
        registry = self.registry

        @registry.tool
        async def chunks(n: int = 3) -> AsyncIterator[int]:
            try:
                for i in range(n):
                    yield i
            finally:
                self.finished += 1

        @registry.tool(read_ahead=2)
        async def ahead(n: int = 6) -> AsyncIterator[int]:
            try:
                for i in range(n):
                    yield i
            finally:
                self.finished += 1

        @registry.tool
        def sync_chunks(n: int = 3) -> Iterator[int]:
            try:
                yield from range(n)
            finally:
                with self.lock:
                    self.finished += 1
                    self.threads.append(threading.current_thread())

        @registry.tool
        def blocking() -> Iterator[str]:
            try:
                yield "first"
                self.stepping.set()
                self.release.wait(5.0)
                yield "second"
            finally:
                with self.lock:
                    self.finished += 1
                    self.threads.append(threading.current_thread())

        @registry.tool
        def plain() -> str:
            return threading.current_thread().name


@pytest.fixture
def counted() -> Counted:
    return Counted()


@pytest.fixture
def router(counted: Counted) -> Iterator[Router]:
    router = Router(counted.registry)
    yield router
    router.close()


# -- closing ---------------------------------------------------------------------------------


async def test_break_then_aclose_runs_the_finally_and_is_abandoned(
    counted: Counted, router: Router
) -> None:
    stream = await open_stream(router, "chunks")
    async for chunk in stream:
        assert chunk == 0
        break
    assert counted.finished == 0  # a break alone does not close an iterator
    await stream.aclose()
    assert counted.finished == 1
    assert stream.outcome is StreamOutcome.ABANDONED
    assert stream.chunks == 1
    assert stream.done is True
    await stream.aclose()  # closing twice is a no-op
    assert counted.finished == 1
    assert stream.outcome is StreamOutcome.ABANDONED
    assert [chunk async for chunk in stream] == []


async def test_async_with_closes_the_stream(counted: Counted, router: Router) -> None:
    stream = await open_stream(router, "chunks")
    async with stream as chunks:
        assert chunks is stream
        assert await anext(chunks) == 0
    assert counted.finished == 1
    assert stream.outcome is StreamOutcome.ABANDONED


async def test_async_with_after_completion_keeps_it_completed(
    counted: Counted, router: Router
) -> None:
    stream = await open_stream(router, "chunks")
    async with stream as chunks:
        assert [chunk async for chunk in chunks] == [0, 1, 2]
    assert counted.finished == 1
    assert stream.outcome is StreamOutcome.COMPLETED


async def test_a_stream_closed_unread_yields_nothing(counted: Counted, router: Router) -> None:
    """The first chunk, read as the call was made, is not delivered after aclose()."""
    for target in ("chunks", "sync_chunks"):
        stream = await open_stream(router, target)
        await stream.aclose()
        assert [chunk async for chunk in stream] == []
        assert stream.chunks == 0
        assert stream.outcome is StreamOutcome.ABANDONED
    assert counted.finished == 2


async def test_aclose_of_a_sync_stream_runs_its_finally_on_a_worker(
    counted: Counted, router: Router
) -> None:
    stream = await open_stream(router, "sync_chunks")
    assert await anext(stream) == 0
    await stream.aclose()
    assert counted.finished == 1
    assert counted.threads[0] is not threading.current_thread()
    await stream.aclose()
    assert counted.finished == 1


# -- cancellation ----------------------------------------------------------------------------


async def test_cancelling_the_consumer_mid_stream_closes_an_async_generator() -> None:
    registry = LocalRegistry()
    finished: list[str] = []
    waiting = asyncio.Event()

    @registry.tool
    async def slow() -> AsyncIterator[int]:
        try:
            yield 1
            waiting.set()
            await asyncio.Event().wait()
            yield 2  # pragma: no cover - cancelled before
        finally:
            finished.append("finally")

    router = Router(registry)
    baseline = asyncio.all_tasks()
    stream = await open_stream(router, "slow")
    seen: list[int] = []

    async def consume() -> None:
        async for chunk in stream:
            seen.append(chunk)

    task = asyncio.create_task(consume())
    await waiting.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert seen == [1]
    assert finished == ["finally"]
    assert stream.outcome is StreamOutcome.ABANDONED
    assert stream.chunks == 1
    await settle()
    assert asyncio.all_tasks() == baseline
    router.close()


async def test_cancelling_the_consumer_of_a_blocked_sync_generator() -> None:
    """The step cannot be interrupted: the worker closes the generator once it returns, and is
    free for other calls afterwards."""
    counted = Counted()
    router = Router(counted.registry, workers=1)
    baseline = asyncio.all_tasks()
    stream = await open_stream(router, "blocking")
    assert await anext(stream) == "first"
    task = asyncio.create_task(anext(stream))
    await wait_for(counted.stepping.is_set)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert stream.outcome is StreamOutcome.ABANDONED
    assert stream.chunks == 1
    assert counted.finished == 0  # the step is still blocked
    counted.release.set()
    await wait_for(lambda: counted.finished == 1)
    assert counted.threads[0].name == "toolware-worker-0"
    response = await router(request("plain"))  # the only worker is free again
    assert response.value == "toolware-worker-0"
    await stream.aclose()
    assert counted.finished == 1
    await settle()
    assert asyncio.all_tasks() == baseline
    router.close()


async def test_a_blocked_sync_generator_left_by_aclose_is_closed_after_its_step() -> None:
    counted = Counted()
    router = Router(counted.registry, workers=1)
    stream = await open_stream(router, "blocking")
    assert await anext(stream) == "first"
    pulled = asyncio.create_task(anext(stream))
    await wait_for(counted.stepping.is_set)
    pulled.cancel()
    await asyncio.gather(pulled, return_exceptions=True)
    started = time.monotonic()
    await stream.aclose()  # does not wait for the blocked step
    assert time.monotonic() - started < 1.0
    assert counted.finished == 0
    counted.release.set()
    await wait_for(lambda: counted.finished == 1)
    assert (await router(request("plain"))).value == "toolware-worker-0"
    router.close()


# -- garbage collection ----------------------------------------------------------------------


async def test_a_dropped_async_stream_is_closed_by_the_loop(
    counted: Counted, router: Router
) -> None:
    ends: list[StreamEnd] = []
    stream = (await open_stream(router, "chunks")).observe(on_end=ends.append)
    assert await anext(stream) == 0
    del stream
    gc.collect()
    await asyncio.sleep(0)  # observers of a collected stream hear its end at the next turn
    assert [(end.outcome, end.chunks) for end in ends] == [(StreamOutcome.ABANDONED, 1)]
    for _ in range(20):  # the loop's async-generator finalizer schedules aclose()
        if counted.finished:
            break
        await asyncio.sleep(0)
    assert counted.finished == 1


async def test_a_response_dropped_unread_closes_its_stream(
    counted: Counted, router: Router
) -> None:
    baseline = asyncio.all_tasks()
    response = await router(request("chunks"))
    assert response.stream is not None
    del response
    gc.collect()
    await settle()
    assert counted.finished == 1
    assert asyncio.all_tasks() == baseline


async def test_a_dropped_sync_stream_is_closed_on_a_worker(
    counted: Counted, router: Router
) -> None:
    stream = await open_stream(router, "sync_chunks")
    assert await anext(stream) == 0
    del stream
    gc.collect()
    await wait_for(lambda: counted.finished == 1)
    assert counted.threads[0].name.startswith("toolware-worker-")


# -- the leak test (issue #6) ----------------------------------------------------------------


async def abandon(router: Router, target: str, count: int) -> None:
    """``count`` streams left in the three ways a consumer leaves early."""
    for i in range(count):
        stream = await open_stream(router, target)
        way = i % 3
        if way == 0:  # break after one chunk, then drop
            async for _ in stream:
                break
        elif way == 2:
            await stream.aclose()
        # way == 1: never read, dropped
        del stream


# Under mutmut (MUTANT_UNDER_TEST set) every call of a mutated function goes through its
# trampoline, which records calls: the memory measured is then partly mutmut's, not ours, so
# the bound is not checked, and a few hundred streams check the rest (each mutant reruns this).
INSTRUMENTED = bool(os.environ.get("MUTANT_UNDER_TEST"))


async def settle_until(condition: Callable[[], bool], rounds: int = 200) -> None:
    for _ in range(rounds):
        if condition():
            return
        await asyncio.sleep(0)


async def test_ten_thousand_abandoned_streams_leak_nothing() -> None:
    counted = Counted()
    router = Router(counted.registry, workers=2)
    tasks = asyncio.all_tasks()
    threads = threading.active_count()
    batch = 300 if INSTRUMENTED else 10_000  # no memory bound there: fewer streams do

    gc.collect()
    tracemalloc.start()
    try:
        await abandon(router, "chunks", batch)  # warm-up: caches, free lists, the loop's sets
        gc.collect()
        await settle_until(lambda: counted.finished == batch)
        assert counted.finished == batch
        growths = []
        for done in (2 * batch, 3 * batch):  # two measured batches: see the bound below
            gc.collect()
            before = tracemalloc.get_traced_memory()[0]
            await abandon(router, "chunks", batch)
            gc.collect()
            await settle_until(lambda done=done: counted.finished == done)
            gc.collect()
            growths.append(tracemalloc.get_traced_memory()[0] - before)
    finally:
        tracemalloc.stop()
    assert counted.finished == 3 * batch  # every finally ran, and only once
    # Measured: about 0 bytes per stream (a few dozen bytes in all). A leaked stream would keep
    # its generator frame and ResponseStream, several hundred bytes; even one leaked small
    # object per stream (a float and its list slot: 32 bytes; a 1-tuple: 64) reaches this
    # bound of 32 bytes per stream (320 kB for the batch), still far above allocator noise.
    # A leak grows memory in every batch; a one-off allocation during one of them (a tracer
    # recording a new branch, a cache filling) does not, so the smaller growth is checked.
    growth = min(growths)
    assert growth < 32 * batch or INSTRUMENTED, f"{growth / batch:.1f} bytes per abandoned stream"

    await abandon(router, "ahead", 300)  # each with its reader task
    gc.collect()
    await settle_until(lambda: counted.finished == 3 * batch + 300)
    assert counted.finished == 3 * batch + 300

    await abandon(router, "sync_chunks", 500)
    gc.collect()
    await wait_for(lambda: counted.finished == 3 * batch + 800)
    assert threading.active_count() <= threads + router.workers
    assert all(thread.name.startswith("toolware-worker-") for thread in counted.threads)
    assert len(counted.threads) == 500

    await settle()
    assert asyncio.all_tasks() == tasks
    router.close()


async def test_ten_thousand_abandoned_streams_through_the_default_pipeline_leak_nothing() -> None:
    """The same through stats -> timeout -> validation: each stream also has a deadline timer
    and a statistics observer. All are released, and each stream is counted once, abandoned."""
    from toolware import StatsRecorder, default_builder
    from toolware.testing import FakeClock

    counted = Counted()
    clock = FakeClock()
    recorder = StatsRecorder()
    builder = default_builder(counted.registry, clock=clock, recorder=recorder)
    pipeline = builder.route(counted.registry).build()
    tasks = asyncio.all_tasks()
    batch = 300 if INSTRUMENTED else 10_000  # no memory bound there: fewer streams do

    async def abandon_all() -> None:
        for i in range(batch):
            response = await pipeline.invoke("chunks", timeout=30.0)
            stream = response.stream
            assert stream is not None
            del response
            if i % 3 == 0:
                async for _ in stream:
                    break
            elif i % 3 == 2:
                await stream.aclose()
            del stream
        gc.collect()
        await settle_until(lambda: counted.finished % batch == 0 and counted.finished > 0)
        await clock.advance(31.0)  # past every deadline: timers cancelled or not, all gone
        await settle()
        gc.collect()

    gc.collect()
    tracemalloc.start()
    try:
        await abandon_all()  # warm-up
        assert counted.finished == batch
        growths = []
        for _ in range(2):  # the smaller growth of two batches, as in the test above
            before = tracemalloc.get_traced_memory()[0]
            await abandon_all()
            growths.append(tracemalloc.get_traced_memory()[0] - before)
    finally:
        tracemalloc.stop()
    assert counted.finished == 3 * batch
    growth = min(growths)
    assert growth < 32 * batch or INSTRUMENTED, f"{growth / batch:.1f} bytes per abandoned stream"
    chunks = recorder.snapshot().get("chunks")
    assert (chunks.calls, chunks.streams_abandoned, chunks.errors) == (3 * batch, 3 * batch, {})
    assert clock.pending <= 1  # at most the loop's shared watcher timer
    assert asyncio.all_tasks() == tasks
    await pipeline.aclose()


# -- WorkerPool.start ------------------------------------------------------------------------


async def test_start_runs_the_function_on_a_worker_without_waiting() -> None:
    pool = WorkerPool(1)
    release = threading.Event()
    ran: list[str] = []
    done = threading.Event()

    def work() -> None:
        release.wait(5.0)
        ran.append(threading.current_thread().name)
        done.set()

    assert pool.start(work) is True
    assert ran == []  # start() returned while the function waits
    release.set()
    await wait_for(done.is_set)
    assert ran == ["toolware-worker-0"]
    pool.shutdown()


async def test_start_queues_behind_a_busy_worker_when_there_is_room() -> None:
    pool = WorkerPool(1, max_queued=1)
    release = threading.Event()
    order: list[str] = []

    def blocker() -> None:
        release.wait(5.0)
        order.append("blocker")

    running = asyncio.ensure_future(pool.run(blocker, {}))
    await settle(2)
    assert pool.start(lambda: order.append("started")) is True
    release.set()
    await running
    await wait_for(lambda: len(order) == 2)
    assert order == ["blocker", "started"]
    pool.shutdown()


def test_start_without_a_running_loop_refuses() -> None:
    pool = WorkerPool(1)
    ran: list[str] = []
    assert pool.start(lambda: ran.append("ran")) is False
    assert ran == []
    pool.shutdown()


async def test_start_on_a_shut_down_pool_refuses() -> None:
    pool = WorkerPool(1)
    pool.shutdown()
    ran: list[str] = []
    assert pool.start(lambda: ran.append("ran")) is False
    assert ran == []


async def test_start_on_a_saturated_pool_refuses() -> None:
    pool = WorkerPool(1, max_queued=0)
    release = threading.Event()
    ran: list[str] = []
    running = asyncio.ensure_future(pool.run(release.wait, {"timeout": 5.0}))
    await settle(2)
    assert pool.start(lambda: ran.append("ran")) is False
    release.set()
    assert await running is True
    assert ran == []
    pool.shutdown()


async def test_started_function_keeps_its_context_and_its_errors() -> None:
    """What the function raises is its own: the pool and the loop carry on."""
    pool = WorkerPool(1)
    done = threading.Event()

    def failing() -> None:
        done.set()
        raise ValueError("ignored")

    assert pool.start(failing) is True
    await wait_for(done.is_set)
    assert await pool.run(lambda: "still working", {}) == "still working"
    pool.shutdown()
