"""One clock timer for many deadlines.

Scheduling a loop timer per call (what ``asyncio.timeout`` does) costs a ``TimerHandle``, a
heap push ordered by a Python ``__lt__``, and a cancel, for every call, although almost no call
ever times out. A :class:`DeadlineWatcher` keeps the deadlines of one event loop in its own
heap of plain number tuples (ordered by C float comparison) and arms a single clock timer for
the earliest one. A call that finishes only forgets its task: dead entries are dropped when
they reach the head of the heap, or all at once when they make up most of it, so memory stays
bounded by the calls in flight. docs/benchmarks.md has the cost per call against a timer per
call and ``asyncio.timeout``.
"""

from __future__ import annotations

import asyncio
import functools
import heapq
import itertools
import logging

from toolware.clock import Clock, TimerHandle

__all__ = ["DeadlineWatcher", "Watch", "withdraw"]

Watch = int
"""A watch is its sequence number: the heap holds ``(deadline, sequence)`` tuples of plain
numbers (compared in C, and untracked by the cyclic collector once it has seen them), and the
watched tasks live in one dict, so a call in flight adds no container the collector must keep
walking."""
_COMPACT_AT = 64  # below this many dead entries, compacting is not worth a pass

RECANCEL_AFTER = 0.05
"""Seconds after a deadline fired before a call that is still running is cancelled again: a
tool that swallowed the cancellation and went on is interrupted at its next await (a tool
that cleans up and re-raises within this time is left alone)."""
RECANCEL_TIMES = 3
"""How often a call that keeps swallowing cancellations is cancelled again before the
watcher gives up on it (``timeout.abandon_failed`` is logged)."""

logger = logging.getLogger("toolware.interceptors.timeout")


class DeadlineWatcher:
    """Cancels each watched task when its deadline passes on ``clock``."""

    __slots__ = ("_armed_at", "_clock", "_dead", "_fired", "_heap", "_next", "_timer", "_waiting")

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._heap: list[tuple[float, int]] = []
        self._waiting: dict[int, asyncio.Task[object]] = {}
        # Fired watches not yet done: the task, how many times it was cancelled, and the timer
        # that will cancel it again if it is still running.
        self._fired: dict[int, tuple[asyncio.Task[object], int, TimerHandle]] = {}
        self._next = itertools.count().__next__
        self._timer: TimerHandle | None = None
        self._armed_at = float("inf")
        self._dead = 0

    def watch(self, deadline: float, task: asyncio.Task[object]) -> Watch:
        """Cancel ``task`` at ``deadline`` unless :meth:`done` is called first."""
        sequence = self._next()
        heapq.heappush(self._heap, (deadline, sequence))
        self._waiting[sequence] = task
        if deadline < self._armed_at:
            self._arm(deadline)
        return sequence

    def fired(self, watch: Watch) -> bool:
        """Whether this watch cancelled its task (until :meth:`done` is called)."""
        return watch in self._fired

    def done(self, watch: Watch) -> int:
        """The call finished: forget its deadline. Returns how many times it cancelled the
        task (0: it never fired); the caller withdraws that many cancel requests."""
        if self._waiting.pop(watch, None) is not None:
            self._dead += 1
            if self._dead > _COMPACT_AT and self._dead * 2 > len(self._heap):
                self._compact()
            return 0
        fired = self._fired.pop(watch, None)
        if fired is None:
            return 0
        fired[2].cancel()
        return fired[1]

    @property
    def pending(self) -> int:
        """How many watched calls are still waiting."""
        return len(self._waiting)

    def _arm(self, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._clock.call_at(when, self._fire)
        self._armed_at = when

    def _fire(self) -> None:
        self._timer = None
        self._armed_at = float("inf")
        now = self._clock.monotonic()
        heap, waiting = self._heap, self._waiting
        while heap:
            deadline, sequence = heap[0]
            if sequence not in waiting:
                heapq.heappop(heap)
                self._dead -= 1
            elif deadline <= now:
                heapq.heappop(heap)
                task = waiting.pop(sequence)
                again = self._clock.call_at(
                    now + RECANCEL_AFTER, functools.partial(self._again, sequence)
                )
                self._fired[sequence] = (task, 1, again)
                task.cancel()
            else:
                break
        if heap:
            self._arm(heap[0][0])

    def _again(self, watch: Watch) -> None:
        """The call is still running after its deadline fired: cancel it again."""
        fired = self._fired.get(watch)
        if fired is None or fired[0].done():
            return
        task, times, _ = fired
        if times > RECANCEL_TIMES:
            logger.error(
                "timeout.abandon_failed task=%s cancels=%d: the call keeps swallowing "
                "cancellations; its caller waits until it returns",
                task.get_name(),
                times,
                extra={"task": task.get_name(), "cancels": times},
            )
            return
        when = self._clock.monotonic() + RECANCEL_AFTER * (times + 1)
        again = self._clock.call_at(when, functools.partial(self._again, watch))
        self._fired[watch] = (task, times + 1, again)
        task.cancel()

    def _compact(self) -> None:
        waiting = self._waiting
        self._heap = [entry for entry in self._heap if entry[1] in waiting]
        heapq.heapify(self._heap)
        self._dead = 0


def withdraw(task: asyncio.Task[object], times: int) -> int:
    """Withdraw the ``times`` (at least one) cancel requests a deadline made; returns the
    cancel requests left (someone else's)."""
    remaining = 0
    for _ in range(times):
        remaining = task.uncancel()
    return remaining
