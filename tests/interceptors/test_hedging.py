"""Tests for toolware.interceptors.hedging: when hedges start, who wins, what is cancelled."""

import asyncio
import math
import re
import threading
from typing import Any

import pytest

from toolware import (
    LocalRegistry,
    Pipeline,
    PipelineBuilder,
    RequestContext,
    SystemClock,
    TimeoutInterceptor,
    ToolFailedError,
)
from toolware.errors import ErrorCategory
from toolware.interceptors.hedging import HedgingInterceptor
from toolware.markers import HEDGE, HEDGES
from toolware.testing import FakeClock, FakeHandler

Plan = dict[int, tuple[float, Any]]


def racing(
    clock: FakeClock, plan: Plan, log: list[tuple[str, int, float]], **entry: Any
) -> LocalRegistry:
    """A registry with 'lookup': hedge n sleeps plan[n][0] then answers plan[n][1] (raised
    if it is an exception); starts and cancellations are logged with their instant."""
    registry = LocalRegistry()
    options = {"idempotent": True, **entry}

    @registry.tool(**options)
    async def lookup(ctx: RequestContext) -> str:
        number = ctx.get(HEDGE) or 0
        log.append(("start", number, clock.monotonic()))
        seconds, outcome = plan[number]
        try:
            await clock.sleep(seconds)
        except asyncio.CancelledError:
            log.append(("cancelled", number, clock.monotonic()))
            raise
        if isinstance(outcome, Exception):
            raise outcome
        return str(outcome)

    return registry


def hedged(target: Any, clock: FakeClock, *inner: Any, **options: Any) -> Pipeline:
    builder = PipelineBuilder(clock=clock).use(HedgingInterceptor(**options))
    for stage in inner:
        builder.use(stage)
    return builder.route(target).build()


async def run(pipeline: Pipeline, clock: FakeClock, seconds: float, **call: Any) -> Any:
    task = asyncio.create_task(pipeline.invoke("lookup", **call))
    await clock.advance(seconds)
    assert task.done()
    return task.result()


async def test_hedge_starts_exactly_at_the_delay_and_the_faster_one_wins() -> None:
    """No hedge before the delay; at it, hedge 1 starts; it wins and the original is
    cancelled at that instant."""
    clock, log = FakeClock(), []
    pipeline = hedged(racing(clock, {0: (5.0, "slow"), 1: (1.0, "fast")}, log), clock, delay=1.0)
    task = asyncio.create_task(pipeline.invoke("lookup"))
    await clock.advance(0.999)
    assert log == [("start", 0, 1000.0)]
    await clock.advance(0.001)
    assert log == [("start", 0, 1000.0), ("start", 1, 1001.0)]
    await clock.advance(1.0)
    response = await task
    assert response.value == "fast"
    assert response.get(HEDGES) == 1
    assert log[2:] == [("cancelled", 0, 1002.0)]
    assert clock.pending == 0


async def test_an_answer_before_the_delay_starts_no_hedge() -> None:
    """The original answering in time leaves no hedge, no marker and no timer behind."""
    clock, log = FakeClock(), []
    pipeline = hedged(racing(clock, {0: (0.999, "quick")}, log), clock, delay=1.0)
    response = await run(pipeline, clock, 0.999)
    assert response.value == "quick"
    assert HEDGES not in response.extras
    assert log == [("start", 0, 1000.0)]
    assert clock.pending == 0
    await clock.advance(5.0)
    assert len(log) == 1


async def test_the_original_can_still_win_after_a_hedge_started() -> None:
    """The first success wins whoever it is; the hedge is cancelled."""
    clock, log = FakeClock(), []
    plan = {0: (1.5, "original"), 1: (5.0, "hedge")}
    response = await run(hedged(racing(clock, plan, log), clock, delay=1.0), clock, 1.5)
    assert (response.value, response.get(HEDGES)) == ("original", 1)
    assert log == [("start", 0, 1000.0), ("start", 1, 1001.0), ("cancelled", 1, 1001.5)]


