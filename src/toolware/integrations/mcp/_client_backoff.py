"""How long a replica waits before it reconnects: exponential backoff with jitter.

The delay after the ``n``-th failure in a row is ``min(maximum, initial * multiplier**(n-1))``
scaled by a random factor in ``[0.5, 1.0)`` ("equal jitter"): replicas that failed together
(a server restart) do not reconnect in lockstep, and no wait is shorter than half the step,
so a server that is down is not hammered.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import msgspec

__all__ = ["Backoff"]

_MAX_EXPONENT = 64  # 2**64 * initial is past any sane maximum; keeps the power finite


def _positive(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"Backoff {name} must be a number of seconds, got {type(value).__name__}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"Backoff {name} must be a finite number > 0, got {value!r}")
    return float(value)


class Backoff(msgspec.Struct, frozen=True, kw_only=True):
    """Reconnect delays: ``initial`` seconds after the first failure, times ``multiplier``
    after each further one, never more than ``maximum``; jittered (see the module)."""

    initial: float = 0.1
    maximum: float = 10.0
    multiplier: float = 2.0

    def __post_init__(self) -> None:
        _positive("initial", self.initial)
        _positive("maximum", self.maximum)
        multiplier = _positive("multiplier", self.multiplier)
        if multiplier < 1:
            raise ValueError(
                f"Backoff multiplier must be >= 1 (delays never shrink), got {self.multiplier!r}"
            )
        if self.maximum < self.initial:
            raise ValueError(
                f"Backoff maximum ({self.maximum!r}) must be >= initial ({self.initial!r})"
            )

    def step(self, failures: int) -> float:
        """The delay before jitter after ``failures`` failures in a row (>= 1)."""
        if failures < 1:
            raise ValueError(f"failures must be >= 1, got {failures!r}")
        exponent = min(failures - 1, _MAX_EXPONENT)
        return min(self.maximum, self.initial * self.multiplier**exponent)

    def delay(self, failures: int, random: Callable[[], float]) -> float:
        """The jittered delay: :meth:`step` times ``0.5 + 0.5 * random()``."""
        return self.step(failures) * (0.5 + 0.5 * random())
