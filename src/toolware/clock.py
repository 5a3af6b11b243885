"""The clock protocol every time-based part of toolware takes as an argument.

Logic never calls ``time.time()`` or ``loop.time()`` itself: it asks the clock it was given, so
tests can drive time with :class:`toolware.testing.FakeClock` instead of sleeping.

Two timelines are exposed. ``monotonic()`` is for durations and deadlines (it never jumps);
``time()`` is wall-clock seconds since the epoch, used only to stamp ids and logs.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "SystemClock", "TimerHandle", "system_clock"]


class TimerHandle(Protocol):
    """A scheduled callback that can be cancelled before it runs."""

    def cancel(self) -> None: ...


@runtime_checkable
class Clock(Protocol):
    """Where toolware reads time and schedules timers."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards; deadlines live on this timeline."""
        ...

    def time(self) -> float:
        """Wall-clock seconds since the Unix epoch."""
        ...

    def call_at(self, when: float, callback: Callable[[], object]) -> TimerHandle:
        """Run ``callback`` on the event loop once ``monotonic()`` reaches ``when``."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Suspend the calling task for ``seconds`` of this clock's time."""
        ...


class SystemClock:
    """The real clock: ``time.monotonic`` (the event loop's own timeline) and ``time.time``."""

    __slots__ = ()

    # The C functions themselves, not wrappers: clock reads sit on every call's path.
    monotonic = staticmethod(time.monotonic)
    time = staticmethod(time.time)

    def call_at(self, when: float, callback: Callable[[], object]) -> TimerHandle:
        # Converted to a delay: asyncio's own loops use time.monotonic(), but other loops
        # (uvloop) keep a clock of their own. asyncio's loops run what falls due within their
        # clock resolution, so they get the exact delay. libuv-based loops count whole
        # milliseconds from a loop time cached at the start of each iteration: a delay taken
        # from time.monotonic() would end early by the cache's age and by the truncation, wake
        # before `when`, find nothing due, and re-arm in a spin. So for them the delay is
        # measured from the loop's own (cached) time when that time is on our timeline, and
        # rounded up to the next millisecond.
        loop = asyncio.get_running_loop()
        now = time.monotonic()
        delay = when - now
        if delay > 0 and not isinstance(loop, asyncio.BaseEventLoop):
            loop_now = loop.time()
            if 0 <= now - loop_now < 1.0:  # the same clock, read earlier (uvloop on Linux)
                delay = when - loop_now
            delay = math.ceil(delay * 1000) / 1000
        return loop.call_later(delay, callback)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    def __repr__(self) -> str:
        return "SystemClock()"


system_clock = SystemClock()