async def test_max_hedges_spaces_each_hedge_by_the_delay() -> None:
    """With max_hedges=2, hedges start at delay and 2 x delay; no third one."""
    clock, log = FakeClock(), []
    plan = {0: (9.0, "a"), 1: (9.0, "b"), 2: (0.5, "c")}
    pipeline = hedged(racing(clock, plan, log), clock, delay=1.0, max_hedges=2)
    response = await run(pipeline, clock, 2.5)
    assert (response.value, response.get(HEDGES)) == ("c", 2)
    assert log == [
        ("start", 0, 1000.0),
        ("start", 1, 1001.0),
        ("start", 2, 1002.0),
        ("cancelled", 0, 1002.5),
        ("cancelled", 1, 1002.5),
    ]


async def test_when_every_attempt_fails_the_last_failure_is_the_answer() -> None:
    """The original fails while the hedge runs; the hedge's later failure is returned."""
    clock, log = FakeClock(), []
    plan = {0: (1.5, ValueError("first")), 1: (1.5, ValueError("second"))}
    response = await run(hedged(racing(clock, plan, log), clock, delay=1.0), clock, 2.5)
    assert isinstance(response.error, ToolFailedError)
    assert "second" in response.error.message
    assert response.get(HEDGES) == 1


async def test_a_failure_before_the_delay_is_answered_at_once_without_a_hedge() -> None:
    """Hedging answers slowness, not failure: an early failure is the answer."""
    clock, log = FakeClock(), []
    plan = {0: (0.5, ValueError("broken")), 1: (0.0, "never")}
    response = await run(hedged(racing(clock, plan, log), clock, delay=1.0), clock, 0.5)
    assert response.error is not None
    assert response.error.category is ErrorCategory.TOOL_FAILED
    assert HEDGES not in response.extras
    assert log == [("start", 0, 1000.0)]
    assert clock.pending == 0


async def test_a_failure_waits_for_the_other_attempt_which_may_succeed() -> None:
    """The original fails after the hedge started: the hedge's success still wins."""
    clock, log = FakeClock(), []
    plan = {0: (1.2, ValueError("broken")), 1: (1.0, "rescued")}
    response = await run(hedged(racing(clock, plan, log), clock, delay=1.0), clock, 2.0)
    assert (response.value, response.get(HEDGES)) == ("rescued", 1)


@pytest.mark.parametrize(
    ("entry", "starts"),
    [({"idempotent": False}, 1), ({"idempotent": False, "retry": True}, 2)],
)
async def test_only_calls_that_may_repeat_are_hedged(entry: dict[str, Any], starts: int) -> None:
    """A non-idempotent entry is never hedged; one with retry=True is."""
    clock, log = FakeClock(), []
    plan = {0: (3.0, "a"), 1: (1.0, "b")}
    pipeline = hedged(racing(clock, plan, log, **entry), clock, delay=1.0)
    await run(pipeline, clock, 3.0)
    assert [event for event in log if event[0] == "start"][-1][1] == starts - 1


async def test_a_call_without_a_registry_entry_passes_through() -> None:
    """Routed to a bare handler, nothing says the call may repeat: one attempt."""
    clock = FakeClock()
    handler = FakeHandler(["only"], delay=3.0, clock=clock)
    response = await run(hedged(handler, clock, delay=1.0), clock, 3.0)
    assert response.value == "only"
    assert handler.call_count == 1


async def test_no_hedge_starts_at_or_after_the_deadline() -> None:
    """A deadline at the hedge's instant leaves the call unhedged; the second hedge of a
    later deadline is not started."""
    clock, log = FakeClock(), []
    plan = {0: (3.0, "a"), 1: (3.0, "b"), 2: (0.0, "c")}
    pipeline = hedged(racing(clock, plan, log), clock, delay=1.0, max_hedges=2)
    await run(pipeline, clock, 3.0, deadline=1001.0)
    assert log == [("start", 0, 1000.0)]
    log.clear()
    response = await run(pipeline, clock, 3.0, deadline=clock.monotonic() + 2.0)
    assert [event[1] for event in log if event[0] == "start"] == [0, 1]
    assert (response.value, response.get(HEDGES)) == ("a", 1)


