"""A bounded window of recent latencies that answers a percentile in constant time.

The hedging interceptor asks for a percentile on every call and adds a sample on every
success, so both must be cheap: the samples are kept twice, in arrival order (a ring, to know
which one to drop) and sorted (a list kept in order with ``bisect``: an insert or a removal is
a C ``memmove`` of at most ``size`` pointers). A percentile is then one index.
"""

from __future__ import annotations

import math
from bisect import bisect_left, insort
from collections import deque

__all__ = ["LatencyWindow"]


class LatencyWindow:
    """The last ``size`` latencies; :meth:`percentile` is the nearest-rank percentile."""

    __slots__ = ("_arrival", "_size", "_sorted")

    def __init__(self, size: int) -> None:
        self._size = size
        self._arrival: deque[float] = deque()
        self._sorted: list[float] = []

    def __len__(self) -> int:
        return len(self._sorted)

    def add(self, seconds: float) -> None:
        """Record one latency; past ``size`` samples the oldest is forgotten."""
        arrival, ordered = self._arrival, self._sorted
        if len(arrival) == self._size:
            oldest = arrival.popleft()
            del ordered[bisect_left(ordered, oldest)]
        arrival.append(seconds)
        insort(ordered, seconds)

    def percentile(self, percent: float) -> float:
        """The smallest sample with at least ``percent`` % of the samples at or below it
        (nearest rank: no interpolation, so the answer is always a latency that was seen).
        The window must not be empty, and ``0 < percent <= 100``."""
        ordered = self._sorted
        # percent * n / 100 rather than percent / 100 * n: 95 / 100 is not exact in binary,
        # and 0.95 * 20 would round to 18.999... and pick the wrong rank.
        rank = math.ceil(percent * len(ordered) / 100)
        return ordered[rank - 1]
