"""Tests for toolware.interceptors.timeout on streamed calls: the deadline over the whole
stream, the idle timeout between chunks and the limit on the first chunk (fake clock)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from toolware import (
    CallTimeoutError,
    ErrorCategory,
    LocalRegistry,
    Pipeline,
    PipelineBuilder,
    RequestContext,
    ResponseContext,
    ResponseStream,
    StreamOutcome,
    TimeoutInterceptor,
    ToolFailedError,
)
from toolware.testing import FakeClock, settle


class Ticker:
    """An async generator tool on a fake clock: chunk 0 at once, then one every ``every``
    seconds (``stall_after``: no chunk after that many); records its closing."""

    def __init__(
        self, clock: FakeClock, *, every: float, count: int = 10, stall_after: int | None = None
    ):
        self.clock = clock
        self.every = every
        self.count = count
        self.stall_after = stall_after
        self.closed = 0
        self.delay_first = 0.0

    async def __call__(self) -> AsyncIterator[int]:
        try:
            if self.delay_first:
                await self.clock.sleep(self.delay_first)
            for n in range(self.count):
                if n:
                    await self.clock.sleep(self.every)
                if self.stall_after is not None and n >= self.stall_after:
                    await self.clock.sleep(3600)
                yield n
        finally:
            self.closed += 1


def pipeline_for(
    ticker: Ticker, clock: FakeClock, *, options: dict[str, Any] | None = None, **limits: Any
) -> Pipeline:
    registry = LocalRegistry()
    registry.tool(ticker, name="tick", **(options or {}))
    timeout = TimeoutInterceptor(**limits)
    return PipelineBuilder(clock=clock).use(timeout).route(registry).build()


class Consumer:
    """Reads a stream in a task, keeping what arrived and how it ended."""

    def __init__(self, stream: ResponseStream | None) -> None:
        assert stream is not None
        self.stream = stream
        self.chunks: list[Any] = []
        self.error: BaseException | None = None
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for chunk in self.stream:
                self.chunks.append(chunk)
        except CallTimeoutError as error:
            self.error = error


async def test_the_deadline_covers_the_whole_stream() -> None:
    """Chunks keep coming every 0.4 s, but the 1 s call limit ends the stream at 1 s."""
    clock = FakeClock()
    ticker = Ticker(clock, every=0.4)
    response = await pipeline_for(ticker, clock, timeout=1.0).invoke("tick")
    consumer = Consumer(response.stream)
    await clock.advance(0.999)
    assert consumer.chunks == [0, 1, 2]
    assert not consumer.task.done()
    await clock.advance(0.001)
    assert consumer.task.done()
    error = consumer.error
    assert isinstance(error, CallTimeoutError)
    assert error.category is ErrorCategory.TIMEOUT
    assert error.limit == 1.0
    assert error.started is True
    assert error.target == "tick"
    assert error.request_id is not None
    assert error.message == (
        "'tick' did not complete its stream within the allowed timeout of 1.000s (after 3 chunk(s))"
    )
    assert ticker.closed == 1
    assert consumer.stream.outcome is StreamOutcome.FAILED


async def test_the_idle_timeout_ends_a_stalled_stream() -> None:
    """The entry's idle_timeout bounds the wait for each chunk after the first."""
    clock = FakeClock()
    ticker = Ticker(clock, every=0.1, stall_after=2)
    pipeline = pipeline_for(ticker, clock, options={"idle_timeout": 0.5}, timeout=None)
    response = await pipeline.invoke("tick")
    consumer = Consumer(response.stream)
    await clock.advance(0.1)
    assert consumer.chunks == [0, 1]
    await clock.advance(0.499)
    assert not consumer.task.done()
    await clock.advance(0.001)
    assert consumer.task.done()
    error = consumer.error
    assert isinstance(error, CallTimeoutError)
    assert error.limit == 0.5
    assert error.message == (
        "'tick' produced no chunk within its idle timeout of 0.500s (after 2 chunk(s))"
    )
    assert "idle_timeout=" in error.hint
    assert ticker.closed == 1


