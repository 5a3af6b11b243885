"""Tests for toolware.testing: FakeClock and FakeHandler."""

from __future__ import annotations

import asyncio

import pytest

from toolware.context import RequestContext
from toolware.errors import ErrorCategory, RateLimitedError, ToolFailedError
from toolware.pipeline import PipelineBuilder
from toolware.testing import FakeClock, FakeHandler, settle

# --- FakeClock -------------------------------------------------------------------------------


def test_fake_clock_starts_where_told() -> None:
    """monotonic() starts at `start` and time() at `wall`, and both move together."""
    clock = FakeClock(start=5.0, wall=1_000_000.0)
    assert clock.monotonic() == 5.0
    assert clock.time() == 1_000_000.0
    clock.advance_now(2.5)
    assert clock.monotonic() == 7.5
    assert clock.time() == 1_000_002.5


def test_fake_clock_defaults() -> None:
    """By default monotonic starts at 1000 and wall time at 2026-01-01T00:00:00Z."""
    clock = FakeClock()
    assert clock.monotonic() == 1_000.0
    assert clock.time() == 1_767_225_600.0


async def test_advance_fires_timers_in_order() -> None:
    """Timers fire in deadline order, ties in scheduling order, each at its own time."""
    clock = FakeClock(start=0.0)
    fired: list[tuple[str, float]] = []

    def note(name: str) -> None:
        fired.append((name, clock.monotonic()))

    clock.call_at(3.0, lambda: note("c"))
    clock.call_at(1.0, lambda: note("a"))
    clock.call_at(2.0, lambda: note("b1"))
    clock.call_at(2.0, lambda: note("b2"))
    clock.call_at(9.0, lambda: note("late"))
    await clock.advance(5.0)
    assert fired == [("a", 1.0), ("b1", 2.0), ("b2", 2.0), ("c", 3.0)]
    assert clock.monotonic() == 5.0
    assert clock.pending == 1


async def test_cancelled_timers_do_not_fire() -> None:
    """A cancelled timer is skipped and no longer counted as pending."""
    clock = FakeClock(start=0.0)
    fired: list[str] = []
    keep = clock.call_at(1.0, lambda: fired.append("keep"))
    drop = clock.call_at(1.0, lambda: fired.append("drop"))
    assert clock.pending == 2
    drop.cancel()
    drop.cancel()
    assert clock.pending == 1
    await clock.advance(2.0)
    assert fired == ["keep"]
    keep.cancel()
    assert clock.pending == 0


async def test_timer_exactly_at_the_target_fires() -> None:
    """A timer due exactly at the advanced-to time fires."""
    clock = FakeClock(start=0.0)
    fired: list[bool] = []
    clock.call_at(1.0, lambda: fired.append(True))
    await clock.advance(0.999)
    assert fired == []
    await clock.advance(0.001)
    assert fired == [True]


async def test_timer_due_in_the_past_fires_on_the_next_advance() -> None:
    """A timer scheduled before now fires on the next advance, even advance(0)."""
    clock = FakeClock(start=10.0)
    fired: list[float] = []
    clock.call_at(5.0, lambda: fired.append(clock.monotonic()))
    await clock.advance(0)
    assert fired == [10.0]


