"""Tests for toolware._deadlines: one clock timer serving many call deadlines."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from toolware import PipelineBuilder, TimeoutInterceptor
from toolware._deadlines import DeadlineWatcher
from toolware.context import RequestContext, ResponseContext
from toolware.errors import CallTimeoutError
from toolware.testing import FakeClock


async def sleeper(clock: FakeClock, seconds: float) -> str:
    await clock.sleep(seconds)
    return "done"


async def test_a_task_past_its_deadline_is_cancelled() -> None:
    """The watched task is cancelled once the clock reaches its deadline, not before."""
    clock = FakeClock()
    watcher = DeadlineWatcher(clock)
    task = asyncio.create_task(sleeper(clock, 10))
    await asyncio.sleep(0)
    watch = watcher.watch(clock.monotonic() + 2, task)  # type: ignore[arg-type]
    await clock.advance(1.9)
    assert not task.done()
    assert not watcher.fired(watch)
    await clock.advance(0.1)
    assert watcher.fired(watch)
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_done_before_the_deadline_cancels_nothing() -> None:
    """A finished call's deadline is forgotten; the timer wakes once and does not re-arm."""
    clock = FakeClock()
    watcher = DeadlineWatcher(clock)
    task = asyncio.create_task(sleeper(clock, 10))
    await asyncio.sleep(0)
    watch = watcher.watch(clock.monotonic() + 2, task)  # type: ignore[arg-type]
    watcher.done(watch)
    watcher.done(watch)  # idempotent
    assert watcher.pending == 0
    await clock.advance(3)
    assert not task.done()
    assert not watcher.fired(watch)
    assert clock.pending == 1  # only the sleeper's own timer
    task.cancel()


async def test_many_deadlines_share_one_timer() -> None:
    """A hundred later deadlines add no timers; an earlier one re-arms the single timer."""
    clock = FakeClock()
    watcher = DeadlineWatcher(clock)
    tasks = [asyncio.create_task(sleeper(clock, 100)) for _ in range(101)]
    await asyncio.sleep(0)
    start = clock.monotonic()
    watches = [watcher.watch(start + 10 + i, t) for i, t in enumerate(tasks[:100])]  # type: ignore[arg-type]
    assert clock.pending == 101 + 1  # the sleepers' timers and one deadline timer
    early = watcher.watch(start + 5, tasks[100])  # type: ignore[arg-type]
    assert clock.pending == 101 + 1  # the old deadline timer cancelled, an earlier one armed
    await clock.advance(5)
    assert watcher.fired(early)
    assert not any(watcher.fired(w) for w in watches)
    await clock.advance(5)
    assert watcher.fired(watches[0])
    assert not watcher.fired(watches[1])
    await clock.advance(100)
    assert all(watcher.fired(w) for w in watches)
    assert watcher.pending == 0
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_forgotten_deadlines_are_compacted() -> None:
    """Once most entries are forgotten the heap is rebuilt, so memory follows calls in flight."""
    clock = FakeClock()
    watcher = DeadlineWatcher(clock)
    task = asyncio.create_task(sleeper(clock, 1000))
    await asyncio.sleep(0)
    keep = watcher.watch(clock.monotonic() + 500, task)  # type: ignore[arg-type]
    for i in range(1000):
        watcher.done(watcher.watch(clock.monotonic() + 100 + i, task))  # type: ignore[arg-type]
    assert watcher.pending == 1
    assert len(watcher._heap) < 200
    await clock.advance(500)
    assert watcher.fired(keep)
    with pytest.raises(asyncio.CancelledError):
        await task


def test_one_interceptor_serves_successive_event_loops() -> None:
    """Each event loop gets its own watcher: a timeout still fires in a second asyncio.run()."""
    interceptor = TimeoutInterceptor(timeout=0.02)

    async def stuck(request: RequestContext) -> ResponseContext:
        await asyncio.sleep(5)
        return ResponseContext.success("late")

    pipeline = PipelineBuilder().use(interceptor).route(stuck).build()
    for _ in range(2):
        response = asyncio.run(pipeline.invoke("stuck"))
        assert isinstance(response.error, CallTimeoutError)


def test_a_second_event_loop_gets_its_own_timer_after_a_call_finished_early() -> None:
    """A first loop that ends with its timer still armed must not disarm the second loop."""
    interceptor = TimeoutInterceptor(timeout=0.2)

    async def handler(request: RequestContext) -> ResponseContext:
        await asyncio.sleep(float(request.arguments["seconds"]))
        return ResponseContext.success("done")

    pipeline = PipelineBuilder().use(interceptor).route(handler).build()
    assert asyncio.run(pipeline.invoke("quick", {"seconds": 0})).unwrap() == "done"
    response = asyncio.run(pipeline.invoke("slow", {"seconds": 1.5}))
    assert isinstance(response.error, CallTimeoutError)
    assert response.error.limit == 0.2


