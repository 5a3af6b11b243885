"""Tests for toolware.interceptors.timeout on streamed calls: the deadline over the whole
stream, the idle timeout between chunks and the limit on the first chunk (fake clock)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
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
from toolware._deadlines import DeadlineWatcher
from toolware.interceptors import _stream_deadline
from toolware.interceptors._stream_deadline import DeadlineStream, IdleStream
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


# -- the deadline layers on their own: exact errors, logs, timers ---------------------------


class Interrupt(BaseException):
    """A BaseException that is not an Exception (and, unlike KeyboardInterrupt, stays in its
    task)."""


class ManualTimer:
    def __init__(self, when: float, callback: Callable[[], object]) -> None:
        self.when = when
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class ManualClock:
    """A clock whose timers run only when the test says: asyncio may run a timer up to its
    clock resolution early, and a producer that never suspends never lets one run."""

    def __init__(self, now: float = 100.0) -> None:
        self.now = now
        self.timers: list[ManualTimer] = []

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return self.now

    def call_at(self, when: float, callback: Callable[[], object]) -> ManualTimer:
        timer = ManualTimer(when, callback)
        self.timers.append(timer)
        return timer

    async def sleep(self, seconds: float) -> None:  # pragma: no cover - not slept on
        await asyncio.sleep(0)


def deadline_stream(
    inner: ResponseStream, clock: Any, *, after: float = 2.0, retryable: bool = False
) -> DeadlineStream:
    return DeadlineStream(
        inner,
        clock=clock,
        deadline=clock.monotonic() + after,
        limit=after,
        retryable=retryable,
    )


def idle_stream(
    inner: ResponseStream,
    clock: Any,
    *,
    idle: float = 0.5,
    after: float | None = None,
    retryable: bool = False,
) -> IdleStream:
    return IdleStream(
        inner,
        watcher=DeadlineWatcher(clock),
        clock=clock,
        deadline=None if after is None else clock.monotonic() + after,
        limit=after or 0.0,
        idle=idle,
        retryable=retryable,
    )


def expiries(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage().startswith("timeout.expired")]


@pytest.mark.parametrize("retryable", [True, False])
async def test_a_deadline_stream_expiry_is_exact(
    retryable: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """The error (message, default hint, limit, retryable) and the debug record of a stream
    cut by its deadline; the layer is named ``timeout``."""
    clock = FakeClock()

    async def slow() -> AsyncIterator[int]:
        yield 1
        await clock.sleep(100)
        yield 2  # pragma: no cover - cut before

    stream = deadline_stream(
        ResponseStream.of(slow(), request_id="r-7", target="slow"), clock, retryable=retryable
    )
    assert stream.name == "timeout"
    consumer = Consumer(stream)
    with caplog.at_level(logging.DEBUG, logger="toolware.interceptors.timeout"):
        await clock.advance(2.0)
        await consumer.task
    error = consumer.error
    assert isinstance(error, CallTimeoutError)
    assert error.message == (
        "'slow' did not complete its stream within the allowed timeout of 2.000s (after 1 chunk(s))"
    )
    assert error.hint == "raise the timeout or make the call cheaper"
    assert error.retryable is retryable
    assert (error.limit, error.started) == (2.0, True)
    assert (error.request_id, error.target) == ("r-7", "slow")
    [record] = expiries(caplog)
    assert record.levelno == logging.DEBUG
    assert record.getMessage() == "timeout.expired target=slow limit=2.0 request_id=r-7"
    assert (record.target, record.limit, record.request_id) == ("slow", 2.0, "r-7")  # type: ignore[attr-defined]
    assert clock.pending == 0


@pytest.mark.parametrize("retryable", [True, False])
async def test_an_idle_stream_expiry_is_exact(
    retryable: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """The error and the debug record of a stream cut by its idle limit."""
    clock = FakeClock()

    async def stalling() -> AsyncIterator[int]:
        yield 1
        await clock.sleep(100)
        yield 2  # pragma: no cover - cut before

    stream = idle_stream(
        ResponseStream.of(stalling(), request_id="r-8", target="stall"), clock, retryable=retryable
    )
    assert stream.name == "timeout"
    consumer = Consumer(stream)
    with caplog.at_level(logging.DEBUG, logger="toolware.interceptors.timeout"):
        await clock.advance(0.5)
        await consumer.task
    error = consumer.error
    assert isinstance(error, CallTimeoutError)
    assert error.message == (
        "'stall' produced no chunk within its idle timeout of 0.500s (after 1 chunk(s))"
    )
    assert error.hint == (
        "the producer stalled; raise idle_timeout= if it is just slow between chunks"
    )
    assert error.retryable is retryable
    assert (error.limit, error.started) == (0.5, True)
    assert (error.request_id, error.target) == ("r-8", "stall")
    [record] = expiries(caplog)
    assert record.getMessage() == "timeout.expired target=stall limit=0.5 request_id=r-8"
    assert (record.target, record.limit, record.request_id) == ("stall", 0.5, "r-8")  # type: ignore[attr-defined]


async def test_an_unnamed_stream_pulled_after_its_deadline_is_named_unnamed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A stream with no target is ``'(unnamed)'`` in the message and the record; a pull after
    the deadline fails at once with the deadline's message."""
    clock = FakeClock()
    stream = deadline_stream(ResponseStream.of([1, 2]), clock, after=1.0)
    assert await stream.__anext__() == 1
    clock.advance_now(1.0)
    with (
        caplog.at_level(logging.DEBUG, logger="toolware.interceptors.timeout"),
        pytest.raises(CallTimeoutError) as caught,
    ):
        await stream.__anext__()
    assert caught.value.message == (
        "'(unnamed)' did not complete its stream within the allowed timeout of 1.000s "
        "(after 1 chunk(s))"
    )
    assert caught.value.hint == "raise the timeout or make the call cheaper"
    [record] = expiries(caplog)
    assert record.getMessage() == "timeout.expired target=(unnamed) limit=1.0 request_id=None"
    assert (record.target, record.limit, record.request_id) == ("(unnamed)", 1.0, None)  # type: ignore[attr-defined]


