"""Typed extras the resilience interceptors put on requests and responses.

Statistics, tracing and metrics read them from here, one place, instead of knowing each
interceptor::

    response.attempts                 how many times the handler was tried (a field, not an extra)
    request.get(ATTEMPT)              which attempt this request is (1 for the first)
    request.get(HEDGE)                which hedge this request is (0 for the original call)
    response.get(CACHE_HIT)           True when the cache answered without calling the handler
    response.get(FALLBACK)            what answered instead of the target, and why
    response.get(HEDGES)              how many extra attempts hedging started for this call
    response.get(FAULT)               which fault the fault injector applied
    response.get(WAITED)              seconds spent waiting for a permit or a concurrency slot
"""

from __future__ import annotations

import msgspec

from toolware.errors import ErrorCategory
from toolware.extras import ExtraKey

__all__ = [
    "ATTEMPT",
    "CACHE_HIT",
    "FALLBACK",
    "FAULT",
    "HEDGE",
    "HEDGES",
    "WAITED",
    "FallbackServed",
]


class FallbackServed(msgspec.Struct, frozen=True):
    """A fallback answered the call: ``source`` names it (a target, a handler's name, or
    ``"static value"``); ``category`` is the error it replaced."""

    source: str
    category: ErrorCategory


ATTEMPT: ExtraKey[int] = ExtraKey("attempt", int, default=1)
"""On a request: the attempt number the retry interceptor gave it (1, 2, ...)."""

HEDGE: ExtraKey[int] = ExtraKey("hedge", int, default=0)
"""On a request: 0 for the original call, 1.. for the hedges started after it."""

CACHE_HIT: ExtraKey[bool] = ExtraKey("cache_hit", bool, default=False)
"""On a response: answered from the cache."""

FALLBACK: ExtraKey[FallbackServed] = ExtraKey("fallback", FallbackServed)
"""On a response: served by a fallback instead of the target."""

HEDGES: ExtraKey[int] = ExtraKey("hedges", int, default=0)
"""On a response: how many hedged attempts were started besides the original."""

FAULT: ExtraKey[str] = ExtraKey("fault", str)
"""On a response: the fault injected into this call (``"latency"``, ``"error"``, ``"hang"``)."""

WAITED: ExtraKey[float] = ExtraKey("waited", float, default=0.0)
"""On a response: seconds the call waited for a rate-limit permit or a concurrency slot."""
