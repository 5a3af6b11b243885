"""Tests for toolware.interceptors.hedging pinned by mutation testing: exact refusals, the
default window and sample count, winners' latencies on every path, log records, losers."""

import asyncio
import contextlib
import logging
from typing import Any

import pytest

from tests.interceptors.test_hedging_streams import plain_registry
from toolware import LocalRegistry, PipelineBuilder, RequestContext, ResponseContext
from toolware.errors import ErrorCategory, ToolFailedError
from toolware.interceptors import _hedge_race
from toolware.interceptors.hedging import HedgingInterceptor
from toolware.markers import HEDGE
from toolware.streams import ResponseStream, StreamOutcome
from toolware.testing import FakeClock, settle

LOGGER = "toolware.interceptors.hedging"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"delay": 0},
            "delay must be a positive, finite number of seconds, got 0; e.g. delay=0.2 to "
            "hedge a call that has not answered after 200 ms",
        ),
        (
            {"percentile": 0},
            "percentile must be a number in (0, 100], got 0; e.g. percentile=95.0 hedges "
            "calls slower than 95 % of recent ones",
        ),
        (
            {},
            "HedgingInterceptor needs delay= (seconds) or percentile= (of recent latencies), "
            "or both; with neither it would never hedge",
        ),
        (
            {"delay": 1.0, "min_samples": 5, "window": 4},
            "min_samples (5) must not exceed window (4): the window could never hold enough "
            "samples; raise window= or lower min_samples=",
        ),
    ],
)
def test_refusals_are_exact(options: dict[str, Any], message: str) -> None:
    """Each refusal's whole message: the option, the value and the fix."""
    with pytest.raises(ValueError, match=r"^[A-Za-z]") as refused:
        HedgingInterceptor(**options)
    assert str(refused.value) == message


def test_a_percentile_below_one_is_accepted() -> None:
    """percentile=0.5 is inside (0, 100]."""
    assert HedgingInterceptor(percentile=0.5).percentile == 0.5


def test_an_explicit_clock_is_kept_and_a_different_one_refused_exactly() -> None:
    """clock= is the interceptor's clock; binding another names both and the fix."""
    mine, theirs = FakeClock(), FakeClock()
    hedging = HedgingInterceptor(delay=1.0, clock=mine)
    assert hedging.clock is mine
    hedging.bind_clock(mine)
    with pytest.raises(ValueError, match=r"^HedgingInterceptor was given clock") as refused:
        hedging.bind_clock(theirs)
    assert str(refused.value) == (
        f"HedgingInterceptor was given clock {mine!r}, but its pipeline uses {theirs!r}; "
        "pass the same clock to PipelineBuilder(clock=...) or leave the interceptor's clock "
        "unset"
    )


def timed_registry(clock: FakeClock, seconds: list[float]) -> LocalRegistry:
    """An idempotent 'lookup' whose next call takes seconds[0] (kept while it is the only
    value), answering 'x'."""
    registry = LocalRegistry()

    @registry.tool(idempotent=True)
    async def lookup() -> str:
        wait = seconds.pop(0) if len(seconds) > 1 else seconds[0]
        if wait:
            await clock.sleep(wait)
        return "x"

    return registry


async def test_default_min_samples_is_20_and_default_window_1000() -> None:
    """percentile alone: no delay until 20 samples; the 1,000-sample window forgets the
    first (slow) sample only at the 1,001st."""
    clock = FakeClock()
    hedging = HedgingInterceptor(percentile=100.0)
    pipeline = PipelineBuilder(clock=clock).use(hedging).route(timed_registry(clock, [5.0, 0.0]))
    built = pipeline.build()
    task = asyncio.create_task(built.invoke("lookup"))
    await clock.advance(5.0)
    assert task.result().value == "x"
    for _ in range(18):
        await built.invoke("lookup")
    assert hedging.delay_for("lookup") is None  # 19 samples
    await built.invoke("lookup")
    assert hedging.delay_for("lookup") == 5.0  # 20 samples: p100 is the slow one
    for _ in range(980):
        await built.invoke("lookup")
    assert hedging.delay_for("lookup") == 5.0  # 1,000 samples, the slow one still in
    await built.invoke("lookup")
    assert hedging.delay_for("lookup") == 0.0


def staged(clock: FakeClock, stage: Any) -> tuple[Any, HedgingInterceptor]:
    """p100 over a window of 1 (the last winner's latency), fixed delay 1 s before that."""
    hedging = HedgingInterceptor(percentile=100.0, delay=1.0, min_samples=1, window=1)
    pipeline = PipelineBuilder(clock=clock).use(hedging).use(stage).route(plain_registry())
    return pipeline.build(), hedging


@pytest.mark.parametrize("original", ["slow", "deaf", "crashed", "failed"])
async def test_a_winning_hedge_records_its_own_latency(original: str) -> None:
    """The hedge (started at +1 s, answering 0.5 s later) wins whether the original was
    cancelled, ignored its cancellation and answered, raised as it was cancelled, or failed
    first: the sample is 0.5."""
    clock = FakeClock()

    async def stage(request: RequestContext, call_next: Any) -> ResponseContext:
        if request.get(HEDGE) == 1:
            await clock.sleep(0.5)
            return ResponseContext.success("hedge")
        if original == "failed":
            await clock.sleep(1.2)
            return ResponseContext.failure(ToolFailedError("original failed"))
        try:
            await clock.sleep(10.0)
        except asyncio.CancelledError:
            if original == "slow":
                raise
            if original == "crashed":
                raise KeyError("cleanup failed") from None
        return ResponseContext.success("late")

    pipeline, hedging = staged(clock, stage)
    task = asyncio.create_task(pipeline.invoke("lookup"))
    await clock.advance(1.5)
    assert (await task).value == "hedge"
    assert hedging.delay_for("lookup") == 0.5


