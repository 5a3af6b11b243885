"""A fixed ring of time buckets, each with counts and a latency histogram (private).

Slot ``i`` holds the interval whose number (``floor(time / width)``) is ``n`` with
``n % size == i``; a slot found holding an older interval is zeroed before use, so a ring never
allocates after construction and an interval older than ``size`` intervals is simply gone.
"""

from __future__ import annotations

import bisect

from toolware.stats import bucket_percentile

__all__ = ["Ring", "percentile"]


class Ring:
    """``size`` intervals of ``width`` seconds; histograms over ``bounds`` (+1 overflow)."""

    __slots__ = (
        "bounds",
        "calls",
        "counts",
        "errors",
        "high",
        "interval",
        "low",
        "peak",
        "refused",
        "size",
        "stride",
        "width",
    )

    def __init__(self, size: int, width: float, bounds: tuple[float, ...]) -> None:
        self.size = size
        self.width = width
        self.bounds = bounds
        self.stride = len(bounds) + 1
        self.interval = [-1] * size  # which interval each slot holds; -1: none yet
        self.calls = [0] * size
        self.errors = [0] * size
        self.refused = [0] * size
        self.peak = [0] * size  # most calls in flight at once during the interval
        self.low = [0.0] * size  # fastest and slowest call: the histogram is clamped to them
        self.high = [0.0] * size
        self.counts = [0] * (size * self.stride)

    def slot(self, number: int) -> int:
        """The slot of interval ``number``, zeroed first when it held an older interval."""
        index = number % self.size
        if self.interval[index] != number:
            self.interval[index] = number
            self.calls[index] = self.errors[index] = self.refused[index] = self.peak[index] = 0
            self.low[index] = self.high[index] = 0.0
            start = index * self.stride
            self.counts[start : start + self.stride] = [0] * self.stride
        return index

    def add(self, now: float, seconds: float, error: bool, refused: bool, flight: int = 0) -> None:
        """Count one call ending at ``now``; ``flight`` calls (it included) were in flight."""
        index = self.slot(int(now // self.width))
        if flight > self.peak[index]:
            self.peak[index] = flight
        calls = self.calls[index]
        if not calls or seconds < self.low[index]:
            self.low[index] = seconds
        if seconds > self.high[index]:
            self.high[index] = seconds
        self.calls[index] = calls + 1
        self.errors[index] += error
        self.refused[index] += refused
        self.counts[index * self.stride + bisect.bisect_left(self.bounds, seconds)] += 1

    def in_flight(self, now: float, count: int) -> None:
        index = self.slot(int(now // self.width))
        if count > self.peak[index]:
            self.peak[index] = count

    def holds(self, number: int) -> int | None:
        """The slot holding interval ``number``, or ``None`` when it was never recorded."""
        index = number % self.size
        return index if self.interval[index] == number else None

    def histogram(self, index: int) -> list[int]:
        start = index * self.stride
        return self.counts[start : start + self.stride]


# The same interpolation as the statistics table's percentiles: one method, one place.
percentile = bucket_percentile
