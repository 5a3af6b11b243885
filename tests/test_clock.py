"""Tests for toolware.clock: the real clock and the Clock protocol."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from toolware.clock import Clock, SystemClock, TimerHandle, system_clock
from toolware.context import RequestContext, ResponseContext
from toolware.testing import FakeClock


def test_system_clock_reads_the_real_clocks() -> None:
    """monotonic() and time() are the time module's clocks."""
    before = time.monotonic()
    reading = system_clock.monotonic()
    assert before <= reading <= time.monotonic()
    wall_before = time.time()
    wall = system_clock.time()
    assert wall_before <= wall <= time.time()


async def test_system_clock_monotonic_is_the_loop_timeline() -> None:
    """The loop's time and the clock's monotonic() are one timeline."""
    loop = asyncio.get_running_loop()
    assert abs(loop.time() - system_clock.monotonic()) < 0.05


async def test_call_at_fires_on_the_running_loop() -> None:
    """call_at() runs the callback on the running loop once the deadline passes."""
    loop = asyncio.get_running_loop()
    fired: asyncio.Future[float] = loop.create_future()
    system_clock.call_at(system_clock.monotonic() + 0.01, lambda: fired.set_result(loop.time()))
    when = await asyncio.wait_for(fired, timeout=5)
    assert when >= system_clock.monotonic() - 5


async def test_call_at_can_be_cancelled() -> None:
    """A cancelled timer does not run its callback."""
    fired: list[bool] = []
    handle = system_clock.call_at(system_clock.monotonic() + 0.01, lambda: fired.append(True))
    handle.cancel()
    await asyncio.sleep(0.03)
    assert fired == []


async def test_call_at_in_the_past_runs_soon() -> None:
    """A deadline already passed fires on the next loop turn."""
    fired: list[bool] = []
    system_clock.call_at(system_clock.monotonic() - 1, lambda: fired.append(True))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert fired == [True]


async def test_sleep_waits() -> None:
    """sleep() suspends for about the given time."""
    start = time.monotonic()
    await system_clock.sleep(0.02)
    assert time.monotonic() - start >= 0.015


async def test_sleep_zero_yields() -> None:
    """sleep(0) lets other ready tasks run."""
    ran: list[bool] = []

    async def other() -> None:
        ran.append(True)

    task = asyncio.create_task(other())
    await system_clock.sleep(0)
    assert ran == [True]
    await task


def test_clocks_satisfy_the_protocol() -> None:
    """SystemClock and FakeClock are Clocks; the module clock is a SystemClock."""
    assert isinstance(system_clock, SystemClock)
    assert isinstance(system_clock, Clock)
    assert isinstance(FakeClock(), Clock)
    assert repr(system_clock) == "SystemClock()"


def test_call_at_works_on_a_loop_with_its_own_timeline() -> None:
    """A loop whose time() is not time.monotonic() (uvloop) still fires the timer on time."""
    loop = asyncio.new_event_loop()
    offset = 1_000_000.0
    loop.time = lambda: time.monotonic() - offset  # type: ignore[method-assign]
    fired: list[float] = []

    async def main() -> None:
        done = loop.create_future()
        clock = SystemClock()

        def callback() -> None:
            fired.append(time.monotonic())
            done.set_result(None)

        started = time.monotonic()
        clock.call_at(started + 0.01, callback)
        await asyncio.wait_for(done, timeout=1.0)
        assert fired[0] - started < 0.5

    try:
        loop.run_until_complete(main())
    finally:
        loop.close()


def test_on_uvloop_an_expired_deadline_wakes_the_timer_once() -> None:
    """libuv truncates delays to milliseconds; rounded up, the timer does not spin early."""
    import uvloop

    from toolware import CallTimeoutError, PipelineBuilder, TimeoutInterceptor
    from toolware.clock import SystemClock

    class CountingClock(SystemClock):
        """The system clock, counting how often a timer is armed."""

        armed = 0

        def call_at(self, when: float, callback: Callable[[], object]) -> TimerHandle:
            if getattr(callback, "__name__", "") == "_fire":  # the deadline timer itself
                CountingClock.armed += 1
            return super().call_at(when, callback)

    async def stuck(request: RequestContext) -> ResponseContext:
        await asyncio.sleep(1)
        return ResponseContext.success("late")

    clock = CountingClock()
    pipeline = (
        PipelineBuilder(clock=clock).use(TimeoutInterceptor(timeout=0.0005)).route(stuck).build()
    )
    runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
    with runner:
        for _ in range(20):
            response = runner.run(pipeline.invoke("stuck"))
            assert isinstance(response.error, CallTimeoutError)
    assert CountingClock.armed == 20  # one timer per expired deadline, no re-arming
