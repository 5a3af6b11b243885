"""One clock timer for many deadlines.

Scheduling a loop timer per call (what ``asyncio.timeout`` does) costs a ``TimerHandle``, a
heap push ordered by a Python ``__lt__``, and a cancel, for every call, although almost no call
ever times out. A :class:`DeadlineWatcher` keeps the deadlines of one event loop in its own heap
of plain lists (ordered by C float comparison) and arms a single clock timer for the earliest
one. A call that finishes only marks its entry as done: dead entries are dropped when they reach
the head of the heap, or all at once when they make up most of it, so memory stays bounded by
the calls in flight. docs/benchmarks.md has the cost per call against a timer per call and
``asyncio.timeout``.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools

from toolware.clock import Clock, TimerHandle

__all__ = ["DeadlineWatcher", "Watch"]

# A watch is a list, so that the heap compares it in C: [deadline, sequence, task, state].
Watch = list[object]
_DEADLINE, _SEQUENCE, _TASK, _STATE = 0, 1, 2, 3
_WAITING, _FIRED, _DONE = 0, 1, 2
_COMPACT_AT = 64  # below this many dead entries, compacting is not worth a pass


class DeadlineWatcher:
    """Cancels each watched task when its deadline passes on ``clock``."""

    __slots__ = ("_armed_at", "_clock", "_dead", "_heap", "_sequence", "_timer")

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._heap: list[Watch] = []
        self._sequence = itertools.count()
        self._timer: TimerHandle | None = None
        self._armed_at = float("inf")
        self._dead = 0

    def watch(self, deadline: float, task: asyncio.Task[object]) -> Watch:
        """Cancel ``task`` at ``deadline`` unless :meth:`done` is called first."""
        entry: Watch = [deadline, next(self._sequence), task, _WAITING]
        heapq.heappush(self._heap, entry)
        if deadline < self._armed_at:
            self._arm(deadline)
        return entry

    @staticmethod
    def fired(entry: Watch) -> bool:
        """Whether this watch cancelled its task."""
        return entry[_STATE] == _FIRED

    def done(self, entry: Watch) -> None:
        """The call finished: forget its deadline."""
        if entry[_STATE] == _WAITING:
            entry[_STATE] = _DONE
            entry[_TASK] = None  # do not keep the task alive until the deadline
            self._dead += 1
            if self._dead > _COMPACT_AT and self._dead * 2 > len(self._heap):
                self._compact()

    @property
    def pending(self) -> int:
        """How many watched calls are still waiting."""
        return len(self._heap) - self._dead

    def _arm(self, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._clock.call_at(when, self._fire)
        self._armed_at = when

    def _fire(self) -> None:
        self._timer = None
        self._armed_at = float("inf")
        now = self._clock.monotonic()
        heap = self._heap
        while heap:
            head = heap[0]
            if head[_STATE] == _DONE:
                heapq.heappop(heap)
                self._dead -= 1
            elif head[_DEADLINE] <= now:  # type: ignore[operator]
                heapq.heappop(heap)
                head[_STATE] = _FIRED
                task = head[_TASK]
                head[_TASK] = None
                task.cancel()  # type: ignore[attr-defined]
            else:
                break
        if heap:
            self._arm(heap[0][_DEADLINE])  # type: ignore[arg-type]

    def _compact(self) -> None:
        self._heap = [entry for entry in self._heap if entry[_STATE] == _WAITING]
        heapq.heapify(self._heap)
        self._dead = 0
