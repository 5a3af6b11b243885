"""Fault injection: make calls slow, failing or hanging on purpose, to test resilience.

``FaultInjectionInterceptor(*faults, seed=None, random=None, clock=None)`` applies, in order,
the faults whose draw hits on each call:

- ``Latency(seconds, rate=1.0)``: waits ``seconds`` on the clock, then calls on.
- ``Failure(category, rate=1.0, message=None, retry_after=None)``: answers with a typed error
  of that category (the right ToolwareError subclass; ``rate_limited`` and ``circuit_open``
  carry ``retry_after``, 1.0 s unless given) without calling the handler.
- ``Hang(rate=1.0)``: never answers by itself. A hang needs a deadline to end it: it waits until
  the request's deadline (a TimeoutInterceptor outside ends it there first, with its own
  ``timeout`` response), then answers ``timeout``. With no deadline at all it answers an
  ``internal`` error at once instead of hanging the caller forever: put a TimeoutInterceptor
  outside it, or call with ``timeout=``.

Every fault draws once per call from the random source, in order, whether or not an earlier
one hit: the sequence of outcomes for a seed does not change when one rate changes. ``rate``
is the probability of a hit, from 0 (never) to 1 (always). ``seed`` makes the run reproducible
(its own ``random.Random(seed)``); ``random`` takes any object with a ``random()`` method.
Limit faults to some calls with the builder's ``when=``.

The response carries ``markers.FAULT``: ``"error"`` or ``"hang"`` when one of them answered,
else ``"latency"``. Streams: latency delays the call (so its first chunk); a failure answers as
a stream failing before its first chunk would. Nothing is injected mid-stream.

Place it innermost, right before the router, so every other stage meets the faults as it would
meet the real ones.

Events: ``fault_injection.injected`` (debug) with the target and the fault.
"""

from __future__ import annotations

import asyncio
import logging
import random as _random
from collections.abc import Awaitable
from typing import Any

from toolware.clock import Clock, system_clock
from toolware.context import RequestContext, ResponseContext
from toolware.errors import CallTimeoutError, InternalError
from toolware.interceptors._faults import Failure, Hang, Latency
from toolware.markers import FAULT
from toolware.types import CallNext

__all__ = ["Failure", "FaultInjectionInterceptor", "Hang", "Latency"]

logger = logging.getLogger("toolware.interceptors.fault_injection")


class FaultInjectionInterceptor:
    """Injects the given faults at their rates; see the module docstring."""

    __slots__ = ("_clock", "_draw", "faults", "name")

    def __init__(
        self,
        *faults: Latency | Failure | Hang,
        seed: int | None = None,
        random: Any = None,
        clock: Clock | None = None,
    ) -> None:
        if not faults:
            raise ValueError(
                "FaultInjectionInterceptor needs at least one fault, e.g. "
                "FaultInjectionInterceptor(Latency(0.5, rate=0.1), Failure('unavailable'))"
            )
        for fault in faults:
            if not isinstance(fault, Latency | Failure | Hang):
                raise TypeError(f"faults must be Latency, Failure or Hang instances, got {fault!r}")
        if seed is not None and random is not None:
            raise ValueError("give seed= or random=, not both: a random source has its own seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise TypeError(f"seed must be an int, got {seed!r}")
        if random is not None and not callable(getattr(random, "random", None)):
            raise TypeError(
                f"random must have a random() method returning a float in [0, 1), got {random!r}"
            )
        if clock is not None and not isinstance(clock, Clock):
            raise TypeError(f"clock must implement toolware.clock.Clock, got {clock!r}")
        self.faults = faults
        self.name = "fault_injection"
        self._clock = clock
        self._draw = (_random.Random(seed) if random is None else random).random

    @property
    def clock(self) -> Clock:
        """The clock latencies and hangs are kept on: the pipeline's once built into one."""
        return system_clock if self._clock is None else self._clock

    def bind_clock(self, clock: Clock) -> None:
        """Adopt the pipeline's clock; refuse one that differs from a clock given explicitly."""
        if self._clock is None:
            self._clock = clock
        elif self._clock is not clock:
            raise ValueError(
                f"FaultInjectionInterceptor was given clock {self._clock!r}, but its pipeline "
                f"uses {clock!r}; pass the same clock to PipelineBuilder(clock=...) or leave "
                "the interceptor's clock unset"
            )

    def __call__(self, request: RequestContext, call_next: CallNext) -> Awaitable[ResponseContext]:
        draw = self._draw
        hits: list[Latency | Failure | Hang] | None = None
        for fault in self.faults:  # every fault draws, hit or not: the sequence stays stable
            if draw() < fault.rate:
                if hits is None:
                    hits = [fault]
                else:
                    hits.append(fault)
        if hits is None:
            return call_next(request)
        return self._inject(request, call_next, hits)

    async def _inject(
        self,
        request: RequestContext,
        call_next: CallNext,
        hits: list[Latency | Failure | Hang],
    ) -> ResponseContext:
        clock = self.clock
        name = request.qualified_name
        for fault in hits:
            logger.debug(
                "fault_injection.injected target=%s fault=%r request_id=%s",
                name,
                fault,
                request.id,
                extra={"target": name, "fault": fault.kind, "request_id": request.id},
            )
            if isinstance(fault, Latency):
                await clock.sleep(fault.seconds)
            elif isinstance(fault, Failure):
                error = fault.error(request)
                return ResponseContext.failure(error).with_extra(FAULT, "error")
            else:
                return (await self._hang(request, clock)).with_extra(FAULT, "hang")
        return (await call_next(request)).with_extra(FAULT, "latency")

    async def _hang(self, request: RequestContext, clock: Clock) -> ResponseContext:
        deadline = request.deadline
        name = request.qualified_name
        if deadline is None:
            return ResponseContext.failure(
                InternalError(
                    f"a Hang fault was drawn for {name!r}, but the call has no deadline to end "
                    "it; it would never answer",
                    interceptor=self.name,
                    hint="put a TimeoutInterceptor outside the fault injector, or call with "
                    "timeout=",
                    request_id=request.id,
                    target=name,
                )
            )
        started = clock.monotonic()
        never: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        timer = clock.call_at(deadline, lambda: _settle(never))
        try:
            await never
        finally:
            timer.cancel()
        limit = max(deadline - started, 0.0)
        entry = request.entry
        return ResponseContext.failure(
            CallTimeoutError(
                f"{name!r} did not complete within the allowed timeout of {limit:.3f}s "
                "(an injected hang)",
                limit=limit,
                retryable=entry is not None and entry.idempotent,
                request_id=request.id,
                target=name,
            ),
            started_at=started,
            finished_at=clock.monotonic(),
        )


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():  # cancelled first by a timeout at the same instant
        future.set_result(None)
