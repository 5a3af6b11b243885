"""Rate limiting: at most ``rate`` calls per second per key, with bursts of up to ``burst``.

GCRA (a token bucket kept as one timestamp per key) in a :class:`~toolware.state.StateStore`:
the interceptor asks ``state.acquire(key, RateLimit(rate, burst), now, max_wait)`` once per
call. A key idle long enough admits ``burst`` calls at once, then one every ``1 / rate``
seconds. A refused call answers ``rate_limited`` (:class:`~toolware.errors.RateLimitedError`)
with the exact ``retry_after``: calling again after exactly that long is admitted. The handler
never ran, so retrying it is safe even for a non-idempotent tool.

Options:

- ``rate``: permits per second (> 0, finite); ``burst``: calls admitted back to back (>= 1).
- ``key``: what is counted: ``"principal"`` (the default; calls without a principal all share
  the key ``"anonymous"``), ``"target"``, ``"principal_and_target"``, or a function
  ``(request) -> str``. A function that raises or returns a non-string answers ``internal``
  naming this interceptor; the call is answered, never lost.
- ``max_wait``: throttle instead of refusing: a call may wait up to this many seconds for its
  permit (never past its own deadline; a call whose deadline is nearer waits at most until
  then). The store reserves the permit and the call sleeps on the clock; the response then
  carries ``markers.WAITED``. A waiter that is cancelled has spent its permit (GCRA cannot
  give a reservation back): the next callers wait as if it had run. Cancelled by an outer
  timeout, it leaves word that it never started (the timeout says ``started=False``).
- ``state``: the store (shared through Redis across processes); None gives this interceptor a
  private :class:`~toolware.state.MemoryState`. The application owns a store given here.
- ``scope``: which buckets this limiter counts in. Store keys are ``"rl:<scope>:<key>"``; by
  default the scope is the key kind, rate and burst (``"principal:10.0x5"``), so the same
  limiter in every process sharing a store shares its buckets, while two differently
  configured limiters on one store never do. Give two limiters one ``scope`` to make them
  draw from the same buckets.

Streams: the permit is taken once, before the call starts; nothing is counted per chunk.

Place it after retry and the circuit breaker and before the concurrency limit (the preset's
order): a call refused here is refused before it takes a concurrency slot, and each retry
attempt takes a permit of its own.

Events: ``rate_limit.refused`` (debug: under a flood it fires for every call) and
``rate_limit.throttled`` (debug), with the target, the store key and the seconds;
``rate_limit.key_failed`` (error) when a key function raised or returned a non-string.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable

from toolware._links import answered
from toolware._workers import note_not_started
from toolware.clock import Clock, system_clock
from toolware.context import RequestContext, ResponseContext
from toolware.errors import RateLimitedError
from toolware.interceptors._limit_options import (
    ANONYMOUS,
    MAX_KEY_CHARS,
    KeyFunction,
    bounded_key,
    check_clock,
    check_seconds,
    check_whole,
    key_failed,
    key_function,
    pick_clock,
)
from toolware.markers import WAITED
from toolware.state.base import ADMITTED, RateDecision, RateLimit, StateStore
from toolware.state.memory import MemoryState
from toolware.types import CallNext

__all__ = ["RateLimitInterceptor"]

logger = logging.getLogger("toolware.interceptors.rate_limit")

_REMEMBERED_KEYS = 4096
"""How many keys' store keys are kept ready; past that the table starts again."""


