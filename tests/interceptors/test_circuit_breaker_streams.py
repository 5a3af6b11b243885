"""Tests for toolware.interceptors.circuit_breaker on streams, cancelled calls and stores that
answer asynchronously (fake clock)."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest

from toolware import (
    CircuitOpenError,
    LocalRegistry,
    Pipeline,
    PipelineBuilder,
    RequestContext,
    TimeoutInterceptor,
    ToolFailedError,
)
from toolware.interceptors.circuit_breaker import CircuitBreakerInterceptor
from toolware.state.base import BreakerChange, BreakerState
from toolware.state.memory import MemoryState
from toolware.streams import StreamEnd, StreamOutcome
from toolware.testing import FakeClock

CLOSED = BreakerState.CLOSED
OPEN = BreakerState.OPEN
HALF_OPEN = BreakerState.HALF_OPEN


class Remote(MemoryState):
    """Not a MemoryState by type: the breaker must use the async protocol methods."""


class Releasing(Remote):
    """A store that can give back a probe slot."""

    def __init__(self) -> None:
        super().__init__()
        self.released: list[tuple[str, float]] = []

    async def breaker_release(self, key: str, now: float) -> None:
        self.released.append((key, now))
        self.breakers.release(key, now)


def registry_for(clock: FakeClock) -> LocalRegistry:
    registry = LocalRegistry()

    @registry.tool
    async def numbers(count: int = 3, every: float = 0.5, fail_at: int = -1) -> AsyncIterator[int]:
        for n in range(count):
            if n:
                await clock.sleep(every)
            if n == fail_at:
                raise ToolFailedError("broke mid-stream")
            yield n

    @registry.tool
    async def broken() -> str:
        raise ToolFailedError("broke")

    @registry.tool
    async def slow(seconds: float = 5.0) -> str:
        await clock.sleep(seconds)
        return "late"

    return registry


def build(
    clock: FakeClock, *, timeout: float | None = None, **options: Any
) -> tuple[Pipeline, CircuitBreakerInterceptor]:
    """One breaker ("k") for every tool; opens on the first failure."""
    options = {"failure_ratio": None, "consecutive_failures": 1, **options}
    breaker = CircuitBreakerInterceptor(key=lambda request: "k", **options)
    builder = PipelineBuilder(clock=clock)
    if timeout is not None:
        builder.use(TimeoutInterceptor(timeout=timeout))
    pipeline = builder.use(breaker).route(registry_for(clock)).build()
    return pipeline, breaker


async def half_open(
    pipeline: Pipeline, breaker: CircuitBreakerInterceptor, clock: FakeClock
) -> None:
    await pipeline.invoke("broken")
    await clock.advance(30.0)
    assert breaker.state("k") is HALF_OPEN


async def drain(stream: Any, clock: FakeClock, *, advance: float = 10.0) -> list[Any]:
    async def read() -> list[Any]:
        return [chunk async for chunk in stream]

    reader = asyncio.create_task(read())
    await clock.advance(advance)
    return (await asyncio.gather(reader, return_exceptions=True))[0]  # type: ignore[no-any-return]


@pytest.mark.parametrize("store", [None, Remote])
async def test_a_streamed_probe_holds_its_slot_until_the_stream_completes(store: Any) -> None:
    """The probe's stream is open: other calls are refused; once read to the end it closes."""
    clock = FakeClock()
    pipeline, breaker = build(clock, state=None if store is None else store())
    await half_open(pipeline, breaker, clock)
    response = await pipeline.invoke("numbers")
    assert response.stream is not None
    refused = await pipeline.invoke("numbers")
    assert isinstance(refused.error, CircuitOpenError)
    assert breaker.state("k") is HALF_OPEN
    assert await drain(response.stream, clock) == [0, 1, 2]
    await asyncio.sleep(0)  # an async store is told from a task
    assert breaker.state("k") is CLOSED