IGNORED = (
    "timeout.cancel_ignored target=stubborn request_id=r-9: the stream went on after its "
    "deadline cancelled it; make the tool let asyncio.CancelledError through"
)


@pytest.mark.parametrize("ending", ["yields", "returns"])
@pytest.mark.parametrize("kind", ["deadline", "idle"])
async def test_a_producer_going_on_after_swallowing_the_cancellation_is_logged_exactly(
    kind: str, ending: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A late chunk or a late end is refused with the limit's own message, the ignored
    cancellation is logged with its target and request id, and no timer is left behind."""
    clock = FakeClock()

    async def stubborn() -> AsyncIterator[int]:
        yield 0
        with contextlib.suppress(asyncio.CancelledError):
            await clock.sleep(100)
        if ending == "yields":
            yield 1

    inner = ResponseStream.of(stubborn(), request_id="r-9", target="stubborn")
    if kind == "deadline":
        stream: ResponseStream = deadline_stream(inner, clock, after=1.0)
        message = (
            "'stubborn' did not complete its stream within the allowed timeout of 1.000s "
            "(after 1 chunk(s))"
        )
    else:
        stream = idle_stream(inner, clock, idle=1.0)
        message = (
            "'stubborn' produced no chunk within its idle timeout of 1.000s (after 1 chunk(s))"
        )
    consumer = Consumer(stream)
    with caplog.at_level(logging.WARNING, logger="toolware.interceptors.timeout"):
        await clock.advance(1.0)
        await consumer.task
    assert consumer.chunks == [0]
    assert isinstance(consumer.error, CallTimeoutError)
    assert consumer.error.message == message
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert record.getMessage() == IGNORED
    assert (record.target, record.request_id) == ("stubborn", "r-9")  # type: ignore[attr-defined]
    if kind == "deadline":
        assert clock.pending == 0  # neither the deadline nor its re-cancel is left armed


async def test_a_deaf_producer_is_cancelled_again_at_growing_intervals_then_given_up_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The deadline's timer cancels again RECANCEL_AFTER * n after its n-th cancel, up to
    RECANCEL_TIMES more times, then logs that it gives up, naming the task and the count."""
    from toolware._deadlines import RECANCEL_AFTER, RECANCEL_TIMES

    clock = FakeClock()
    start = clock.monotonic()
    cancels: list[float] = []

    async def deaf() -> AsyncIterator[int]:
        yield 0
        for _ in range(10):
            try:
                await clock.sleep(100)
                break
            except asyncio.CancelledError:
                cancels.append(clock.monotonic() - start)
        yield 1

    stream = deadline_stream(ResponseStream.of(deaf(), request_id="r-3", target="deaf"), clock)
    consumer = Consumer(stream)
    consumer.task.set_name("reader")
    # Observed first, asserted once the consumer is done: a failed assertion must not leave a
    # task that swallows the test's own cancellation behind.
    with caplog.at_level(logging.WARNING, logger="toolware.interceptors.timeout"):
        await clock.advance(2.0)
        at_deadline = list(cancels)
        await clock.advance(0.499)
        before_giving_up = list(cancels), list(caplog.records)
        await clock.advance(0.002)  # 2.5: the fourth re-cancel would be due
        giving_up = list(cancels), list(caplog.records), consumer.task.done()
        await clock.advance(100.0)
        await consumer.task
    assert (RECANCEL_AFTER, RECANCEL_TIMES) == (0.05, 3)
    expected = [2.0, 2.05, 2.15, 2.3]
    assert at_deadline == [2.0]
    assert before_giving_up[0] == pytest.approx(expected)
    assert before_giving_up[1] == []
    assert giving_up[0] == pytest.approx(expected)
    assert giving_up[2] is False
    [record] = giving_up[1]
    assert record.levelno == logging.ERROR
    assert record.getMessage() == (
        "timeout.abandon_failed task=reader cancels=4: the stream keeps swallowing "
        "cancellations; its consumer waits until it yields"
    )
    assert (record.task, record.cancels) == ("reader", 4)  # type: ignore[attr-defined]
    assert isinstance(consumer.error, CallTimeoutError)
    assert [r.getMessage().split()[0] for r in caplog.records] == [
        "timeout.abandon_failed",
        "timeout.cancel_ignored",
    ]


@pytest.mark.parametrize("kind", ["deadline", "idle"])
async def test_a_base_exception_after_the_deadline_fired_withdraws_its_cancel(kind: str) -> None:
    """A producer that answers the deadline's cancellation with a BaseException of its own:
    that propagates, the stream is abandoned, and the consumer's task is not left cancelling."""
    clock = FakeClock()

    async def interrupted() -> AsyncIterator[int]:
        yield 1
        try:
            await clock.sleep(100)
        except asyncio.CancelledError:
            raise Interrupt from None

    inner = ResponseStream.of(interrupted(), target="interrupted")
    stream = (
        deadline_stream(inner, clock, after=1.0)
        if kind == "deadline"
        else idle_stream(inner, clock, idle=1.0)
    )
    seen: list[object] = []

    async def consume() -> None:
        try:
            async for _ in stream:
                pass
        except Interrupt:
            seen.append(asyncio.current_task().cancelling())  # type: ignore[union-attr]

    task = asyncio.create_task(consume())
    await clock.advance(1.0)
    await task
    assert seen == [0]
    assert stream.outcome is StreamOutcome.ABANDONED


async def test_a_deadline_timer_run_early_still_ends_the_stream() -> None:
    """asyncio may run a timer up to its clock resolution before its time: once the deadline's
    timer ran (here before the first pull, with nothing to cancel), the next pull fails even
    though the clock reads a little before the deadline."""
    clock = ManualClock()
    stream = deadline_stream(ResponseStream.of([1, 2]), clock, after=1.0)
    [timer] = clock.timers
    assert timer.when == 101.0
    clock.now = 100.999
    timer.callback()
    with pytest.raises(CallTimeoutError, match=r"after 0 chunk\(s\)"):
        await stream.__anext__()
    assert timer.cancelled  # the stream ended


async def test_a_pull_exactly_at_the_deadline_fails_before_its_timer_runs() -> None:
    """The deadline is checked on the clock too, inclusively: at the deadline's instant (its
    timer not run yet, as under a producer that never suspends), a pull fails."""
    clock = ManualClock()
    stream = deadline_stream(ResponseStream.of([1, 2]), clock, after=1.0)
    assert await stream.__anext__() == 1
    clock.now = 101.0
    with pytest.raises(CallTimeoutError, match=r"after 1 chunk\(s\)"):
        await stream.__anext__()
    assert stream.outcome is StreamOutcome.FAILED


async def test_an_idle_pull_starting_exactly_at_the_deadline_fails_at_once() -> None:
    """With an idle limit and a deadline, a pull at the deadline's instant fails without
    pulling, with the deadline's message."""
    clock = FakeClock()
    pulled: list[int] = []

    async def counted() -> AsyncIterator[int]:
        for n in range(3):
            pulled.append(n)
            yield n

    stream = idle_stream(ResponseStream.of(counted()), clock, idle=0.5, after=1.0)
    assert await stream.__anext__() == 0
    clock.advance_now(1.0)
    with pytest.raises(CallTimeoutError) as caught:
        await stream.__anext__()
    assert caught.value.message == (
        "'(unnamed)' did not complete its stream within the allowed timeout of 1.000s "
        "(after 1 chunk(s))"
    )
    assert pulled == [0]


async def test_an_idle_limit_ending_exactly_at_the_deadline_is_the_deadline() -> None:
    """A pull whose idle limit would end at the very instant of the deadline is cut by the
    deadline: its message and limit, not the idle limit's."""
    clock = FakeClock()

    async def slowing() -> AsyncIterator[int]:
        yield 0
        yield 1
        await clock.sleep(100)
        yield 2  # pragma: no cover - cut before

    stream = idle_stream(ResponseStream.of(slowing(), target="slowing"), clock, after=1.0)
    assert [await stream.__anext__(), await stream.__anext__()] == [0, 1]
    clock.advance_now(0.5)  # the next pull's idle limit ends at the deadline's instant
    consumer = Consumer(stream)
    await clock.advance(0.499)
    assert not consumer.task.done()
    await clock.advance(0.001)
    await consumer.task
    assert isinstance(consumer.error, CallTimeoutError)
    assert consumer.error.limit == 1.0
    assert consumer.error.message == (
        "'slowing' did not complete its stream within the allowed timeout of 1.000s "
        "(after 2 chunk(s))"
    )


@pytest.mark.skipif(
    _stream_deadline._CURRENT_TASKS is None, reason="no task table to read: current_task() in C"
)
@pytest.mark.parametrize("kind", ["deadline", "idle"])
async def test_pulls_find_their_task_without_asking_current_task(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On 3.11 a stream made on the running loop reads the loop's task table: a pull never
    calls asyncio.current_task() (a system call each time there)."""
    clock = FakeClock()
    inner = ResponseStream.of([1, 2, 3])
    stream = deadline_stream(inner, clock) if kind == "deadline" else idle_stream(inner, clock)
    asked: list[object] = []
    current_task = asyncio.current_task

    def counting(loop: asyncio.AbstractEventLoop | None = None) -> asyncio.Task[Any] | None:
        asked.append(loop)
        return current_task(loop)

    monkeypatch.setattr(asyncio, "current_task", counting)
    chunks = [chunk async for chunk in stream]
    monkeypatch.undo()
    assert chunks == [1, 2, 3]
    assert asked == []


def test_the_task_lookup_reads_the_loops_task_table() -> None:
    """``_task_lookup`` gives the table's lookup for a loop, and none without a loop."""
    assert _stream_deadline._task_lookup(None) == (_stream_deadline._no_task, None)
    loop = asyncio.new_event_loop()
    try:
        lookup, key = _stream_deadline._task_lookup(loop)

        async def probe() -> bool:
            return lookup(key) is asyncio.current_task()

        if _stream_deadline._CURRENT_TASKS is None:  # pragma: no cover - 3.12+
            assert key is None
        else:
            assert key is loop
            assert loop.run_until_complete(probe()) is True
    finally:
        loop.close()


async def test_a_first_chunk_limit_equal_to_the_deadline_reports_the_deadline() -> None:
    """When both end at the same instant, the call's own timeout is the answer."""
    clock = FakeClock()
    ticker = Ticker(clock, every=0.1)
    ticker.delay_first = 5.0
    pipeline = pipeline_for(ticker, clock, timeout=1.0, first_chunk_timeout=1.0)
    task = asyncio.create_task(pipeline.invoke("tick"))
    await clock.advance(1.0)
    error = task.result().error
    assert isinstance(error, CallTimeoutError)
    assert error.message == "'tick' did not complete within the allowed timeout of 1.000s"
    assert error.hint == "raise the timeout or make the call cheaper"


async def test_the_first_chunk_timeout_has_its_own_hint() -> None:
    clock = FakeClock()
    ticker = Ticker(clock, every=0.1)
    ticker.delay_first = 5.0
    pipeline = pipeline_for(ticker, clock, timeout=None, first_chunk_timeout=1.0)
    task = asyncio.create_task(pipeline.invoke("tick"))
    await clock.advance(1.0)
    error = task.result().error
    assert isinstance(error, CallTimeoutError)
    assert error.hint == "raise first_chunk_timeout= if the producer is just slow to start"


async def test_an_entry_limit_shorter_than_the_interceptors_wins() -> None:
    """The shorter of the two idle limits wins, whichever side sets it."""
    clock = FakeClock()
    ticker = Ticker(clock, every=0.1, stall_after=1)
    pipeline = pipeline_for(
        ticker, clock, options={"idle_timeout": 0.3}, timeout=None, idle_timeout=2.0
    )
    consumer = Consumer((await pipeline.invoke("tick")).stream)
    await clock.advance(0.3)
    await consumer.task
    assert isinstance(consumer.error, CallTimeoutError)
    assert consumer.error.limit == 0.3


@pytest.mark.parametrize("limits", [{"timeout": 1.0}, {"timeout": 1.0, "idle_timeout": 5.0}])
@pytest.mark.parametrize("idempotent", [True, False])
async def test_a_mid_stream_timeout_is_retryable_when_the_entry_is_idempotent(
    limits: dict[str, float], idempotent: bool
) -> None:
    clock = FakeClock()
    ticker = Ticker(clock, every=0.4)
    pipeline = pipeline_for(ticker, clock, options={"idempotent": idempotent}, **limits)
    consumer = Consumer((await pipeline.invoke("tick")).stream)
    await clock.advance(1.0)
    await consumer.task
    assert isinstance(consumer.error, CallTimeoutError)
    assert consumer.error.retryable is idempotent


class CancelToRuntimeError:
    """An interceptor that turns the cancellation of its call into an exception of its own."""

    name = "mangler"

    async def __call__(self, request: RequestContext, call_next: Any) -> ResponseContext:
        try:
            return await call_next(request)
        except asyncio.CancelledError:
            raise RuntimeError("cancelled, reported as a crash") from None


async def test_a_first_chunk_wait_turned_into_an_exception_is_still_its_timeout(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Code below the timeout that answers the first-chunk cancellation with an exception of
    its own still gets the first-chunk timeout, with its message."""
    clock = FakeClock()
    ticker = Ticker(clock, every=0.1)
    ticker.delay_first = 5.0
    registry = LocalRegistry()
    registry.tool(ticker, name="tick", first_chunk_timeout=1.0)
    pipeline = (
        PipelineBuilder(clock=clock)
        .use(TimeoutInterceptor(timeout=None))
        .use(CancelToRuntimeError())
        .route(registry)
        .build()
    )
    task = asyncio.create_task(pipeline.invoke("tick"))
    with caplog.at_level(logging.WARNING, logger="toolware.interceptors.timeout"):
        await clock.advance(1.0)
    error = task.result().error
    assert isinstance(error, CallTimeoutError)
    assert error.message == "'tick' did not produce its first chunk within 1.000s"
    assert [r.message.split()[0] for r in caplog.records] == ["timeout.cancel_ignored"]


class CancelToValue:
    """An interceptor that swallows the cancellation of its call and answers late anyway."""

    name = "late"

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock

    async def __call__(self, request: RequestContext, call_next: Any) -> ResponseContext:
        try:
            return await call_next(request)
        except asyncio.CancelledError:
            await self.clock.sleep(0.5)
            return ResponseContext.success("late")


async def test_a_late_answer_after_the_first_chunk_limit_is_its_timeout() -> None:
    clock = FakeClock()
    ticker = Ticker(clock, every=0.1)
    ticker.delay_first = 5.0
    registry = LocalRegistry()
    registry.tool(ticker, name="tick", first_chunk_timeout=1.0)
    pipeline = (
        PipelineBuilder(clock=clock)
        .use(TimeoutInterceptor(timeout=None))
        .use(CancelToValue(clock))
        .route(registry)
        .build()
    )
    task = asyncio.create_task(pipeline.invoke("tick"))
    await clock.advance(1.5)
    error = task.result().error
    assert isinstance(error, CallTimeoutError)
    assert error.message == "'tick' did not produce its first chunk within 1.000s"


@pytest.mark.parametrize("option", ["first_chunk_timeout", "idle_timeout"])
def test_a_bad_stream_limit_is_named_exactly(option: str) -> None:
    with pytest.raises(ValueError, match="finite number") as caught:
        TimeoutInterceptor(**{option: -1})  # type: ignore[arg-type]
    assert str(caught.value) == (
        f"{option} must be a positive, finite number of seconds, or None for no limit of its "
        "own, got -1"
    )


@pytest.mark.parametrize("limit", [None, 5.0])
async def test_a_terminal_without_an_entry_passes_through(limit: float | None) -> None:
    """No entry (a plain handler): no stream limits to look up, with or without a deadline."""
    clock = FakeClock()

    async def terminal(request: RequestContext) -> ResponseContext:
        return ResponseContext.success(request.target)

    pipeline = PipelineBuilder(clock=clock).use(TimeoutInterceptor(timeout=limit))
    response = await pipeline.route(terminal).build().invoke("plain")
    assert response.value == "plain"


@pytest.mark.parametrize("limit", [None, 30.0])
@pytest.mark.parametrize("idempotent", [True, False])
async def test_a_first_chunk_timeout_is_retryable_when_the_entry_is_idempotent(
    limit: float | None, idempotent: bool
) -> None:
    """Before the first chunk nothing was delivered: a timeout there may be retried when the
    entry is idempotent, with or without a deadline of the call's own."""
    clock = FakeClock()
    ticker = Ticker(clock, every=0.1)
    ticker.delay_first = 5.0
    options = {"idempotent": idempotent, "idle_timeout": 1.0}
    pipeline = pipeline_for(ticker, clock, options=options, timeout=limit)
    task = asyncio.create_task(pipeline.invoke("tick"))
    await clock.advance(1.0)
    error = task.result().error
    assert isinstance(error, CallTimeoutError)
    assert error.retryable is idempotent