class RateLimitInterceptor:
    """Admits calls per key at a GCRA rate; see the module docstring."""

    __slots__ = (
        "_by_principal",
        "_clock",
        "_key",
        "_limit",
        "_prefix",
        "_rates",
        "_stored",
        "burst",
        "key",
        "max_wait",
        "name",
        "rate",
        "scope",
        "state",
    )

    def __init__(
        self,
        *,
        rate: float,
        burst: int = 1,
        key: str | KeyFunction = "principal",
        max_wait: float = 0.0,
        state: StateStore | None = None,
        scope: str | None = None,
        clock: Clock | None = None,
    ) -> None:
        if isinstance(rate, bool) or not isinstance(rate, int | float):
            raise TypeError(f"rate must be a number of calls per second, e.g. 10, got {rate!r}")
        if not (math.isfinite(rate) and rate > 0):
            raise ValueError(
                f"rate must be a finite number of calls per second > 0, got {rate!r}; "
                "for 1 call a minute pass rate=1/60"
            )
        check_whole("burst", burst, 1)
        try:
            span = burst / rate  # the seconds a full burst takes to earn back
        except OverflowError:
            span = math.inf
        if not (math.isfinite(1.0 / rate) and math.isfinite(span)):
            # An infinite interval turns the GCRA arithmetic into NaN: every call admitted, or
            # a throttled call asleep forever.
            raise ValueError(
                f"rate={rate!r} with burst={burst!r} is too small to compute with (1/rate or "
                "burst/rate overflows); use a rate of at least 1e-9 calls per second"
            )
        check_seconds("max_wait", max_wait, zero=True, hint=" (0 refuses at once)")
        if state is not None and not isinstance(state, StateStore):
            raise TypeError(
                f"state must be a toolware StateStore (e.g. MemoryState()), got "
                f"{type(state).__name__}"
            )
        if scope is not None and (not isinstance(scope, str) or not scope):
            raise ValueError(f"scope must be a non-empty string or None, got {scope!r}")
        check_clock(clock)
        kind, self._key = key_function("RateLimitInterceptor", key)
        self._by_principal = kind == "principal"
        self.rate = float(rate)
        self.burst = burst
        self.key = kind
        self.max_wait = float(max_wait)
        self.state: StateStore = MemoryState() if state is None else state
        self.scope = f"{kind}:{self.rate!r}x{burst}" if scope is None else scope
        self.name = "rate_limit"
        self._limit = RateLimit(self.rate, burst)
        self._prefix = "rl:" + self.scope + ":"
        self._stored: dict[str, str] = {}
        # The memory store answers without suspending: calling it directly saves a coroutine
        # per call, and lets an admitted call go on without a frame of ours.
        self._rates = self.state.rates if type(self.state) is MemoryState else None
        self._clock = clock

    def bind_clock(self, clock: Clock) -> None:
        """Adopt the pipeline's clock; refuse one that differs from the clock already held."""
        self._clock = pick_clock("RateLimitInterceptor", self._clock, clock, "permits")

    def __call__(self, request: RequestContext, call_next: CallNext) -> Awaitable[ResponseContext]:
        # A plain function: an admitted call goes on as call_next's own awaitable.
        if self._by_principal:  # the default, inlined: a function call is a third of our cost
            principal = request.principal
            key = ANONYMOUS if principal is None else principal.id
        else:
            try:
                key = self._key(request)
            except Exception as exc:
                return answered(key_failed(request, logger, self.name, self.key, exc))
            if type(key) is not str and not isinstance(key, str):
                return answered(key_failed(request, logger, self.name, self.key, None, key))
        stored = self._stored.get(key)
        if stored is None:
            stored = self._store_key(key)
        clock = self._clock
        if clock is None:
            clock = system_clock
        now = clock.monotonic()
        allowed = self.max_wait
        if allowed:
            deadline = request.deadline
            if deadline is not None and deadline - now < allowed:
                allowed = deadline - now if deadline > now else 0.0
        rates = self._rates
        if rates is None:
            return self._ask_store(request, call_next, stored, now, allowed, clock)
        decision = rates.acquire(stored, self._limit, now, allowed)
        if decision is ADMITTED:
            return call_next(request)
        return self._decided(request, call_next, decision, stored, allowed, clock)

    def _store_key(self, key: str) -> str:
        """``"rl:<scope>:<key>"`` (a long key bounded), remembered: the same string object on
        every call of a key saves building it and hashing it anew in the store."""
        if len(key) > MAX_KEY_CHARS:  # not remembered: the table must not hold huge keys
            return self._prefix + bounded_key(key)
        stored = self._prefix + key
        if len(self._stored) >= _REMEMBERED_KEYS:
            self._stored.clear()  # bounded; a cleared key is rebuilt on its next call
        self._stored[key] = stored
        return stored

    async def _ask_store(
        self,
        request: RequestContext,
        call_next: CallNext,
        key: str,
        now: float,
        allowed: float,
        clock: Clock,
    ) -> ResponseContext:
        decision = await self.state.acquire(key, self._limit, now, allowed)
        return await self._decided(request, call_next, decision, key, allowed, clock)

    def _decided(
        self,
        request: RequestContext,
        call_next: CallNext,
        decision: RateDecision,
        key: str,
        allowed: float,
        clock: Clock,
    ) -> Awaitable[ResponseContext]:
        delay = decision.delay
        if not decision.admitted:
            return answered(self._refused(request, key, delay, allowed))
        if delay <= 0.0:
            return call_next(request)
        return self._throttled(request, call_next, key, delay, clock)

    async def _throttled(
        self, request: RequestContext, call_next: CallNext, key: str, delay: float, clock: Clock
    ) -> ResponseContext:
        if logger.isEnabledFor(logging.DEBUG):
            target = request.qualified_name
            logger.debug(
                "rate_limit.throttled target=%s key=%s delay=%s",
                target,
                key,
                delay,
                extra={"target": target, "key": key, "delay": delay},
            )
        # The permit is reserved for now + delay: a cancellation here spends it (see above).
        try:
            await clock.sleep(delay)
        except asyncio.CancelledError:
            # For an outer timeout: the call never started (its error says started=False).
            note_not_started(f"waiting {delay:.3f}s for a rate-limit permit")
            raise
        response = await call_next(request)
        # Added to what an inner stage (a concurrency limit) reported: the call waited for both.
        return response.with_extra(WAITED, (response.get(WAITED) or 0.0) + delay)

    def _refused(
        self, request: RequestContext, key: str, delay: float, allowed: float
    ) -> ResponseContext:
        target = request.qualified_name
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "rate_limit.refused target=%s key=%s retry_after=%s",
                target,
                key,
                delay,
                extra={"target": target, "key": key, "retry_after": delay},
            )
        message = (
            f"{target!r} refused: the rate limit of {self.rate:g} calls/s (burst {self.burst}) "
            f"per {self.key} is reached; a permit is free in {delay:.3f}s"
        )
        hint = None
        if self.max_wait:
            message += f", later than this call may wait ({allowed:.3f}s)"
            hint = (
                "wait retry_after seconds; to wait inside the call instead, raise max_wait= "
                "or give the call a later deadline"
            )
        error = RateLimitedError(
            message, retry_after=delay, hint=hint, request_id=request.id, target=target
        )
        return ResponseContext.failure(error)

    def __repr__(self) -> str:
        return (
            f"RateLimitInterceptor(rate={self.rate!r}, burst={self.burst}, key={self.key!r}, "
            f"max_wait={self.max_wait!r}, scope={self.scope!r})"
        )
