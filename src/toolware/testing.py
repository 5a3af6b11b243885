"""Fakes for testing code that uses toolware, without sleeping or real tools.

clock = FakeClock()
handler = FakeHandler(outcomes=[ConnectionError("down"), "ok"], delay=0.5, clock=clock)
pipeline = PipelineBuilder(clock=clock).use(TimeoutInterceptor(timeout=1.0, clock=clock))
pipeline = pipeline.route(handler).build()
task = asyncio.create_task(pipeline.invoke("search"))
await clock.advance(1.0)          # fires timers due by then, letting tasks run in between
response = await task
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable, Iterable
from typing import Any

from toolware.context import RequestContext, ResponseContext
from toolware.errors import ToolFailedError, ToolwareError

__all__ = ["FakeClock", "FakeHandler"]


class _FakeTimer:
    __slots__ = ("callback", "cancelled", "when")

    def __init__(self, when: float, callback: Callable[[], object]) -> None:
        self.when = when
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class FakeClock:
    """A clock that moves only when told. Timers and ``sleep`` fire as time is advanced."""

    def __init__(self, *, start: float = 1_000.0, wall: float = 1_767_225_600.0) -> None:
        self._now = start
        self._wall_offset = wall - start
        self._timers: list[tuple[float, int, _FakeTimer]] = []
        self._sequence = itertools.count()

    def monotonic(self) -> float:
        return self._now

    def time(self) -> float:
        return self._now + self._wall_offset

    def call_at(self, when: float, callback: Callable[[], object]) -> _FakeTimer:
        timer = _FakeTimer(when, callback)
        heapq.heappush(self._timers, (when, next(self._sequence), timer))
        return timer

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:  # like asyncio.sleep(0): yield once, without waiting for advance()
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def wake() -> None:
            if not future.done():
                future.set_result(None)

        timer = self.call_at(self._now + seconds, wake)
        try:
            await future
        finally:
            timer.cancel()

    @property
    def pending(self) -> int:
        """How many timers are waiting (cancelled ones excluded)."""
        return sum(1 for _, _, timer in self._timers if not timer.cancelled)

    def advance_now(self, seconds: float) -> None:
        """Move time forward and run due timer callbacks, without yielding to the loop."""
        if seconds < 0:
            raise ValueError(f"time only moves forward; got advance({seconds})")
        target = self._now + seconds
        while self._timers and self._timers[0][0] <= target:
            when, _, timer = heapq.heappop(self._timers)
            self._now = max(self._now, when)
            if not timer.cancelled:
                timer.callback()
        self._now = target

    async def advance(self, seconds: float) -> None:
        """Let other tasks run, move time forward, and let them react to fired timers.

        Time moves timer by timer, with the loop running in between, so a task woken by one
        timer can schedule the next before time passes it.
        """
        if seconds < 0:
            raise ValueError(f"time only moves forward; got advance({seconds})")
        await settle()
        target = self._now + seconds
        while self._timers and self._timers[0][0] <= target:
            self.advance_now(max(0.0, self._timers[0][0] - self._now))  # may be overdue
            await settle()
        self.advance_now(target - self._now)
        await settle()


async def settle(rounds: int = 20) -> None:
    """Yield to the event loop a few times so ready tasks run up to their next real wait."""
    for _ in range(rounds):
        await asyncio.sleep(0)


class FakeHandler:
    """A terminal handler with scripted outcomes that records every request it gets.

    ``outcomes`` are consumed one per call (the last one repeats): a value becomes a success,
    a :class:`ToolwareError` a failure with that error, any other exception a ``tool_failed``
    error caused by it. ``delay`` waits on ``clock`` before answering.

    A :class:`ToolwareError` outcome is returned itself the first time and as a copy when it
    repeats, so each response's error carries its own call's ``request_id``.
    """

    def __init__(
        self,
        outcomes: Iterable[Any] = (None,),
        *,
        delay: float = 0.0,
        clock: Any = None,
        name: str = "fake",
    ) -> None:
        self._outcomes = list(outcomes)
        if not self._outcomes:
            raise ValueError("FakeHandler needs at least one outcome")
        if delay < 0:
            raise ValueError(f"FakeHandler(delay=...) must be >= 0 seconds, got {delay}")
        if delay and clock is None:
            raise ValueError("FakeHandler(delay=...) needs clock= to wait on (e.g. FakeClock())")
        self.delay = delay
        self.clock = clock
        self.name = name
        self.calls: list[RequestContext] = []
        # Unbound copies of the error outcomes already returned once, by id of the outcome.
        self._unbound: dict[int, ToolwareError] = {}

    @property
    def call_count(self) -> int:
        return len(self.calls)

    async def __call__(self, request: RequestContext) -> ResponseContext:
        index = min(len(self.calls), len(self._outcomes) - 1)
        self.calls.append(request)
        if self.delay:
            await self.clock.sleep(self.delay)
        outcome = self._outcomes[index]
        if isinstance(outcome, ToolwareError):
            unbound = self._unbound.get(id(outcome))
            if unbound is None:
                self._unbound[id(outcome)] = outcome.copy()  # before bind() fills it in
            else:
                outcome = unbound.copy()
            return ResponseContext.failure(outcome.bind(request.id, request.qualified_name))
        if isinstance(outcome, BaseException):
            error = ToolFailedError(
                f"{request.qualified_name!r} raised {type(outcome).__name__}: {outcome}",
                request_id=request.id,
                target=request.qualified_name,
            )
            error.__cause__ = outcome
            return ResponseContext.failure(error)
        return ResponseContext.success(outcome)