async def test_a_producer_that_never_yields_is_idle_from_the_start() -> None:
    """Without a first-chunk limit, the idle limit bounds the wait for the first chunk: the
    call answers with an ordinary timeout, and the producer is closed."""
    clock = FakeClock()
    ticker = Ticker(clock, every=0.1, stall_after=0)
    pipeline = pipeline_for(ticker, clock, options={"idle_timeout": 0.5}, timeout=None)
    task = asyncio.create_task(pipeline.invoke("tick"))
    await clock.advance(0.499)
    assert not task.done()
    await clock.advance(0.001)
    response = task.result()
    assert response.stream is None
    error = response.error
    assert isinstance(error, CallTimeoutError)
    assert error.limit == 0.5
    assert error.message == "'tick' did not produce its first chunk within 0.500s"
    assert ticker.closed == 1


async def test_a_first_chunk_limit_overrides_the_idle_limit_for_the_first_chunk() -> None:
    """A slow start is allowed by first_chunk_timeout even with a short idle limit."""
    clock = FakeClock()
    ticker = Ticker(clock, every=0.1, count=2)
    ticker.delay_first = 2.0
    pipeline = pipeline_for(
        ticker, clock, options={"idle_timeout": 0.5, "first_chunk_timeout": 3.0}, timeout=None
    )
    task = asyncio.create_task(pipeline.invoke("tick"))
    await clock.advance(2.0)
    consumer = Consumer(task.result().stream)
    await clock.advance(0.1)
    await consumer.task
    assert consumer.chunks == [0, 1]


async def test_the_idle_timeout_restarts_with_each_pull() -> None:
    """Chunks 0.4 s apart never trip a 0.5 s idle timeout, however long the stream."""
    clock = FakeClock()
    ticker = Ticker(clock, every=0.4, count=6)
    pipeline = pipeline_for(ticker, clock, timeout=None, idle_timeout=0.5)
    consumer = Consumer((await pipeline.invoke("tick")).stream)
    await clock.advance(2.0)
    await consumer.task
    assert consumer.chunks == [0, 1, 2, 3, 4, 5]
    assert consumer.error is None
    assert consumer.stream.outcome is StreamOutcome.COMPLETED


async def test_the_shorter_of_the_entry_and_interceptor_idle_limits_wins() -> None:
    clock = FakeClock()
    ticker = Ticker(clock, every=0.1, stall_after=1)
    pipeline = pipeline_for(
        ticker, clock, options={"idle_timeout": 2.0}, timeout=None, idle_timeout=0.3
    )
    consumer = Consumer((await pipeline.invoke("tick")).stream)
    await clock.advance(0.3)
    await consumer.task
    assert isinstance(consumer.error, CallTimeoutError)
    assert consumer.error.limit == 0.3


async def test_a_slow_first_chunk_is_an_ordinary_timeout_response() -> None:
    """first_chunk_timeout bounds the wait for the first chunk; the response is an error with
    no stream, and the producer is closed."""
    clock = FakeClock()
    ticker = Ticker(clock, every=0.1)
    ticker.delay_first = 5.0
    pipeline = pipeline_for(ticker, clock, options={"first_chunk_timeout": 1.0}, timeout=30.0)
    task = asyncio.create_task(pipeline.invoke("tick"))
    await clock.advance(0.999)
    assert not task.done()
    await clock.advance(0.001)
    response = task.result()
    assert response.stream is None
    error = response.error
    assert isinstance(error, CallTimeoutError)
    assert error.limit == 1.0
    assert error.message == "'tick' did not produce its first chunk within 1.000s"
    assert "first_chunk_timeout=" in error.hint
    assert ticker.closed == 1


async def test_the_call_deadline_wins_when_it_is_before_the_first_chunk_limit() -> None:
    clock = FakeClock()
    ticker = Ticker(clock, every=0.1)
    ticker.delay_first = 5.0
    pipeline = pipeline_for(ticker, clock, timeout=0.5, first_chunk_timeout=2.0)
    task = asyncio.create_task(pipeline.invoke("tick"))
    await clock.advance(0.5)
    error = task.result().error
    assert isinstance(error, CallTimeoutError)
    assert error.limit == 0.5
    assert error.message == "'tick' did not complete within the allowed timeout of 0.500s"