async def test_the_deadline_ends_the_whole_race_and_cancels_every_attempt() -> None:
    """A timeout outside hedging cancels the original and the hedge at the deadline."""
    clock, log = FakeClock(), []
    plan = {0: (9.0, "a"), 1: (9.0, "b")}
    builder = PipelineBuilder(clock=clock).use(TimeoutInterceptor(timeout=1.5))
    pipeline = builder.use(HedgingInterceptor(delay=1.0)).route(racing(clock, plan, log)).build()
    response = await run(pipeline, clock, 1.5)
    assert response.error is not None
    assert response.error.category is ErrorCategory.TIMEOUT
    await clock.advance(0)
    assert sorted(log[2:]) == [("cancelled", 0, 1001.5), ("cancelled", 1, 1001.5)]
    assert clock.pending == 0


async def test_percentile_delay_is_the_nearest_rank_of_recent_successes() -> None:
    """p50 of the last 4 successes, with at least 3 known; before that, no hedge at all."""
    clock, log = FakeClock(), []
    plan: Plan = {0: (0.0, "x"), 1: (9.0, "h")}
    hedging = HedgingInterceptor(percentile=50.0, min_samples=3, window=4)
    pipeline = PipelineBuilder(clock=clock).use(hedging).route(racing(clock, plan, log)).build()
    plan[0] = (0.5, ValueError("no sample while warming up either"))
    await run(pipeline, clock, 0.5)
    assert hedging.delay_for("lookup") is None
    for seconds, expected in [(4.0, None), (1.0, None), (3.0, 3.0), (2.0, 2.0), (5.0, 2.0)]:
        plan[0] = (seconds, "x")
        await run(pipeline, clock, seconds)
        assert hedging.delay_for("lookup") == expected
    # The last call was hedged at 2.0 (p50 of 1, 2, 3, 4); the original won at 5.0. Failures
    # add no sample.
    plan[0] = (1.0, ValueError("no sample"))
    await run(pipeline, clock, 1.0)
    assert hedging.delay_for("lookup") == 2.0
    assert [event[1] for event in log if event[0] == "start"] == [0, 0, 0, 0, 0, 0, 1, 0]
    assert log[6] == ("start", 1, 1012.5)


async def test_percentile_hedges_at_the_computed_delay_and_records_the_winner() -> None:
    """With enough samples the hedge starts at the percentile; the winning hedge's own
    latency joins the window."""
    clock, log = FakeClock(), []
    plan: Plan = {0: (2.0, "x"), 1: (0.5, "h")}
    hedging = HedgingInterceptor(percentile=100.0, min_samples=1, window=2, delay=9.0)
    pipeline = PipelineBuilder(clock=clock).use(hedging).route(racing(clock, plan, log)).build()
    assert hedging.delay_for("lookup") == 9.0
    await run(pipeline, clock, 2.0)
    assert hedging.delay_for("lookup") == 2.0
    plan[0] = (5.0, "x")
    log.clear()
    response = await run(pipeline, clock, 2.5)
    assert (response.value, log[1]) == ("h", ("start", 1, 1004.0))
    assert hedging.delay_for("lookup") == 2.0  # window 2.0, 0.5: p100 is 2.0
    plan[0] = (0.25, "x")
    await run(pipeline, clock, 0.25)
    assert hedging.delay_for("lookup") == 0.5  # 2.0 dropped


async def test_percentile_without_samples_uses_the_fixed_delay() -> None:
    """Below min_samples the fixed delay applies."""
    clock, log = FakeClock(), []
    plan = {0: (5.0, "x"), 1: (0.5, "h")}
    pipeline = hedged(racing(clock, plan, log), clock, delay=1.0, percentile=90.0)
    response = await run(pipeline, clock, 1.5)
    assert (response.value, log[1]) == ("h", ("start", 1, 1001.0))


