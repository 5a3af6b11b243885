"""Tests for toolware._workers: the pool that runs synchronous handlers on threads."""

from __future__ import annotations

import asyncio
import contextvars
import gc
import threading
import weakref
from collections.abc import Iterator

import pytest

from toolware import (
    CallTimeoutError,
    ErrorCategory,
    LocalRegistry,
    PipelineBuilder,
    RequestContext,
    ResponseContext,
    TimeoutInterceptor,
    UnavailableError,
    _workers,
)
from toolware._workers import DEFAULT_MAX_QUEUED, WorkerPool, take_not_started
from toolware.testing import FakeClock
from toolware.types import CallNext

TENANT: contextvars.ContextVar[str] = contextvars.ContextVar("tenant", default="none")


class Blocker:
    """A sync function that holds its worker until released; ``started`` counts entries."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.entered = threading.Semaphore(0)

    def __call__(self, **_: object) -> str:
        self.entered.release()
        self.release.wait(10)
        return "released"

    async def wait_started(self, count: int = 1) -> None:
        for _ in range(count):
            assert await asyncio.to_thread(self.entered.acquire, True, 10)


@pytest.fixture
def blocker() -> Iterator[Blocker]:
    blocker = Blocker()
    yield blocker
    blocker.release.set()


@pytest.fixture
def pool() -> Iterator[WorkerPool]:
    pool = WorkerPool(1, max_queued=2)
    yield pool
    pool.shutdown(wait=False)


def negate(x: int) -> int:
    return -x


def parse(x: str) -> int:
    return int(x)


class Payload:
    """An argument whose lifetime the tests follow with a weakref."""


async def queued(pool: WorkerPool, count: int) -> None:
    """Let freshly created tasks reach the queue (submission happens before their first await)."""
    for _ in range(count + 1):
        await asyncio.sleep(0)
    assert len(pool._core._queue) == count


async def test_returns_the_value_and_sees_the_callers_context_vars() -> None:
    """The function runs on another thread with the caller's ContextVar values."""
    pool = WorkerPool(2)
    token = TENANT.set("acme")
    try:
        seen = await pool.run(lambda suffix: TENANT.get() + suffix, {"suffix": "!"})
    finally:
        TENANT.reset(token)
    assert seen == "acme!"
    assert await pool.run(threading.get_ident, {}) != threading.get_ident()
    pool.shutdown(wait=True)


async def test_a_full_queue_refuses_at_once(pool: WorkerPool, blocker: Blocker) -> None:
    """With the worker stuck and max_queued calls waiting, the next call is unavailable."""
    running = asyncio.create_task(pool.run(blocker, {}))
    await blocker.wait_started()
    waiting = [asyncio.create_task(pool.run(blocker, {})) for _ in range(2)]
    await queued(pool, 2)
    with pytest.raises(UnavailableError) as caught:
        await pool.run(blocker, {})
    error = caught.value
    assert error.message == (
        "no worker free: all 1 workers busy and 2 calls queued; "
        "raise workers= / max_queued= or make the tool async"
    )
    assert error.retryable is True
    assert error.category is ErrorCategory.UNAVAILABLE
    blocker.release.set()
    assert await asyncio.gather(running, *waiting) == ["released"] * 3


async def test_max_queued_zero_refuses_whenever_every_worker_is_busy(blocker: Blocker) -> None:
    """max_queued=0: no waiting at all."""
    pool = WorkerPool(1, max_queued=0)
    running = asyncio.create_task(pool.run(blocker, {}))
    await blocker.wait_started()
    with pytest.raises(UnavailableError, match="all 1 workers busy and 0 calls queued"):
        await pool.run(blocker, {})
    blocker.release.set()
    await running
    pool.shutdown(wait=True)


async def test_unbounded_queue_when_asked(blocker: Blocker) -> None:
    """max_queued=None never refuses."""
    pool = WorkerPool(1, max_queued=None)
    tasks = [asyncio.create_task(pool.run(blocker, {})) for _ in range(DEFAULT_MAX_QUEUED + 2)]
    await blocker.wait_started()
    await queued(pool, DEFAULT_MAX_QUEUED + 1)
    blocker.release.set()
    assert len(await asyncio.gather(*tasks)) == DEFAULT_MAX_QUEUED + 2
    pool.shutdown(wait=True)


async def test_giving_up_unqueues_the_call_and_frees_its_arguments(blocker: Blocker) -> None:
    """A cancelled queued call leaves the queue at once, with its arguments; it never runs."""
    clock = FakeClock()
    pool = WorkerPool(1, max_queued=4, clock=clock)
    running = asyncio.create_task(pool.run(blocker, {}))
    await blocker.wait_started()
    payload = Payload()
    alive = weakref.ref(payload)
    ran: list[object] = []
    waiting = asyncio.create_task(pool.run(ran.append, {"object": payload}))
    other = asyncio.create_task(pool.run(blocker, {}))
    del payload
    await queued(pool, 2)
    clock.advance_now(0.25)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert alive() is None
    assert len(pool._core._queue) == 1
    blocker.release.set()
    assert await asyncio.gather(running, other) == ["released", "released"]
    assert ran == []
    pool.shutdown(wait=True)