async def test_first_chunk_limit_alone_applies_without_a_deadline() -> None:
    clock = FakeClock()
    ticker = Ticker(clock, every=0.1, count=2)
    ticker.delay_first = 5.0
    pipeline = pipeline_for(ticker, clock, timeout=None, first_chunk_timeout=1.0)
    task = asyncio.create_task(pipeline.invoke("tick"))
    await clock.advance(1.0)
    assert task.result().error is not None
    # In time, it streams normally, and the stream itself is not bounded afterwards.
    ticker.delay_first = 0.5
    task = asyncio.create_task(pipeline.invoke("tick"))
    await clock.advance(0.5)
    response = task.result()
    assert response.stream is not None
    consumer = Consumer(response.stream)
    await clock.advance(0.1)
    await consumer.task
    assert consumer.chunks == [0, 1]


async def test_a_pull_after_the_deadline_fails_at_once() -> None:
    """A consumer that kept the stream past its deadline without reading gets the timeout at
    its next pull; no timer was armed meanwhile."""
    clock = FakeClock()
    ticker = Ticker(clock, every=0.0, count=3)
    response = await pipeline_for(ticker, clock, timeout=1.0).invoke("tick")
    stream = response.stream
    assert stream is not None
    assert await stream.__anext__() == 0
    clock.advance_now(2.0)
    with pytest.raises(CallTimeoutError, match="after 1 chunk"):
        await stream.__anext__()
    assert ticker.closed == 1


async def test_no_limit_at_all_leaves_the_stream_unwrapped() -> None:
    """Without any deadline or idle limit, the response passes through untouched."""
    clock = FakeClock()
    ticker = Ticker(clock, every=0.0, count=2)
    response = await pipeline_for(ticker, clock, timeout=None).invoke("tick")
    assert type(response.stream).__name__ == "AsyncGeneratorStream"
    assert [chunk async for chunk in response.stream] == [0, 1]


async def test_a_producer_swallowing_the_cancellation_still_times_out(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A generator that catches the idle cancellation and yields anyway is too late: the
    stream ends with the timeout, and the ignored cancellation is logged."""
    clock = FakeClock()
    closed: list[bool] = []

    async def stubborn() -> AsyncIterator[int]:
        try:
            yield 0
            with contextlib.suppress(asyncio.CancelledError):
                await clock.sleep(10)
            yield 1
        finally:
            closed.append(True)

    registry = LocalRegistry()
    registry.tool(stubborn, idle_timeout=0.5)
    timeout = TimeoutInterceptor(timeout=None)
    pipeline = PipelineBuilder(clock=clock).use(timeout).route(registry).build()
    consumer = Consumer((await pipeline.invoke("stubborn")).stream)
    with caplog.at_level(logging.WARNING, logger="toolware.interceptors.timeout"):
        await clock.advance(0.5)
        await consumer.task
    assert consumer.chunks == [0]
    assert isinstance(consumer.error, CallTimeoutError)
    assert closed == [True]
    assert any(r.message.startswith("timeout.cancel_ignored") for r in caplog.records)
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]


async def test_cancelling_the_consumer_is_not_a_timeout() -> None:
    """Someone else's cancellation propagates: the stream ends abandoned."""
    clock = FakeClock()
    ticker = Ticker(clock, every=1.0)
    response = await pipeline_for(ticker, clock, timeout=30.0, idle_timeout=5.0).invoke("tick")
    consumer = Consumer(response.stream)
    await settle()
    consumer.task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await consumer.task
    assert consumer.error is None
    assert consumer.stream.outcome is StreamOutcome.ABANDONED
    assert ticker.closed == 1


async def test_a_stream_from_a_handler_without_an_entry_is_bounded_by_the_deadline() -> None:
    """A terminal that is not a registry (no entry) answering with a stream still has it
    bounded by the call's deadline."""
    clock = FakeClock()

    async def forever() -> AsyncIterator[int]:
        yield 1
        await clock.sleep(3600)
        yield 2  # pragma: no cover - cut before

    async def terminal(request: RequestContext) -> ResponseContext:
        return ResponseContext(stream=ResponseStream.of(forever(), target=request.target))

    timeout = TimeoutInterceptor(timeout=2.0, idle_timeout=0.5)
    pipeline = PipelineBuilder(clock=clock).use(timeout).route(terminal).build()
    consumer = Consumer((await pipeline.invoke("raw")).stream)
    await clock.advance(0.499)
    assert not consumer.task.done()
    await clock.advance(0.001)
    await consumer.task
    assert consumer.chunks == [1]
    assert isinstance(consumer.error, CallTimeoutError)
    assert consumer.error.limit == 0.5  # the interceptor's own idle limit

    # With only a deadline, the deadline ends it.
    pipeline = PipelineBuilder(clock=clock).use(TimeoutInterceptor(timeout=2.0))
    consumer = Consumer((await pipeline.route(terminal).build().invoke("raw")).stream)
    await clock.advance(2.0)
    await consumer.task
    assert isinstance(consumer.error, CallTimeoutError)
    assert consumer.error.limit == 2.0


@pytest.mark.parametrize("option", ["first_chunk_timeout", "idle_timeout"])
@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), float("inf"), True, "1"])
def test_stream_limits_are_checked(option: str, bad: object) -> None:
    with pytest.raises(ValueError, match=option):
        TimeoutInterceptor(**{option: bad})  # type: ignore[arg-type]


