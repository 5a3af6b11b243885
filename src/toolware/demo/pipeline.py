"""The demo's pipeline: the default stages with the resilience interceptors between them.

    stats -> timeout -> cache -> retry -> circuit_breaker -> rate_limit when send_sms
          -> validation -> router

Built from :func:`~toolware.defaults.default_builder` with each resilience stage placed
``before="validation"``, in the preset's order (see :mod:`toolware.defaults`): the cache
answers repeats before anything counts them; retry sits inside the timeout (one deadline
bounds every attempt and wait) and outside the breaker and the rate limit (each attempt is
counted by the breaker; their refusals carry ``retry_after``); validation stays last.

The options are chosen so each behaviour shows in a few milliseconds:

- retry waits are tiny but real (``base_delay`` :data:`RETRY_BASE_DELAY`), drawn from a seeded
  ``random.Random`` so the waits are the same on every run;
- the breaker opens after :data:`BREAKER_FAILURES` failures in a row of one target and rests
  it for :data:`BREAKER_BREAK` seconds, longer than the call timeout: retry sees that waiting
  out ``retry_after`` would pass the deadline and hands ``circuit_open`` to the agent at once;
- ``send_sms`` admits a burst of :data:`SMS_BURST` texts, then one a minute (:data:`SMS_RATE`),
  so the third text of a burst is ``rate_limited``, again longer than the deadline allows;
- all three stateful stages share one :class:`~toolware.state.memory.MemoryState` (their keys
  are prefixed ``cache:``, ``cb:``, ``rl:``), owned and closed by the caller.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from toolware.clock import Clock, system_clock
from toolware.defaults import default_builder
from toolware.interceptors.cache import CacheInterceptor
from toolware.interceptors.circuit_breaker import CircuitBreakerInterceptor
from toolware.interceptors.rate_limit import RateLimitInterceptor
from toolware.interceptors.retry import RetryInterceptor
from toolware.pipeline import Pipeline
from toolware.registry.base import Registry
from toolware.state.base import BreakerChange, StateStore
from toolware.stats import StatsRecorder

__all__ = [
    "BREAKER_BREAK",
    "BREAKER_FAILURES",
    "CALL_TIMEOUT",
    "RETRY_ATTEMPTS",
    "RETRY_BASE_DELAY",
    "RETRY_SEED",
    "SMS_BURST",
    "SMS_RATE",
    "demo_pipeline",
]

RETRY_ATTEMPTS = 3
RETRY_BASE_DELAY = 0.01
RETRY_SEED = 7
BREAKER_FAILURES = 3
BREAKER_BREAK = 60.0
SMS_RATE = 1 / 60
SMS_BURST = 2
CALL_TIMEOUT = 30.0


def demo_pipeline(
    registry: Registry,
    *,
    state: StateStore,
    recorder: StatsRecorder | None = None,
    on_breaker_change: Callable[[BreakerChange], object] | None = None,
    clock: Clock = system_clock,
) -> Pipeline:
    """The default pipeline of ``registry`` with cache, retry, circuit breaker and a rate
    limit on ``send_sms``, keeping their state in ``state`` (the caller closes it);
    ``on_breaker_change`` hears each breaker opening or closing."""
    return (
        default_builder(registry, timeout=CALL_TIMEOUT, recorder=recorder, clock=clock)
        .use(CacheInterceptor(state=state), before="validation")
        .use(
            RetryInterceptor(
                attempts=RETRY_ATTEMPTS,
                base_delay=RETRY_BASE_DELAY,
                random=random.Random(RETRY_SEED),
            ),
            before="validation",
        )
        .use(
            CircuitBreakerInterceptor(
                consecutive_failures=BREAKER_FAILURES,
                break_duration=BREAKER_BREAK,
                state=state,
                on_state_change=on_breaker_change,
            ),
            before="validation",
        )
        .use(
            RateLimitInterceptor(rate=SMS_RATE, burst=SMS_BURST, key="target", state=state),
            when={"send_sms"},
            before="validation",
        )
        .route(registry)
        .build()
    )