async def test_take_not_started_describes_a_call_that_never_started(blocker: Blocker) -> None:
    """The reason is left in the caller's context by run(), read once, then cleared."""
    clock = FakeClock()
    pool = WorkerPool(1, clock=clock)
    running = asyncio.create_task(pool.run(blocker, {}))
    await blocker.wait_started()
    reasons: list[str | None] = []

    async def caller() -> None:
        try:
            await pool.run(blocker, {})
        except asyncio.CancelledError:
            reasons.extend([take_not_started(), take_not_started()])

    task = asyncio.create_task(caller())
    await queued(pool, 1)
    clock.advance_now(0.2)
    task.cancel()
    await task
    assert reasons == ["all 1 workers busy, 1 calls queued; waited 0.200s for a worker", None]
    blocker.release.set()
    await running
    pool.shutdown(wait=True)


async def test_take_not_started_is_none_for_a_call_that_was_running(blocker: Blocker) -> None:
    """Cancelling a call a worker already runs leaves no reason: it did start."""
    pool = WorkerPool(1)
    seen: list[str | None] = []

    async def caller() -> None:
        try:
            await pool.run(blocker, {})
        except asyncio.CancelledError:
            seen.append(take_not_started())

    task = asyncio.create_task(caller())
    await blocker.wait_started()
    task.cancel()
    await task
    assert seen == [None]
    blocker.release.set()
    pool.shutdown(wait=True)


async def test_a_stale_reason_does_not_outlive_the_next_call(blocker: Blocker) -> None:
    """A reason nobody read is cleared by the next run() in the same task."""
    pool = WorkerPool(1)
    running = asyncio.create_task(pool.run(blocker, {}))
    await blocker.wait_started()
    loop = asyncio.get_running_loop()
    with pytest.raises(TimeoutError):
        async with asyncio.timeout_at(loop.time()):  # same task: run() sets the reason here
            await pool.run(blocker, {})
    blocker.release.set()
    assert await pool.run(parse, {"x": "1"}) == 1
    assert take_not_started() is None
    await running
    pool.shutdown(wait=True)


async def test_the_timeout_interceptor_says_a_queued_call_never_started(
    blocker: Blocker,
) -> None:
    """Plain awaits share the task's context: the timeout interceptor reads why (and clears it)."""
    clock = FakeClock()
    registry = LocalRegistry()

    @registry.tool
    def block() -> str:
        return blocker()

    seen: list[str | None] = []

    async def outer(request: RequestContext, call_next: CallNext) -> ResponseContext:
        response = await call_next(request)
        seen.append(take_not_started())
        return response

    pipeline = (
        PipelineBuilder(clock=clock)
        .use(outer, name="outer")
        .use(TimeoutInterceptor(timeout=1.0, clock=clock))
        .route(registry, workers=1)
        .build()
    )
    running = asyncio.create_task(pipeline.invoke("block"))
    await blocker.wait_started()
    late = asyncio.create_task(pipeline.invoke("block"))
    await queued(pipeline.terminal._pool, 1)  # type: ignore[attr-defined]
    await clock.advance(1.0)
    first, second = await asyncio.gather(running, late)
    assert isinstance(first.error, CallTimeoutError)
    assert isinstance(second.error, CallTimeoutError)
    # The first call was running when its deadline passed, the second was still queued.
    assert (first.error.started, second.error.started) == (True, False)
    assert "(all 1 workers busy, 1 calls queued; waited 1.000s for a worker)" in (
        second.error.message
    )
    assert seen == [None, None]  # consumed by the answer, not left for later calls
    pipeline.close()


async def test_many_concurrent_calls_all_complete() -> None:
    """Completions that arrive together are all delivered (one wake-up per batch)."""
    pool = WorkerPool(8)
    results = await asyncio.gather(*(pool.run(negate, {"x": -i}) for i in range(500)))
    assert results == list(range(500))
    pool.shutdown(wait=True)


def test_one_pool_serves_several_event_loops_and_survives_a_closed_one() -> None:
    """A result for a loop that closed meanwhile is dropped; the worker keeps serving."""
    pool = WorkerPool(1)
    blocker = Blocker()

    async def abandon() -> None:
        pending = asyncio.ensure_future(pool.run(blocker, {}))
        await blocker.wait_started()
        assert not pending.done()

    asyncio.run(abandon())  # cancels the pending call and closes its loop
    blocker.release.set()

    async def again() -> int:
        return int(await pool.run(parse, {"x": "7"}))

    assert asyncio.run(again()) == 7
    assert asyncio.run(again()) == 7
    pool.shutdown(wait=True)


