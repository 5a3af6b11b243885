"""One hedged call: the original attempt runs inline, hedges run as tasks beside it.

The original attempt is awaited in the caller's own task, like any interceptor's
``call_next``: a call answered before the hedge delay costs one timer, no task and no extra
turn of the event loop. When the timer fires, a hedge starts as a task of its own (each
later hedge ``delay`` after the previous one). A hedge that succeeds while the original still
runs cancels the caller's task (the original attempt's await) and the cancellation is then
taken back (``uncancel``), as :class:`~toolware.interceptors.timeout.TimeoutInterceptor` does
with its deadline; a cancellation that someone else asked for still propagates.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import TYPE_CHECKING

from toolware.clock import Clock, TimerHandle
from toolware.context import RequestContext, ResponseContext
from toolware.markers import HEDGE, HEDGES
from toolware.types import CallNext

if TYPE_CHECKING:
    from toolware.interceptors._latency_window import LatencyWindow

__all__ = ["HedgeRace"]

logger = logging.getLogger("toolware.interceptors.hedging")

# Tasks closing the streams of losers that answered after the race was decided; kept here so
# they are not collected while they run.
_closing: set[asyncio.Task[None]] = set()


class HedgeRace:
    """The state of one hedged call; :meth:`run` is the whole of it."""

    __slots__ = (
        "call_next",
        "clock",
        "crash",
        "deadline",
        "delay",
        "failure",
        "finished",
        "hedges",
        "interrupted",
        "max_hedges",
        "primary_done",
        "request",
        "running",
        "task",
        "timer",
        "waiter",
        "winner",
        "winner_start",
    )

    def __init__(
        self,
        request: RequestContext,
        call_next: CallNext,
        clock: Clock,
        delay: float,
        max_hedges: int,
    ) -> None:
        self.request, self.call_next, self.clock = request, call_next, clock
        self.delay, self.max_hedges, self.deadline = delay, max_hedges, request.deadline
        self.hedges = 0
        self.running: list[tuple[asyncio.Task[ResponseContext], float, int]] = []
        self.timer: TimerHandle | None = None
        self.winner: ResponseContext | None = None
        self.winner_start = 0.0
        self.failure: ResponseContext | None = None
        self.crash: BaseException | None = None
        self.waiter: asyncio.Future[None] | None = None
        self.interrupted = self.primary_done = self.finished = False
        self.task: asyncio.Task[object] | None = None

    async def run(self, started: float, samples: LatencyWindow | None) -> ResponseContext:
        """Race the original call (started at ``started``) against hedges; record the
        winner's latency in ``samples``."""
        task = self.task = asyncio.current_task()
        if task is None:  # pragma: no cover - a coroutine always runs in a task under asyncio
            raise RuntimeError("HedgingInterceptor must run inside an asyncio task")
        self.timer = self.clock.call_at(started + self.delay, self.due)
        cancelling = task.cancelling()
        try:
            response = await self.call_next(self.request)
        except asyncio.CancelledError:
            if self.interrupted and task.uncancel() <= cancelling:
                return self.decided(samples)
            await self.abandon()
            raise
        except BaseException as exc:
            if self.interrupted:
                others = task.uncancel() > cancelling
                if self.winner is not None and not others and isinstance(exc, Exception):
                    _crashed(exc)  # the original raised as it was cancelled: it lost anyway
                    return self.decided(samples)
            await self.abandon()
            raise
        if self.interrupted:  # decided while the original ignored its cancellation
            task.uncancel()
            if response.stream is not None:
                await response.stream.aclose()
            return self.decided(samples)
        self.primary_done = True
        if response.error is None:
            self.stop()
            if samples is not None:
                samples.add(self.clock.monotonic() - started)
            return response if self.hedges == 0 else response.with_extra(HEDGES, self.hedges)
        self.failure = response
        while self.running and self.winner is None and self.crash is None:
            self.waiter = task.get_loop().create_future()
            try:
                await self.waiter
            except asyncio.CancelledError:
                await self.abandon()
                raise
        return self.decided(samples)

    def decided(self, samples: LatencyWindow | None) -> ResponseContext:
        """The answer once the race is over: the winner, a hedge's crash, or the last
        failure."""
        self.stop()
        if self.crash is not None:
            raise self.crash
        winner = self.winner
        if winner is None:
            winner = self.failure
            if winner is None:  # pragma: no cover - decided() follows an end or a win
                raise RuntimeError("hedged call decided with no answer")
        elif samples is not None:
            samples.add(self.clock.monotonic() - self.winner_start)
        return winner if self.hedges == 0 else winner.with_extra(HEDGES, self.hedges)

    def due(self) -> None:
        """The hedge timer fired: start the next hedge, and arm the timer for the one after."""
        self.timer = None
        self.hedges = number = self.hedges + 1
        request = self.request
        now = self.clock.monotonic()
        name = request.qualified_name
        logger.debug(
            "hedging.started target=%s hedge=%s request_id=%s",
            name,
            number,
            request.id,
            extra={"target": name, "hedge": number, "request_id": request.id},
        )
        hedged = request.with_extra(HEDGE, number)
        loop = self.task.get_loop()  # type: ignore[union-attr] # set by run() before any timer
        attempt = loop.create_task(_attempt(self.call_next, hedged))
        attempt.add_done_callback(self.ended)
        self.running.append((attempt, now, number))
        deadline, at = self.deadline, now + self.delay
        if number < self.max_hedges and (deadline is None or at < deadline):
            self.timer = self.clock.call_at(at, self.due)

    def ended(self, attempt: asyncio.Task[ResponseContext]) -> None:
        """A hedge ended: the first success (or crash) decides the race, and so does the
        last failure once the original has failed too."""
        if self.finished or self.winner is not None or self.crash is not None:
            _discard(attempt)
            return
        index = next(i for i, entry in enumerate(self.running) if entry[0] is attempt)
        _, began, number = self.running.pop(index)
        # A hedge cancelled from inside (a stage raised CancelledError) gave no answer.
        if not attempt.cancelled():
            crash = attempt.exception()
            if crash is not None:
                self.crash = crash
            elif (response := attempt.result()).error is None:
                self.winner, self.winner_start = response, began
                name, request_id = self.request.qualified_name, self.request.id
                logger.debug(
                    "hedging.won target=%s hedge=%s request_id=%s",
                    name,
                    number,
                    request_id,
                    extra={"target": name, "hedge": number, "request_id": request_id},
                )
            else:
                self.failure = response
        if self.winner is None and self.crash is None and (self.running or not self.primary_done):
            return  # still undecided: other attempts run
        self.interrupt()

    def interrupt(self) -> None:
        """Wake the caller's task: cancel the original attempt, or end its wait for hedges."""
        if self.primary_done:
            # Set: run() makes the waiter as soon as the original failed with hedges running,
            # and a hedge's end is the only thing that sets it.
            self.waiter.set_result(None)  # type: ignore[union-attr]
        else:
            self.interrupted = True
            self.task.cancel()  # type: ignore[union-attr] # set by run() before any hedge

    async def abandon(self) -> None:
        """The call ends without an answer from the race: stop it and close a winner's
        stream that will never be read."""
        self.stop()
        winner = self.winner
        if winner is not None and winner.stream is not None:
            await winner.stream.aclose()

    def stop(self) -> None:
        """The race is over: no more hedges; the ones still running are cancelled."""
        self.finished = True
        if self.timer is not None:
            self.timer.cancel()
        for task, _, _ in self.running:
            task.cancel()


async def _attempt(call_next: CallNext, request: RequestContext) -> ResponseContext:
    # call_next runs inside the hedge's task: a stage that raises at once fails this attempt
    # (its exception is the task's), never the timer callback that started it.
    awaitable: Awaitable[ResponseContext] = call_next(request)
    return await awaitable


def _discard(attempt: asyncio.Task[ResponseContext]) -> None:
    """A loser ended after the race was decided: retrieve its outcome (asyncio warns about an
    exception never retrieved) and close the stream of one that answered anyway."""
    if attempt.cancelled():
        return
    error = attempt.exception()
    if error is not None:
        _crashed(error)
        return
    stream = attempt.result().stream
    if stream is not None:
        closing = attempt.get_loop().create_task(stream.aclose())
        _closing.add(closing)
        closing.add_done_callback(_closing.discard)


def _crashed(error: BaseException) -> None:
    logger.warning(
        "hedging.loser_crashed error=%s",
        type(error).__name__,
        exc_info=error,
        extra={"error": type(error).__name__},
    )