@pytest.mark.parametrize("store", [None, Remote])
async def test_a_stream_failing_mid_way_reopens(store: Any) -> None:
    """A probe stream that raises tool_failed after two chunks opens the breaker again."""
    clock = FakeClock()
    seen: list[BreakerChange] = []
    pipeline, breaker = build(
        clock, state=None if store is None else store(), on_state_change=seen.append
    )
    await half_open(pipeline, breaker, clock)
    response = await pipeline.invoke("numbers", {"fail_at": 2})
    chunks = await drain(response.stream, clock)
    assert isinstance(chunks, ToolFailedError)
    await asyncio.sleep(0)
    assert breaker.state("k") is OPEN
    assert seen[-1] == BreakerChange("k", HALF_OPEN, OPEN, "probe_failed", 1031.0)


async def test_a_stream_failing_with_an_uncounted_category_is_a_success() -> None:
    """With failure_categories=("timeout",), a tool_failed stream closes a half-open breaker."""
    clock = FakeClock()
    pipeline, breaker = build(clock, timeout=1.0, failure_categories=("timeout",))
    assert (await pipeline.invoke("broken")).error is not None
    assert breaker.state("k") is CLOSED
    task = asyncio.create_task(pipeline.invoke("slow"))
    await clock.advance(1.0)
    await task
    assert breaker.state("k") is OPEN
    await clock.advance(30.0)
    response = await pipeline.invoke("numbers", {"fail_at": 1})
    assert isinstance(await drain(response.stream, clock, advance=0.5), ToolFailedError)
    assert breaker.state("k") is CLOSED


async def test_a_stream_error_is_judged_by_the_chosen_categories() -> None:
    """With failure_categories=("tool_failed",), a probe stream failing tool_failed reopens."""
    clock = FakeClock()
    pipeline, breaker = build(clock, failure_categories=("tool_failed",))
    await half_open(pipeline, breaker, clock)
    response = await pipeline.invoke("numbers", {"fail_at": 1})
    assert isinstance(await drain(response.stream, clock), ToolFailedError)
    assert breaker.state("k") is OPEN


async def test_outcome_tasks_are_kept_until_done() -> None:
    """An async store is told from a task held by the interceptor until it finishes."""
    clock = FakeClock()
    pipeline, breaker = build(clock, state=Remote())
    response = await pipeline.invoke("numbers", {"count": 1})
    assert response.stream is not None
    assert await response.stream.__anext__() == 0
    await response.stream.aclose()
    assert len(breaker._tasks) == 1
    await asyncio.sleep(0)  # the task runs
    await asyncio.sleep(0)  # its done callback runs
    assert len(breaker._tasks) == 0


async def test_an_abandoned_stream_is_a_success() -> None:
    """The consumer closing the probe's stream early closes the breaker: the tool worked."""
    clock = FakeClock()
    pipeline, breaker = build(clock)
    await half_open(pipeline, breaker, clock)
    response = await pipeline.invoke("numbers")
    assert response.stream is not None
    assert await response.stream.__anext__() == 0
    await response.stream.aclose()
    assert breaker.state("k") is CLOSED


async def test_a_stream_cut_by_its_deadline_is_a_timeout() -> None:
    """With a 1 s timeout outside, a stream still running at the deadline counts as a failure."""
    clock = FakeClock()
    pipeline, breaker = build(clock, timeout=1.0)
    await half_open(pipeline, breaker, clock)
    response = await pipeline.invoke("numbers", {"count": 10})
    await drain(response.stream, clock)
    assert breaker.state("k") is OPEN


async def test_a_stream_end_heard_with_no_loop_is_dropped(caplog: pytest.LogCaptureFixture) -> None:
    """An async store cannot be told from a thread with no event loop: logged, not recorded."""
    caplog.set_level(logging.DEBUG, "toolware.interceptors.circuit_breaker")
    clock = FakeClock()
    pipeline, breaker = build(clock, state=Remote())
    await half_open(pipeline, breaker, clock)
    # What a stream collected by the garbage collector in a thread with no loop would call:
    ended = breaker._on_end(RequestContext.create("numbers"), "cb:k", True)
    end = StreamEnd(outcome=StreamOutcome.COMPLETED, chunks=0)
    thread = threading.Thread(target=ended, args=(end,))
    thread.start()
    thread.join()
    (dropped,) = [r for r in caplog.records if "outcome_dropped" in r.getMessage()]
    assert dropped.getMessage() == (
        "circuit_breaker.outcome_dropped key=k: the stream ended with no event loop running"
    )
    assert dropped.__dict__["key"] == "k"
    assert breaker.state("k") is HALF_OPEN