async def test_an_inner_crash_propagates_and_cancels_the_other_attempts() -> None:
    """An inner stage that raises ends the race like a plain await would: the pipeline
    reports the crash; the hedge still running is cancelled."""
    clock, log = FakeClock(), []

    async def crash_original(request: RequestContext, call_next: Any) -> Any:
        response = await call_next(request)
        if request.get(HEDGE) == 0:
            raise RuntimeError("inner stage broke")
        return response

    plan = {0: (1.5, "a"), 1: (9.0, "b")}
    pipeline = hedged(racing(clock, plan, log), clock, crash_original, delay=1.0)
    response = await run(pipeline, clock, 1.5)
    assert response.error is not None
    assert response.error.category is ErrorCategory.INTERNAL
    await clock.advance(0)
    assert log[-1] == ("cancelled", 1, 1001.5)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "needs delay= (seconds) or percentile="),
        ({"delay": 0}, "delay must be a positive, finite number of seconds, got 0"),
        ({"delay": -1.0}, "got -1.0"),
        ({"delay": math.nan}, "got nan"),
        ({"delay": math.inf}, "got inf"),
        ({"delay": True}, "got True"),
        ({"delay": "1"}, "got '1'"),
        ({"percentile": 0}, "percentile must be a number in (0, 100], got 0"),
        ({"percentile": 100.5}, "got 100.5"),
        ({"percentile": math.nan}, "got nan"),
        ({"percentile": True}, "got True"),
        ({"percentile": "95"}, "got '95'"),
        ({"delay": 1.0, "max_hedges": 0}, "max_hedges must be a whole number >= 1, got 0"),
        ({"delay": 1.0, "max_hedges": 1.0}, "max_hedges must be a whole number >= 1, got 1.0"),
        ({"delay": 1.0, "max_hedges": True}, "got True"),
        ({"delay": 1.0, "min_samples": 0}, "min_samples must be a whole number >= 1, got 0"),
        ({"delay": 1.0, "window": 0}, "window must be a whole number >= 1, got 0"),
        ({"delay": 1.0, "min_samples": 5, "window": 4}, "min_samples (5) must not exceed window"),
    ],
)
def test_bad_options_are_refused_with_the_value(options: dict[str, Any], message: str) -> None:
    """Each option is checked at construction; the message names it and the value."""
    with pytest.raises(ValueError, match=re.escape(message)):
        HedgingInterceptor(**options)


def test_limits_that_are_exactly_allowed_are_accepted() -> None:
    """percentile=100, min_samples == window and max_hedges=1 are valid."""
    hedging = HedgingInterceptor(percentile=100, min_samples=4, window=4, max_hedges=1)
    assert (hedging.percentile, hedging.min_samples, hedging.window) == (100, 4, 4)
    assert hedging.name == "hedging"
    assert hedging.delay is None


def test_the_clock_is_adopted_or_a_different_one_refused() -> None:
    """bind_clock adopts the pipeline's clock; an explicit other clock is refused."""
    with pytest.raises(TypeError, match=r"clock must implement toolware\.clock\.Clock, got 3"):
        HedgingInterceptor(delay=1.0, clock=3)  # type: ignore[arg-type]
    loose = HedgingInterceptor(delay=1.0)
    assert isinstance(loose.clock, SystemClock)
    clock = FakeClock()
    loose.bind_clock(clock)
    assert loose.clock is clock
    loose.bind_clock(clock)
    with pytest.raises(ValueError, match="HedgingInterceptor was given clock"):
        PipelineBuilder(clock=FakeClock()).use(loose).route(FakeHandler()).build()


async def test_a_sync_tool_on_the_worker_pool_is_hedged_and_its_thread_abandoned() -> None:
    """The original's worker thread blocks; the hedge's thread answers; the call returns
    without waiting for the blocked thread, which finishes once released."""
    clock = FakeClock()
    release, finished = threading.Event(), threading.Event()
    registry = LocalRegistry()

    @registry.tool(idempotent=True)
    def lookup(ctx: RequestContext) -> str:
        if ctx.get(HEDGE) == 0:
            release.wait(5.0)
            finished.set()
            return "original"
        return "hedge"

    pipeline = hedged(registry, clock, delay=1.0)
    async with pipeline:
        task = asyncio.create_task(pipeline.invoke("lookup"))
        await clock.advance(1.0)
        response = await asyncio.wait_for(task, timeout=5.0)
        assert (response.value, response.get(HEDGES)) == ("hedge", 1)
        assert not finished.is_set()
        release.set()