def test_stream_limits_are_kept() -> None:
    timeout = TimeoutInterceptor(first_chunk_timeout=1.5, idle_timeout=2)
    assert (timeout.first_chunk_timeout, timeout.idle_timeout) == (1.5, 2)


async def test_a_producer_swallowing_the_deadline_is_cancelled_again_then_times_out(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """With only a deadline (one timer per stream), a producer that swallows the cancellation
    is cancelled again RECANCEL_AFTER later; when it finally yields, it is too late."""
    clock = FakeClock()
    cancels: list[float] = []

    async def stubborn() -> AsyncIterator[int]:
        yield 0
        for _ in range(2):
            try:
                await clock.sleep(100)
            except asyncio.CancelledError:
                cancels.append(clock.monotonic())
        yield 1

    registry = LocalRegistry()
    registry.tool(stubborn)
    pipeline = PipelineBuilder(clock=clock).use(TimeoutInterceptor(timeout=1.0))
    consumer = Consumer((await pipeline.route(registry).build().invoke("stubborn")).stream)
    with caplog.at_level(logging.WARNING, logger="toolware.interceptors.timeout"):
        await clock.advance(1.0)
        assert cancels == [1001.0]
        assert not consumer.task.done()
        await clock.advance(0.05)  # RECANCEL_AFTER
        await consumer.task
    assert cancels == [1001.0, 1001.05]
    assert consumer.chunks == [0]
    assert isinstance(consumer.error, CallTimeoutError)
    assert "after 1 chunk(s)" in consumer.error.message
    assert [r.message.split()[0] for r in caplog.records] == ["timeout.cancel_ignored"]
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]


async def test_a_producer_swallowing_every_cancellation_is_given_up_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """After RECANCEL_TIMES further cancels, the deadline gives up (logged); the consumer gets
    the timeout once the producer answers at last."""
    from toolware._deadlines import RECANCEL_TIMES

    clock = FakeClock()
    cancels = 0

    async def deaf() -> AsyncIterator[int]:
        nonlocal cancels
        yield 0
        for _ in range(10):
            try:
                await clock.sleep(100)
                break
            except asyncio.CancelledError:
                cancels += 1
        yield 1

    registry = LocalRegistry()
    registry.tool(deaf)
    pipeline = PipelineBuilder(clock=clock).use(TimeoutInterceptor(timeout=1.0))
    consumer = Consumer((await pipeline.route(registry).build().invoke("deaf")).stream)
    with caplog.at_level(logging.WARNING, logger="toolware.interceptors.timeout"):
        await clock.advance(5.0)
        assert cancels == RECANCEL_TIMES + 1
        assert not consumer.task.done()
        await clock.advance(100.0)
        await consumer.task
    assert isinstance(consumer.error, CallTimeoutError)
    events = [r.message.split()[0] for r in caplog.records]
    assert events == ["timeout.abandon_failed", "timeout.cancel_ignored"]