async def test_an_original_crashing_as_another_cancellation_arrives_ends_the_call() -> None:
    """The hedge won, but the call is also being cancelled by someone else when the original
    raises: the crash is the call's answer (the race does not swallow it)."""
    clock = FakeClock()
    outer: list[asyncio.Task[Any]] = []

    async def stage(request: RequestContext, call_next: Any) -> ResponseContext:
        if request.get(HEDGE) == 1:
            loop = asyncio.get_running_loop()
            # Runs after the race's own cancellation of the caller's task (ended → interrupt).
            loop.call_soon(loop.call_soon, outer[0].cancel)
            return ResponseContext.success("hedge")
        try:
            await clock.sleep(10.0)
        except asyncio.CancelledError:
            raise KeyError("cleanup failed") from None
        return ResponseContext.success("late")  # pragma: no cover - always cancelled

    pipeline, _ = staged(clock, stage)
    task = asyncio.create_task(pipeline.invoke("lookup"))
    outer.append(task)
    await clock.advance(1.0)
    await settle()
    response = task.result()
    assert response.error is not None
    assert response.error.category is ErrorCategory.INTERNAL
    assert "KeyError" in response.error.message


async def test_hedge_log_records_carry_target_number_and_request() -> None:
    """hedging.started and hedging.won: exact messages, the same fields in extra."""
    clock = FakeClock()

    async def stage(request: RequestContext, call_next: Any) -> ResponseContext:
        await clock.sleep(0.5 if request.get(HEDGE) == 1 else 10.0)
        return ResponseContext.success("ok")

    pipeline, _ = staged(clock, stage)
    handler = _Records()
    logger = logging.getLogger(LOGGER)
    logger.addHandler(handler)
    old = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        task = asyncio.create_task(pipeline.invoke("lookup"))
        await clock.advance(1.5)
        await task
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old)
    started, won = handler.records
    request_id = started.__dict__["request_id"]
    assert isinstance(request_id, str)
    assert request_id
    for record, event in ((started, "started"), (won, "won")):
        assert record.getMessage() == (
            f"hedging.{event} target=lookup hedge=1 request_id={request_id}"
        )
        fields = {k: record.__dict__[k] for k in ("target", "hedge", "request_id")}
        assert fields == {"target": "lookup", "hedge": 1, "request_id": request_id}


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def test_a_hedge_cancelled_by_the_original_win_leaves_no_loop_error() -> None:
    """The original wins while a hedge runs: the hedge is cancelled and dropped quietly,
    with no error reported to the event loop."""
    clock = FakeClock()
    errors: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _loop, context: errors.append(context))
    cancelled: list[float] = []

    async def stage(request: RequestContext, call_next: Any) -> ResponseContext:
        if request.get(HEDGE) == 1:
            try:
                await clock.sleep(10.0)
            except asyncio.CancelledError:
                cancelled.append(clock.monotonic())
                raise
        await clock.sleep(1.5)
        return ResponseContext.success("original")

    try:
        pipeline, _ = staged(clock, stage)
        task = asyncio.create_task(pipeline.invoke("lookup"))
        await clock.advance(1.5)
        assert (await task).value == "original"
        await settle()
    finally:
        loop.set_exception_handler(None)
    assert (cancelled, errors) == ([1001.5], [])


async def test_a_hedge_crashing_after_the_race_is_logged_with_its_exception(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A cancelled hedge whose stage raises after the original won: hedging.loser_crashed
    with the exception attached and its type in extra."""
    clock = FakeClock()
    crash = KeyError("cleanup failed")

    async def stage(request: RequestContext, call_next: Any) -> ResponseContext:
        if request.get(HEDGE) == 1:
            try:
                await clock.sleep(10.0)
            except asyncio.CancelledError:
                raise crash from None
        await clock.sleep(1.5)
        return ResponseContext.success("original")

    pipeline, _ = staged(clock, stage)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        task = asyncio.create_task(pipeline.invoke("lookup"))
        await clock.advance(1.5)
        assert (await task).value == "original"
        await settle()
    [record] = caplog.records
    assert record.getMessage() == "hedging.loser_crashed error=KeyError"
    assert record.levelno == logging.WARNING
    assert record.exc_info is not None
    assert record.exc_info[1] is crash
    assert record.__dict__["error"] == "KeyError"


async def test_a_late_loser_stream_is_closed_and_its_closing_task_forgotten() -> None:
    """A loser that answers with a stream after the race: the stream is closed by a task
    that is dropped from the module's keep-alive set once done."""
    clock = FakeClock()
    late: list[ResponseStream] = []

    async def stage(request: RequestContext, call_next: Any) -> ResponseContext:
        if request.get(HEDGE) != 1:
            await clock.sleep(1.5)
            return ResponseContext.success("original")
        with contextlib.suppress(asyncio.CancelledError):  # swallowed: it answers late
            await clock.sleep(10.0)
        late.append(ResponseStream.of(["late"]))
        return ResponseContext(stream=late[0])

    hedging = HedgingInterceptor(delay=1.0)
    pipeline = PipelineBuilder(clock=clock).use(hedging).use(stage).route(plain_registry())
    built = pipeline.build()
    task = asyncio.create_task(built.invoke("lookup"))
    await clock.advance(1.5)
    assert (await task).value == "original"
    await settle()
    assert late[0].outcome is StreamOutcome.ABANDONED
    assert _hedge_race._closing == set()
