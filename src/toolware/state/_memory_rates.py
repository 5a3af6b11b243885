"""GCRA rate limiting in process memory: one float per key (the theoretical arrival time)."""

from __future__ import annotations

from collections import OrderedDict

from toolware.state.base import ADMITTED, RateDecision, RateLimit

__all__ = ["TOLERANCE", "MemoryRates"]

TOLERANCE = 1e-9
"""Seconds of float rounding forgiven, so a caller that waits exactly ``retry_after`` is
admitted (``tat - (now + retry_after)`` can come out a hair above the burst allowance)."""


class MemoryRates:
    """Per-key GCRA state, at most ``max_keys`` keys (the least recently used, admitted or
    refused, go first).

    Evicting a key forgets how much of its burst was spent, so the next call sees a fresh key:
    with ``max_keys`` above the number of keys active within one burst period, that never
    happens to a key still being limited.
    """

    __slots__ = ("_tats", "max_keys")

    def __init__(self, max_keys: int) -> None:
        self.max_keys = max_keys
        self._tats: OrderedDict[str, float] = OrderedDict()

    def acquire(self, key: str, limit: RateLimit, now: float, max_wait: float) -> RateDecision:
        tats = self._tats
        tat = tats.get(key)
        interval = 1.0 / limit.rate
        if tat is None or tat < now:
            tat = now
        # How far past the burst allowance the next arrival is: 0 or less means a free permit.
        wait = tat - (limit.burst - 1) * interval - now
        if wait > max_wait + TOLERANCE:
            # A refusal is a use: a key refused again and again is the one most in need of
            # its state, and evicting it would hand it a fresh burst.
            tats.move_to_end(key)
            return RateDecision(False, wait)
        tats[key] = tat + interval
        tats.move_to_end(key)
        if len(tats) > self.max_keys:
            tats.popitem(last=False)
        return ADMITTED if wait <= TOLERANCE else RateDecision(True, wait)

    def __len__(self) -> int:
        return len(self._tats)