async def test_a_cancelled_call_is_not_counted() -> None:
    """Cancelling a closed call in flight counts nothing, even with consecutive_failures=1."""
    clock = FakeClock()
    pipeline, breaker = build(clock)
    task = asyncio.create_task(pipeline.invoke("slow"))
    await clock.advance(1.0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert breaker.state("k") is CLOSED


@pytest.mark.parametrize("store", [None, Releasing])
async def test_a_cancelled_probe_gives_its_slot_back(store: Any) -> None:
    """The next call after a cancelled probe is a probe again, at once."""
    clock = FakeClock()
    state = None if store is None else store()
    pipeline, breaker = build(clock, state=state)
    await half_open(pipeline, breaker, clock)
    task = asyncio.create_task(pipeline.invoke("slow"))
    await clock.advance(1.0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    if state is not None:
        assert state.released == [("cb:k", 1031.0)]
    assert (await pipeline.invoke("slow", {"seconds": 0.0})).value == "late"
    assert breaker.state("k") is CLOSED


async def test_a_store_without_release_keeps_the_slot_until_it_expires() -> None:
    """With no breaker_release, a cancelled probe's slot is freed after break_duration."""
    clock = FakeClock()
    pipeline, breaker = build(clock, state=Remote())
    await half_open(pipeline, breaker, clock)
    task = asyncio.create_task(pipeline.invoke("slow"))
    await clock.advance(1.0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert isinstance((await pipeline.invoke("slow")).error, CircuitOpenError)
    await clock.advance(29.0)
    assert (await pipeline.invoke("slow", {"seconds": 0.0})).value == "late"


@pytest.mark.parametrize("store", [None, Remote])
async def test_a_call_cancelled_by_its_deadline_is_a_timeout(store: Any) -> None:
    """A timeout interceptor outside cancels the call at its deadline: a timeout failure."""
    clock = FakeClock()
    pipeline, breaker = build(clock, timeout=1.0, state=None if store is None else store())
    task = asyncio.create_task(pipeline.invoke("slow"))
    await clock.advance(1.0)
    assert (await task).error is not None
    assert breaker.state("k") is OPEN


async def test_deadline_cancellation_not_counted_without_timeout_category() -> None:
    """failure_categories without "timeout": the deadline's cancellation is not a failure."""
    clock = FakeClock()
    pipeline, breaker = build(clock, timeout=1.0, failure_categories=("tool_failed",))
    task = asyncio.create_task(pipeline.invoke("slow"))
    await clock.advance(1.0)
    await task
    assert breaker.state("k") is CLOSED


async def test_an_async_store_opens_refuses_and_closes() -> None:
    """The whole cycle through the protocol's async methods."""
    clock = FakeClock()
    state = Remote()
    pipeline, breaker = build(clock, state=state)
    assert (await pipeline.invoke("slow", {"seconds": 0.0})).ok
    await half_open(pipeline, breaker, clock)
    assert (await pipeline.invoke("slow", {"seconds": 0.0})).ok
    assert breaker.state("k") is CLOSED
    assert state.breaker_state("cb:k", clock.monotonic()) is CLOSED


async def test_request_deadline_before_expiry_is_not_a_timeout() -> None:
    """Cancelled before a deadline it has: no outcome."""
    clock = FakeClock()
    pipeline, breaker = build(clock, timeout=10.0)
    task = asyncio.create_task(pipeline.invoke("slow"))
    await clock.advance(1.0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert breaker.state("k") is CLOSED


async def test_a_failed_end_without_an_error_counts_as_internal() -> None:
    """An end reported failed with no error is judged as an internal error: a failure."""
    clock = FakeClock()
    pipeline, breaker = build(clock)
    await half_open(pipeline, breaker, clock)
    assert (await pipeline.invoke("numbers")).stream is not None  # takes the probe slot
    ended = breaker._on_end(RequestContext.create("numbers"), "cb:k", True)
    ended(StreamEnd(outcome=StreamOutcome.FAILED, chunks=0))
    assert breaker.state("k") is OPEN