async def test_the_deadline_timer_is_cancelled_when_the_stream_ends() -> None:
    """Completed, closed or dropped: the stream's deadline timer does not outlive it."""
    clock = FakeClock()
    ticker = Ticker(clock, every=0.0, count=2)
    pipeline = pipeline_for(ticker, clock, timeout=10.0)
    warm_up = await pipeline.invoke("tick")
    await warm_up.stream.aclose()  # type: ignore[union-attr]
    # What stays armed: the loop's shared watcher timer of the first-chunk phase.
    baseline = clock.pending
    response = await pipeline.invoke("tick")
    assert clock.pending == baseline + 1  # the stream's own timer
    assert [chunk async for chunk in response.stream] == [0, 1]  # type: ignore[union-attr]
    assert clock.pending == baseline

    response = await pipeline.invoke("tick")
    await response.stream.aclose()  # type: ignore[union-attr]
    assert clock.pending == baseline

    response = await pipeline.invoke("tick")
    del response
    assert clock.pending == baseline


async def test_a_deadline_passed_while_not_pulling_fails_the_next_pull() -> None:
    """The timer fires between pulls without cancelling anything; the next pull fails."""
    clock = FakeClock()
    ticker = Ticker(clock, every=0.0, count=5)
    response = await pipeline_for(ticker, clock, timeout=1.0).invoke("tick")
    stream = response.stream
    assert stream is not None
    assert await stream.__anext__() == 0
    await clock.advance(1.0)  # the consumer is busy elsewhere: nothing to cancel
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]
    with pytest.raises(CallTimeoutError):
        await stream.__anext__()
    assert stream.outcome is StreamOutcome.FAILED
    assert ticker.closed == 1


def raw_pipeline(clock: FakeClock, chunks: Any, **limits: Any) -> Pipeline:
    """A timeout in front of a terminal that answers with ``ResponseStream.of(chunks())``."""

    async def terminal(request: RequestContext) -> ResponseContext:
        return ResponseContext(
            stream=ResponseStream.of(chunks(), request_id=request.id, target=request.target)
        )

    timeout = TimeoutInterceptor(**limits)
    return PipelineBuilder(clock=clock).use(timeout).route(terminal).build()


@pytest.mark.parametrize("limits", [{"timeout": 10.0}, {"timeout": 10.0, "idle_timeout": 5.0}])
async def test_a_failure_mid_stream_passes_through_the_deadline_layer(
    limits: dict[str, float],
) -> None:
    """A typed error from below is the stream's error (both kinds of deadline layer)."""
    clock = FakeClock()

    async def failing() -> AsyncIterator[int]:
        yield 1
        raise ToolFailedError("upstream broke")

    response = await raw_pipeline(clock, failing, **limits).invoke("raw")
    stream = response.stream
    assert stream is not None
    assert await stream.__anext__() == 1
    with pytest.raises(ToolFailedError, match="upstream broke") as caught:
        await stream.__anext__()
    assert caught.value.target == "raw"
    assert stream.outcome is StreamOutcome.FAILED
    assert stream.error is caught.value


@pytest.mark.parametrize("limits", [{"timeout": 1.0}, {"timeout": 1.0, "idle_timeout": 5.0}])
async def test_a_producer_swallowing_the_cancellation_and_ending_still_times_out(
    limits: dict[str, float], caplog: pytest.LogCaptureFixture
) -> None:
    """Ending (rather than yielding) after swallowing the deadline's cancellation is late too."""
    clock = FakeClock()

    async def quitter() -> AsyncIterator[int]:
        yield 1
        try:
            await clock.sleep(100)
        except asyncio.CancelledError:
            return

    consumer = Consumer((await raw_pipeline(clock, quitter, **limits).invoke("raw")).stream)
    with caplog.at_level(logging.WARNING, logger="toolware.interceptors.timeout"):
        await clock.advance(1.0)
        await consumer.task
    assert consumer.chunks == [1]
    assert isinstance(consumer.error, CallTimeoutError)
    assert consumer.error.limit == 1.0
    assert [r.message.split()[0] for r in caplog.records] == ["timeout.cancel_ignored"]


