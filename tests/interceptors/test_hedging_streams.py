"""Tests for toolware.interceptors.hedging with streams and with losers that misbehave."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from toolware import (
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
from toolware.interceptors.hedging import HedgingInterceptor
from toolware.markers import HEDGE, HEDGES
from toolware.testing import FakeClock, settle


def streaming_registry(clock: FakeClock, firsts: dict[int, float], log: list[str]) -> Any:
    """'lookup' streams two chunks; hedge n waits firsts[n] before its first one."""
    registry = LocalRegistry()

    @registry.tool(idempotent=True)
    async def lookup(ctx: RequestContext) -> AsyncIterator[str]:
        number = ctx.get(HEDGE) or 0
        try:
            await clock.sleep(firsts[number])
            yield f"{number}:a"
            yield f"{number}:b"
        finally:
            log.append(f"closed {number}")

    return registry


def plain_registry() -> LocalRegistry:
    """An idempotent 'lookup' whose answers come from the stage inside hedging."""
    registry = LocalRegistry()

    @registry.tool(idempotent=True)
    async def lookup() -> str:
        return "from the tool"

    return registry


def pipeline_with(clock: FakeClock, inner: Any, registry: Any, **options: Any) -> Pipeline:
    builder = PipelineBuilder(clock=clock).use(HedgingInterceptor(clock=clock, **options))
    if inner is not None:
        builder.use(inner)
    return builder.route(registry).build()


async def test_a_stream_wins_by_its_first_chunk_and_the_slow_producer_is_closed() -> None:
    """The hedge's stream arrives first and is the answer; the original, still waiting for
    its first chunk, is cancelled and its generator's finally runs."""
    clock, log = FakeClock(), []
    pipeline = pipeline_with(
        clock, None, streaming_registry(clock, {0: 5.0, 1: 0.5}, log), delay=1.0
    )
    task = asyncio.create_task(pipeline.invoke("lookup"))
    await clock.advance(1.5)
    response = await task
    assert response.get(HEDGES) == 1
    assert log == ["closed 0"]
    assert (await response.collect()).value == ["1:a", "1:b"]
    assert log == ["closed 0", "closed 1"]


@pytest.mark.parametrize("loser", ["stream", "failure", "crash", "cancelled"])
async def test_an_attempt_finishing_with_the_winner_is_cleaned_up(loser: str) -> None:
    """Two hedges answering in the same turn: the first started wins; the other's stream is
    closed (or its crash retrieved, or its failure or cancellation dropped); the original,
    still running, is cancelled."""
    clock = FakeClock()
    gate: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    clock.call_at(1003.0, lambda: gate.set_result(None))
    streams: list[ResponseStream] = []
    cancelled: list[float] = []

    async def answer(request: RequestContext, call_next: Any) -> ResponseContext:
        number = request.get(HEDGE)
        if number == 0:
            try:
                await clock.sleep(10.0)
            except asyncio.CancelledError:
                cancelled.append(clock.monotonic())
                raise
        await gate
        if number == 2 and loser == "crash":
            raise RuntimeError("late crash")
        if number == 2 and loser == "cancelled":
            raise asyncio.CancelledError
        if number == 2 and loser == "failure":
            return ResponseContext.failure(ToolFailedError("lost anyway"))
        stream = ResponseStream.of([number])
        streams.append(stream)
        return ResponseContext(stream=stream)

    pipeline = pipeline_with(clock, answer, plain_registry(), delay=1.0, max_hedges=2)
    task = asyncio.create_task(pipeline.invoke("lookup"))
    await clock.advance(3.0)
    response = await task
    await settle()
    assert response.stream is streams[0]
    assert (streams[0].outcome, response.get(HEDGES), cancelled) == (None, 2, [1003.0])
    if loser == "stream":
        assert streams[1].outcome is StreamOutcome.ABANDONED
    else:
        assert len(streams) == 1


