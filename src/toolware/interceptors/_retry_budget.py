"""The retry budget: retries allowed as a share of recent calls, so an outage cannot turn
every call into ``attempts`` calls (a retry storm).

Every call deposits, each retry withdraws. Over the last ``window`` seconds, retries may make
at most ``ratio`` x calls, plus a floor of ``min_per_second`` x ``window`` so that a quiet
service still gets its few retries. The idea and the defaults are Finagle's ``RetryBudget``
(Envoy bounds retries the same way).

Memory is fixed: the window is cut into ``BUCKETS`` buckets of ``window / BUCKETS`` seconds,
aligned on the clock's timeline (``floor(now / width)``), and the counts of the current bucket
and of the ``BUCKETS - 1`` before it make the window. A call therefore stops counting between
``window - width`` and ``window`` seconds after it was made. A deposit is one comparison and
one increment; moving to a new bucket touches at most ``BUCKETS - 1`` of them.

The budget keeps no clock: its owner passes ``now`` (on one clock's ``monotonic()``
timeline). One budget may be shared by several retry interceptors on the same clock, to bound
their retries together. It is not thread-safe: use it from one event loop.
"""

from __future__ import annotations

import math

__all__ = ["BUCKETS", "MIN_WINDOW", "RetryBudget"]

BUCKETS = 10
"""How many buckets a window is cut into."""

MIN_WINDOW = 0.001
"""The shortest ``window`` accepted, in seconds."""

# Float slack in the comparison: 0.1 * 30 calls is 3.0000000000000004, not 3.
_SLACK = 1e-9


def _positive(option: str, value: object, *, zero: bool) -> float:
    """``value`` as a float, or the ValueError/TypeError that names ``option``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"RetryBudget {option} must be a number, got {value!r}")
    if not math.isfinite(value) or value < 0 or (value == 0 and not zero):
        wanted = "a finite number >= 0" if zero else "a finite number > 0"
        raise ValueError(f"RetryBudget {option} must be {wanted}, got {value!r}")
    return float(value)


class RetryBudget:
    """At most ``ratio`` x calls + ``min_per_second`` x ``window`` retries per ``window``
    seconds; see the module docstring."""

    __slots__ = (
        "_calls",
        "_floor",
        "_head",
        "_now_calls",
        "_now_retries",
        "_past_calls",
        "_past_retries",
        "_retries",
        "_slot",
        "_slot_end",
        "_width",
        "min_per_second",
        "ratio",
        "window",
    )

    def __init__(
        self, *, ratio: float = 0.2, min_per_second: float = 10.0, window: float = 10.0
    ) -> None:
        """``ratio``: retries per call allowed over the window (0.2: one retry per five
        calls); ``min_per_second``: retries per second allowed whatever the traffic;
        ``window``: the seconds over which calls and retries are counted."""
        self.ratio = _positive("ratio", ratio, zero=True)
        self.min_per_second = _positive("min_per_second", min_per_second, zero=True)
        self.window = _positive("window", window, zero=False)
        if self.window < MIN_WINDOW:  # floor(now / width) overflows for a vanishing window
            raise ValueError(
                f"RetryBudget window must be at least {MIN_WINDOW} seconds, got {window!r}"
            )
        self._width = self.window / BUCKETS
        self._floor = self.min_per_second * self.window
        # The past buckets form a ring; _head is the oldest, overwritten when time moves on.
        # Empty until the first deposit or withdrawal: its roll (from _slot -inf) fills both.
        self._calls: list[int] = []
        self._retries: list[int] = []
        self._head = 0
        self._past_calls = self._past_retries = 0
        self._now_calls = self._now_retries = 0
        self._slot = -math.inf  # no bucket yet: the first deposit or withdrawal starts one
        self._slot_end = -math.inf

    def __repr__(self) -> str:
        return (
            f"RetryBudget(ratio={self.ratio!r}, min_per_second={self.min_per_second!r}, "
            f"window={self.window!r})"
        )

    @property
    def calls(self) -> int:
        """Calls counted in the window as of the last deposit or withdrawal."""
        return self._past_calls + self._now_calls

    @property
    def retries(self) -> int:
        """Retries counted in the window as of the last deposit or withdrawal."""
        return self._past_retries + self._now_retries

    def deposit(self, now: float) -> None:
        """Count one call made at ``now``."""
        if now >= self._slot_end:
            self._roll(now)
        self._now_calls += 1

    def withdraw(self, now: float) -> bool:
        """Count one retry at ``now`` if the budget allows it; ``False`` (and nothing counted)
        when it is exhausted."""
        if now >= self._slot_end:
            self._roll(now)
        allowed = self.ratio * (self._past_calls + self._now_calls) + self._floor
        if self._past_retries + self._now_retries + 1 > allowed + _SLACK:
            return False
        self._now_retries += 1
        return True

    def _roll(self, now: float) -> None:
        """Move to the bucket holding ``now``: the current one joins the past, and buckets
        older than the window are dropped."""
        slot: float = math.floor(now / self._width)
        if slot <= self._slot:  # rounding at a bucket's edge: now >= its end, so it is over
            slot = self._slot + 1
        steps = slot - self._slot
        self._slot = slot
        self._slot_end = (slot + 1) * self._width
        if steps >= BUCKETS:  # the whole window is over (or this is the first bucket)
            self._calls[:] = self._retries[:] = [0] * (BUCKETS - 1)
            self._past_calls = self._past_retries = 0
        else:
            calls, retries, head = self._calls, self._retries, self._head
            moving_calls, moving_retries = self._now_calls, self._now_retries
            for _ in range(int(steps)):
                self._past_calls += moving_calls - calls[head]
                self._past_retries += moving_retries - retries[head]
                calls[head], retries[head] = moving_calls, moving_retries
                head = (head + 1) % (BUCKETS - 1)
                moving_calls = moving_retries = 0
            self._head = head
        self._now_calls = self._now_retries = 0