async def test_cancelling_the_consumer_of_a_deadline_only_stream_is_not_a_timeout() -> None:
    clock = FakeClock()
    ticker = Ticker(clock, every=1.0)
    response = await pipeline_for(ticker, clock, timeout=30.0).invoke("tick")
    consumer = Consumer(response.stream)
    await settle()
    consumer.task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await consumer.task
    assert consumer.error is None
    assert consumer.stream.outcome is StreamOutcome.ABANDONED
    assert ticker.closed == 1


@pytest.mark.parametrize("limits", [{"timeout": 10.0}, {"timeout": 10.0, "idle_timeout": 5.0}])
async def test_a_base_exception_from_below_ends_the_stream_abandoned_and_propagates(
    limits: dict[str, float],
) -> None:
    clock = FakeClock()

    async def interrupted() -> AsyncIterator[int]:
        yield 1
        raise KeyboardInterrupt

    response = await raw_pipeline(clock, interrupted, **limits).invoke("raw")
    stream = response.stream
    assert stream is not None
    assert await stream.__anext__() == 1
    with pytest.raises(KeyboardInterrupt):
        await stream.__anext__()
    assert stream.outcome is StreamOutcome.ABANDONED


async def test_the_deadline_ends_an_idle_stream_before_its_idle_limit() -> None:
    """With both limits, whichever comes first ends the pull: here the call's deadline."""
    clock = FakeClock()
    ticker = Ticker(clock, every=0.3, count=100)
    pipeline = pipeline_for(ticker, clock, timeout=1.0, idle_timeout=0.5)
    consumer = Consumer((await pipeline.invoke("tick")).stream)
    await clock.advance(1.0)
    await consumer.task
    assert consumer.chunks == [0, 1, 2, 3]
    assert isinstance(consumer.error, CallTimeoutError)
    assert consumer.error.limit == 1.0
    assert "did not complete its stream" in consumer.error.message
    # A pull after the deadline fails at once, without waiting for the idle limit.
    response = await pipeline.invoke("tick")
    stream = response.stream
    assert stream is not None
    clock.advance_now(1.5)
    with pytest.raises(CallTimeoutError, match="did not complete its stream"):
        await stream.__anext__()


async def test_without_the_fast_task_lookup_the_current_task_is_asked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Where asyncio's task table is not reachable (3.12+), asyncio.current_task() is used."""
    from toolware.interceptors import _stream_deadline

    monkeypatch.setattr(_stream_deadline, "_CURRENT_TASKS", None)
    clock = FakeClock()
    ticker = Ticker(clock, every=0.4)
    consumer = Consumer((await pipeline_for(ticker, clock, timeout=1.0).invoke("tick")).stream)
    await clock.advance(1.0)
    await consumer.task
    assert consumer.chunks == [0, 1, 2]
    assert isinstance(consumer.error, CallTimeoutError)


async def test_a_first_chunk_arriving_after_its_limit_is_refused_and_closed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A producer that swallows the first-chunk cancellation and yields anyway: the response
    is the timeout, and the stream that came too late is closed."""
    clock = FakeClock()
    closed: list[bool] = []

    async def late() -> AsyncIterator[int]:
        try:
            with contextlib.suppress(asyncio.CancelledError):
                await clock.sleep(100)
            yield 1
        finally:
            closed.append(True)

    registry = LocalRegistry()
    registry.tool(late, first_chunk_timeout=1.0)
    pipeline = PipelineBuilder(clock=clock).use(TimeoutInterceptor(timeout=None))
    task = asyncio.create_task(pipeline.route(registry).build().invoke("late"))
    with caplog.at_level(logging.WARNING, logger="toolware.interceptors.timeout"):
        await clock.advance(1.0)
    response = task.result()
    assert response.stream is None
    assert isinstance(response.error, CallTimeoutError)
    assert response.error.message == "'late' did not produce its first chunk within 1.000s"
    assert closed == [True]