async def test_a_loser_that_ignores_its_cancellation_has_its_stream_closed() -> None:
    """An attempt that swallows the cancellation and answers with a stream anyway: the
    stream is closed once it arrives."""
    clock = FakeClock()
    late: list[ResponseStream] = []

    async def stubborn(request: RequestContext, call_next: Any) -> ResponseContext:
        if request.get(HEDGE) == 1:
            return ResponseContext.success("hedge")
        with contextlib.suppress(asyncio.CancelledError):  # swallowed on purpose
            await clock.sleep(10.0)
        late.append(ResponseStream.of(["late"]))
        return ResponseContext(stream=late[0])

    pipeline = pipeline_with(clock, stubborn, plain_registry(), delay=1.0)
    task = asyncio.create_task(pipeline.invoke("lookup"))
    await clock.advance(1.0)
    assert (await task).value == "hedge"
    await settle()
    assert late[0].outcome is StreamOutcome.ABANDONED


@pytest.mark.parametrize("answer", ["value", "crash"])
async def test_a_loser_that_answers_after_its_cancellation_is_retrieved(
    answer: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A cancelled loser that still returns a value is dropped quietly; one that raises is
    logged as hedging.loser_crashed (never 'exception was never retrieved')."""
    clock = FakeClock()

    async def stubborn(request: RequestContext, call_next: Any) -> ResponseContext:
        if request.get(HEDGE) == 1:
            return ResponseContext.success("hedge")
        try:
            await clock.sleep(10.0)
        except asyncio.CancelledError:
            if answer == "crash":
                raise KeyError("cleanup failed") from None
        return ResponseContext.success("late")

    pipeline = pipeline_with(clock, stubborn, plain_registry(), delay=1.0)
    task = asyncio.create_task(pipeline.invoke("lookup"))
    with caplog.at_level(logging.DEBUG, logger="toolware.interceptors.hedging"):
        await clock.advance(1.0)
        assert (await task).value == "hedge"
        await settle()
    messages = [record.getMessage() for record in caplog.records]
    assert (
        messages[0]
        == f"hedging.started target=lookup hedge=1 request_id={caplog.records[0].request_id}"
    )
    assert messages[1].startswith("hedging.won target=lookup hedge=1 ")
    if answer == "crash":
        assert messages[2:] == ["hedging.loser_crashed error=KeyError"]
        assert caplog.records[2].levelno == logging.WARNING
    else:
        assert messages[2:] == []


def scripted(clock: FakeClock, script: dict[int, Any], log: list[tuple[int, str, float]]) -> Any:
    """A stage inside hedging: attempt n sleeps script[n][0] seconds then does script[n][1]:
    a value to answer, an exception to raise, or a function of the CancelledError it got."""

    async def stage(request: RequestContext, call_next: Any) -> ResponseContext:
        number = request.get(HEDGE) or 0
        seconds, outcome = script[number]
        try:
            await clock.sleep(seconds)
        except asyncio.CancelledError as cancelled:
            log.append((number, "cancelled", clock.monotonic()))
            if callable(outcome):
                return outcome(cancelled)  # type: ignore[no-any-return]
            raise
        if isinstance(outcome, BaseException):
            raise outcome
        if isinstance(outcome, ResponseContext):
            return outcome
        return ResponseContext.success(outcome)

    return stage


async def test_a_hedge_that_crashes_ends_the_call_with_the_crash() -> None:
    """An inner stage raising in a hedge is a crash of the call, as if awaited directly;
    the original is cancelled."""
    clock, log = FakeClock(), []
    stage = scripted(clock, {0: (9.0, "a"), 1: (0.5, RuntimeError("stage broke"))}, log)
    pipeline = pipeline_with(clock, stage, plain_registry(), delay=1.0)
    task = asyncio.create_task(pipeline.invoke("lookup"))
    await clock.advance(1.5)
    response = await task
    assert response.error is not None
    assert response.error.category == "internal"
    assert "RuntimeError" in response.error.message
    assert log == [(0, "cancelled", 1001.5)]


async def test_an_original_that_turns_its_cancellation_into_an_error_after_a_crash() -> None:
    """A hedge crashed; the original answers its cancellation with an exception of its own:
    that exception is the call's crash."""
    clock, log = FakeClock(), []

    def convert(cancelled: BaseException) -> ResponseContext:
        raise KeyError("cleanup") from cancelled

    stage = scripted(clock, {0: (9.0, convert), 1: (0.5, RuntimeError("stage broke"))}, log)
    pipeline = pipeline_with(clock, stage, plain_registry(), delay=1.0)
    task = asyncio.create_task(pipeline.invoke("lookup"))
    await clock.advance(1.5)
    response = await task
    assert response.error is not None
    assert "KeyError" in response.error.message


async def test_a_hedge_failing_first_leaves_the_original_to_answer() -> None:
    """A hedge's failure while the original runs decides nothing."""
    clock, log = FakeClock(), []
    failed = ResponseContext.failure(ToolFailedError("hedge failed"))
    stage = scripted(clock, {0: (3.0, "original"), 1: (0.5, failed)}, log)
    pipeline = pipeline_with(clock, stage, plain_registry(), delay=1.0)
    task = asyncio.create_task(pipeline.invoke("lookup"))
    await clock.advance(3.0)
    response = await task
    assert (response.value, response.get(HEDGES), log) == ("original", 1, [])


async def test_a_hedge_cancelled_from_inside_gives_no_answer() -> None:
    """A hedge whose own stage cancels it counts as no answer: the original's failure,
    arriving last, is the answer."""
    clock, log = FakeClock(), []
    failed = ResponseContext.failure(ToolFailedError("original failed"))
    stage = scripted(clock, {0: (2.0, failed), 1: (0.5, asyncio.CancelledError())}, log)
    pipeline = pipeline_with(clock, stage, plain_registry(), delay=1.0)
    task = asyncio.create_task(pipeline.invoke("lookup"))
    await clock.advance(2.0)
    response = await task
    assert response.error is not None
    assert (response.error.message, response.get(HEDGES)) == ("original failed", 1)
    failed_late = ResponseContext.failure(ToolFailedError("original failed"))
    stage = scripted(clock, {0: (1.5, failed_late), 1: (1.0, asyncio.CancelledError())}, log)
    pipeline = pipeline_with(clock, stage, plain_registry(), delay=1.0)
    task = asyncio.create_task(pipeline.invoke("lookup"))
    await clock.advance(2.0)
    assert (await task).error.message == "original failed"  # type: ignore[union-attr]


async def test_a_timeout_while_waiting_for_hedges_cancels_them() -> None:
    """The original failed; the deadline passes while the hedge runs: timeout, hedge
    cancelled at the deadline."""
    clock, log = FakeClock(), []
    failed = ResponseContext.failure(ToolFailedError("original failed"))
    stage = scripted(clock, {0: (1.5, failed), 1: (9.0, "late")}, log)
    builder = PipelineBuilder(clock=clock).use(TimeoutInterceptor(timeout=2.0))
    builder.use(HedgingInterceptor(delay=1.0)).use(stage)
    pipeline = builder.route(plain_registry()).build()
    task = asyncio.create_task(pipeline.invoke("lookup"))
    await clock.advance(2.0)
    response = await task
    assert response.error is not None
    assert response.error.category == "timeout"
    await settle()
    assert log == [(1, "cancelled", 1002.0)]


async def test_a_winner_whose_call_is_cancelled_has_its_stream_closed() -> None:
    """A hedge's stream wins, but the caller cancels the call before it resumes: the
    cancellation propagates and the winning stream, never returned, is closed."""
    clock, log = FakeClock(), []
    won = ResponseStream.of(["hedge"])
    stage = scripted(clock, {0: (9.0, "a"), 1: (1.0, ResponseContext(stream=won))}, log)
    pipeline = pipeline_with(clock, stage, plain_registry(), delay=1.0)
    task = asyncio.create_task(pipeline.invoke("lookup"))
    await clock.advance(1.0)
    clock.advance_now(1.0)  # the hedge's sleep ends; nothing has run yet
    await asyncio.sleep(0)  # the hedge answers
    await asyncio.sleep(0)  # its end is heard: the original is cancelled
    task.cancel()  # and so is the whole call, by its caller
    with pytest.raises(asyncio.CancelledError):
        await task
    assert won.outcome is StreamOutcome.ABANDONED
    assert log == [(0, "cancelled", 1002.0)]