async def test_shutdown_wait_joins_the_threads_and_refuses_new_calls() -> None:
    """shutdown(wait=True) returns once workers are gone; later calls are unavailable."""
    pool = WorkerPool(2)
    await asyncio.gather(pool.run(negate, {"x": 1}), pool.run(negate, {"x": 2}))
    threads = [w.thread for w in pool._core._workers]
    await asyncio.to_thread(pool.shutdown, wait=True)
    assert all(t is not None and not t.is_alive() for t in threads)
    with pytest.raises(UnavailableError, match="router was closed"):
        await pool.run(negate, {"x": 1})


@pytest.mark.parametrize("bad", [-1, 1.5, True, "3"])
def test_bad_max_queued_is_refused(bad: object) -> None:
    """max_queued must be a non-negative int or None."""
    with pytest.raises(ValueError, match="max_queued must be a non-negative integer"):
        WorkerPool(max_queued=bad)  # type: ignore[arg-type]


def test_clock_must_be_a_clock() -> None:
    """clock= is checked against the Clock protocol."""
    with pytest.raises(TypeError, match="clock must be a toolware Clock"):
        WorkerPool(clock=object())  # type: ignore[arg-type]


def test_defaults() -> None:
    """The default queue bound is DEFAULT_MAX_QUEUED."""
    assert WorkerPool(3).max_queued == DEFAULT_MAX_QUEUED
    assert WorkerPool(3).max_workers == 3


async def test_after_fork_the_child_starts_afresh() -> None:
    """The fork hook forgets the parent's threads; the next call starts a new one."""
    pool = WorkerPool(1)
    first = await pool.run(threading.get_ident, {})
    parent_thread = pool._core._workers[0].thread
    _workers._after_fork()
    assert pool._core._workers == []
    second = await pool.run(threading.get_ident, {})
    assert pool._core._workers[0].thread is not parent_thread
    assert second != threading.get_ident()
    assert first != threading.get_ident()
    pool.shutdown(wait=True)
    assert parent_thread is not None
    parent_thread.join(0)  # the "parent's" thread idles forever in this simulation


async def test_a_thread_that_cannot_start(
    monkeypatch: pytest.MonkeyPatch, blocker: Blocker
) -> None:
    """No thread at all: unavailable; some threads already: the call is queued for them."""
    pool = WorkerPool(2)
    real_start = threading.Thread.start

    def refuse(self: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(threading.Thread, "start", refuse)
    with pytest.raises(UnavailableError, match="no worker thread could be started"):
        await pool.run(negate, {"x": 1})
    monkeypatch.setattr(threading.Thread, "start", real_start)
    running = asyncio.create_task(pool.run(blocker, {}))
    await blocker.wait_started()
    monkeypatch.setattr(threading.Thread, "start", refuse)
    second = asyncio.create_task(pool.run(negate, {"x": 2}))
    await queued(pool, 1)
    monkeypatch.setattr(threading.Thread, "start", real_start)
    blocker.release.set()
    assert await asyncio.gather(running, second) == ["released", -2]
    pool.shutdown(wait=True)


async def test_cancelling_a_call_dropped_by_shutdown(blocker: Blocker) -> None:
    """A queued call dropped by shutdown() and then cancelled just propagates the cancel."""
    pool = WorkerPool(1)
    running = asyncio.create_task(pool.run(blocker, {}))
    await blocker.wait_started()
    waiting = asyncio.create_task(pool.run(negate, {"x": 1}))
    await queued(pool, 1)
    pool.shutdown()
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    blocker.release.set()
    assert await running == "released"


async def test_a_pool_dropped_without_shutdown_lets_its_threads_go() -> None:
    """Like ThreadPoolExecutor: once the pool is collected, its idle threads exit."""
    pool = WorkerPool(2)
    await asyncio.gather(pool.run(negate, {"x": 1}), pool.run(negate, {"x": 2}))
    threads = [w.thread for w in pool._core._workers]
    del pool
    gc.collect()
    for thread in threads:
        assert thread is not None
        await asyncio.to_thread(thread.join, 10)
        assert not thread.is_alive()


async def test_through_the_router_a_full_pool_is_unavailable_for_that_target(
    blocker: Blocker,
) -> None:
    """The router binds the refusal to the call: category unavailable, retryable, target set."""
    registry = LocalRegistry()

    @registry.tool
    def block() -> str:
        return blocker()

    pipeline = PipelineBuilder().route(registry, workers=1).build()
    pipeline.terminal._pool._core.max_queued = 0  # type: ignore[attr-defined]
    running = asyncio.create_task(pipeline.invoke("block"))
    await blocker.wait_started()
    error = (await pipeline.invoke("block")).error
    assert isinstance(error, UnavailableError)
    assert (error.target, error.retryable) == ("block", True)
    assert error.message.startswith("no worker free: all 1 workers busy and 0 calls queued")
    blocker.release.set()
    assert (await running).unwrap() == "released"
    pipeline.close()