async def test_pending_counts_only_waiting_deadlines() -> None:
    """done() and firing both take a deadline out of pending; done() twice counts once."""
    clock = FakeClock()
    watcher = DeadlineWatcher(clock)
    task = asyncio.create_task(sleeper(clock, 1000))
    await asyncio.sleep(0)
    watches = [watcher.watch(clock.monotonic() + 10 + i, task) for i in range(10)]  # type: ignore[arg-type]
    for watch in watches[:3]:
        watcher.done(watch)
        watcher.done(watch)
    assert watcher.pending == 7
    await clock.advance(13.5)  # fires the 4th deadline (10+3): the task is cancelled once
    assert watcher.pending == 6
    assert [watcher.fired(w) for w in watches[2:5]] == [False, True, False]
    with pytest.raises(asyncio.CancelledError):
        await task


def rebuilds(calls: int, finished_at_head: int = 0) -> list[tuple[int, int]]:
    """Watch ``calls`` deadlines, let the timer drop ``finished_at_head`` finished ones from
    the head of the heap, then finish the rest one by one: for each rebuild of the heap, how
    many calls had finished and the heap's size right after."""

    async def run() -> list[tuple[int, int]]:
        clock = FakeClock()
        watcher = DeadlineWatcher(clock)
        task = asyncio.create_task(sleeper(clock, 10_000))
        await asyncio.sleep(0)
        start = clock.monotonic()
        watches = [watcher.watch(start + 1 + i, task) for i in range(calls)]  # type: ignore[arg-type]
        for watch in watches[:finished_at_head]:
            watcher.done(watch)
        await clock.advance(0.5 + finished_at_head)  # the timer pops the finished head entries
        seen = []
        for finished, watch in enumerate(watches[finished_at_head:], finished_at_head + 1):
            size = len(watcher._heap)
            watcher.done(watch)
            if len(watcher._heap) < size:
                seen.append((finished, len(watcher._heap)))
        task.cancel()
        return seen

    return asyncio.run(run())


def test_the_heap_is_rebuilt_once_more_than_64_and_most_entries_are_finished() -> None:
    """Rebuilt at the first finish with over 64 finished entries making up over half the heap,
    counting entries the timer already dropped, and counting again from zero afterwards."""
    assert rebuilds(100) == [(65, 35)]  # 65 > 64 and 130 > 100
    assert rebuilds(202) == [(102, 100), (167, 35)]  # 204 > 202 (not 202 >= 202); then 65
    assert rebuilds(200) == [(101, 99), (166, 34)]  # 202 > 200; then 65 > 64 and 130 > 99
    # Ten finished entries popped at the head by the timer are no longer in the heap (190
    # left, none of them finished): the next rebuild comes at 96 more finished, 192 > 190.
    assert rebuilds(200, finished_at_head=10) == [(106, 94), (171, 29)]


async def test_done_reports_a_fired_deadline_once() -> None:
    """done() counts the cancels of a watch that fired (1), which then stops counting as
    fired; a second done(), or done() of a watch that never fired, is 0."""
    clock = FakeClock()
    watcher = DeadlineWatcher(clock)
    task = asyncio.create_task(sleeper(clock, 10))
    await asyncio.sleep(0)
    watch = watcher.watch(clock.monotonic() + 1, task)  # type: ignore[arg-type]
    await clock.advance(1)
    assert watcher.fired(watch)
    assert watcher.done(watch) == 1
    assert not watcher.fired(watch)
    assert watcher.done(watch) == 0
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_fired_task_that_ended_by_itself_is_not_cancelled_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A watch left undone after its task finished is neither cancelled nor reported again."""
    from toolware._deadlines import RECANCEL_AFTER, RECANCEL_TIMES

    clock = FakeClock()
    watcher = DeadlineWatcher(clock)
    task = asyncio.create_task(sleeper(clock, 10))
    await asyncio.sleep(0)
    watcher.watch(clock.monotonic() + 1, task)  # type: ignore[arg-type]
    await clock.advance(1)
    with pytest.raises(asyncio.CancelledError):
        await task
    for times in range(1, RECANCEL_TIMES + 3):
        await clock.advance(RECANCEL_AFTER * times)
    assert clock.pending == 0  # the re-cancel timer saw the task done and stopped
    assert "timeout.abandon_failed" not in caplog.text


async def test_equal_deadlines_share_the_armed_timer() -> None:
    """A second watch with the same deadline does not re-arm the clock timer."""
    from toolware.testing import FakeClock as Base

    class Counting(Base):
        armed = 0

        def call_at(self, when: float, callback: Any) -> Any:
            if getattr(callback, "__name__", "") == "_fire":  # the watcher's own timer
                Counting.armed += 1
            return super().call_at(when, callback)

    clock = Counting()
    watcher = DeadlineWatcher(clock)
    task = asyncio.create_task(sleeper(clock, 10))
    await asyncio.sleep(0)
    for _ in range(3):
        watcher.watch(clock.monotonic() + 1, task)  # type: ignore[arg-type]
    assert Counting.armed == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