async def test_sleep_wakes_at_the_right_fake_time() -> None:
    """A sleeping task wakes when, and only when, fake time reaches its deadline."""
    clock = FakeClock(start=100.0)
    woke: list[float] = []

    async def sleeper(seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append(clock.monotonic())

    task = asyncio.create_task(sleeper(2.0))
    await clock.advance(1.9)
    assert woke == []
    assert not task.done()
    await clock.advance(0.1)
    assert woke == [102.0]
    await task


async def test_chained_sleeps_each_wake_on_time() -> None:
    """A task that sleeps again after waking is woken again within the same advance."""
    clock = FakeClock(start=0.0)
    woke: list[float] = []

    async def ticker() -> None:
        for _ in range(3):
            await clock.sleep(1.0)
            woke.append(clock.monotonic())

    task = asyncio.create_task(ticker())
    await clock.advance(10.0)
    assert woke == [1.0, 2.0, 3.0]
    assert clock.monotonic() == 10.0
    await task


async def test_sleep_zero_does_not_wait_for_advance() -> None:
    """sleep(0) (or less) only yields to the loop, like asyncio.sleep(0)."""
    clock = FakeClock()
    await asyncio.wait_for(clock.sleep(0), timeout=1)
    await asyncio.wait_for(clock.sleep(-1), timeout=1)
    assert clock.pending == 0
    assert clock.monotonic() == 1_000.0


async def test_cancelled_sleep_cancels_its_timer() -> None:
    """Cancelling a sleeping task removes its pending timer."""
    clock = FakeClock()
    task = asyncio.create_task(clock.sleep(5.0))
    await settle()
    assert clock.pending == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert clock.pending == 0


async def test_time_only_moves_forward() -> None:
    """Negative advances are refused and leave the time unchanged."""
    clock = FakeClock(start=3.0)
    with pytest.raises(ValueError, match="time only moves forward"):
        clock.advance_now(-1.0)
    with pytest.raises(ValueError, match="time only moves forward"):
        await clock.advance(-0.5)
    assert clock.monotonic() == 3.0


def test_advance_now_runs_callbacks_without_the_loop() -> None:
    """advance_now() fires due callbacks synchronously, outside any event loop."""
    clock = FakeClock(start=0.0)
    fired: list[float] = []
    clock.call_at(1.0, lambda: fired.append(clock.monotonic()))
    clock.call_at(1.5, lambda: clock.call_at(1.7, lambda: fired.append(clock.monotonic())))
    clock.advance_now(2.0)
    assert fired == [1.0, 1.7]
    assert clock.monotonic() == 2.0


# --- FakeHandler -----------------------------------------------------------------------------


def _request(target: str = "search") -> RequestContext:
    return RequestContext.create(target)


async def test_outcomes_in_sequence_and_the_last_repeats() -> None:
    """Outcomes are used one per call; once used up, the last one repeats."""
    handler = FakeHandler(["a", "b"])
    values = [(await handler(_request())).value for _ in range(4)]
    assert values == ["a", "b", "b", "b"]


async def test_default_outcome_is_a_none_success() -> None:
    """Without outcomes, every call succeeds with None."""
    response = await FakeHandler()(_request())
    assert response.ok
    assert response.value is None


async def test_exception_outcome_becomes_tool_failed_with_cause() -> None:
    """A plain exception outcome is a tool_failed error caused by it, bound to the call."""
    cause = ConnectionError("down")
    handler = FakeHandler([cause])
    request = RequestContext.create("notes", action="add")
    response = await handler(request)
    error = response.error
    assert isinstance(error, ToolFailedError)
    assert error.category is ErrorCategory.TOOL_FAILED
    assert error.__cause__ is cause
    assert error.message == "'notes.add' raised ConnectionError: down"
    assert (error.request_id, error.target) == (request.id, "notes.add")
    assert not error.retryable


async def test_toolware_error_outcome_keeps_its_category() -> None:
    """A ToolwareError outcome is returned as that error, bound to the call."""
    outcome = RateLimitedError("slow down", retry_after=3.0)
    handler = FakeHandler([outcome])
    request = _request()
    response = await handler(request)
    assert response.error is outcome
    assert outcome.category is ErrorCategory.RATE_LIMITED
    assert outcome.request_id == request.id


async def test_repeated_error_outcome_is_bound_to_each_call() -> None:
    """A repeating error outcome names each call's own request id, not the first one's."""
    cause = OSError("x")
    outcome = RateLimitedError("slow down", retry_after=3.0)
    outcome.__cause__ = cause
    handler = FakeHandler([outcome])
    first, second = _request(), _request("other")
    first_error = (await handler(first)).error
    second_error = (await handler(second)).error
    assert first_error is not None
    assert second_error is not None
    assert first_error.request_id == first.id
    assert (second_error.request_id, second_error.target) == (second.id, "other")
    assert isinstance(second_error, RateLimitedError)
    assert second_error.retry_after == 3.0
    assert second_error.__cause__ is cause


async def test_handler_records_calls() -> None:
    """Every request is recorded in order and counted."""
    handler = FakeHandler(["ok"])
    requests = [_request("a"), _request("b")]
    for request in requests:
        await handler(request)
    assert handler.calls == requests
    assert handler.call_count == 2


async def test_delay_waits_on_the_clock() -> None:
    """With a delay the answer comes only once the clock has advanced that far."""
    clock = FakeClock()
    handler = FakeHandler(["late"], delay=2.0, clock=clock)
    task = asyncio.create_task(handler(_request()))
    await clock.advance(1.0)
    assert not task.done()
    assert handler.call_count == 1
    await clock.advance(1.0)
    assert task.done()
    assert (await task).value == "late"


async def test_concurrent_delayed_calls_get_outcomes_in_call_order() -> None:
    """Outcomes are assigned when a call starts, not when it finishes."""
    clock = FakeClock()
    handler = FakeHandler(["first", "second"], delay=1.0, clock=clock)
    tasks = [asyncio.create_task(handler(_request())) for _ in range(2)]
    await clock.advance(1.0)
    assert [(await task).value for task in tasks] == ["first", "second"]


async def test_fake_handler_works_as_a_pipeline_terminal() -> None:
    """A pipeline routed to a FakeHandler names it by its name."""
    handler = FakeHandler(["ok"], name="tools")
    pipeline = PipelineBuilder().route(handler).build()
    assert (await pipeline.invoke("search")).value == "ok"
    assert pipeline.describe() == ("tools",)


def test_refuses_empty_outcomes() -> None:
    """At least one outcome is needed."""
    with pytest.raises(ValueError, match="at least one outcome"):
        FakeHandler([])


def test_refuses_delay_without_clock() -> None:
    """A delay needs a clock to wait on."""
    with pytest.raises(ValueError, match="needs clock="):
        FakeHandler(["x"], delay=1.0)


def test_refuses_negative_delay() -> None:
    """A negative delay is refused."""
    with pytest.raises(ValueError, match=">= 0"):
        FakeHandler(["x"], delay=-1.0, clock=FakeClock())


async def test_settle_lets_ready_tasks_run() -> None:
    """settle() yields until tasks that are ready have run to their next wait."""
    steps: list[int] = []

    async def worker() -> None:
        for step in range(5):
            steps.append(step)
            await asyncio.sleep(0)

    task = asyncio.create_task(worker())
    await settle()
    assert steps == [0, 1, 2, 3, 4]
    assert task.done()


async def test_timer_firing_after_cancellation_is_harmless() -> None:
    """A sleep cancelled just before its timer fires stays cancelled, without errors."""
    clock = FakeClock()
    task = asyncio.create_task(clock.sleep(1.0))
    await settle()
    task.cancel()
    clock.advance_now(2.0)
    with pytest.raises(asyncio.CancelledError):
        await task
