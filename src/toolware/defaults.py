"""The default pipeline: what ``toolware call`` and most applications start from.

    stats → timeout → validation → router → handler

The canonical order, outermost first, and why:

1. **stats** (later: tracing, metrics): see every call, refused ones included, with its full time.
2. **authentication**, then **authorization** (when you add them): a caller who may not call
   must learn nothing, not even which tools exist or what their arguments are, so they go
   before everything that answers about the entry (validation answers ``not_found`` and
   names fields). Authorization reads the entry's tags, which the pipeline resolves before
   any stage runs.
3. **rate limits, circuit breakers** (later): refuse cheaply before spending time.
4. **timeout**: the deadline covers what follows, validation and the handler.
5. **validation**: last, so a bad call costs no handler time and the handler gets converted
   arguments.

The stages are named (``"stats"``, ``"timeout"``, ``"validation"``), so your own go where they
belong without rebuilding the default by hand::

    builder = default_builder(registry).use(authenticate, before="stats")  # or first=True
    pipeline = builder.use(authorize, before="timeout").route(registry).build()

The resilient pipeline adds the resilience stages in the order that makes each one see what it
must (``resilient_pipeline``, stage names in :data:`RESILIENT_STAGES`)::

    stats → timeout → cache → retry → circuit_breaker → rate_limit → concurrency_limit
          → validation → router

- **timeout** outside everything that waits: one deadline bounds every attempt, every backoff
  and every wait for a permit or a slot, so the caller's budget is never exceeded.
- **cache** before retry: a hit costs no attempt, no permit, no breaker count and no slot; a
  success that needed retries is cached like any other.
- **retry** outside the breaker and the limits: each attempt is counted by the breaker, and
  their refusals (``circuit_open``, ``rate_limited``, a full bulkhead) prove the handler never
  ran, so they are retried after their ``retry_after`` when the deadline allows, and never
  make a non-idempotent call run twice.
- **circuit_breaker** before the limits: an open circuit refuses without spending a permit.
- **rate_limit** before **concurrency_limit**: a refused call never takes a slot or queues.
- **validation** last, as in the default pipeline.
"""

from __future__ import annotations

from toolware._workers import DEFAULT_MAX_QUEUED
from toolware.clock import Clock, system_clock
from toolware.interceptors.cache import CacheInterceptor
from toolware.interceptors.circuit_breaker import CircuitBreakerInterceptor
from toolware.interceptors.concurrency_limit import ConcurrencyLimitInterceptor
from toolware.interceptors.rate_limit import RateLimitInterceptor
from toolware.interceptors.retry import RetryInterceptor
from toolware.interceptors.stats import StatsInterceptor
from toolware.interceptors.timeout import TimeoutInterceptor
from toolware.interceptors.validation import ValidationInterceptor
from toolware.pipeline import Pipeline, PipelineBuilder
from toolware.registry.base import Registry
from toolware.state.base import RateLimit, StateStore
from toolware.state.memory import MemoryState
from toolware.stats import StatsRecorder

__all__ = [
    "DEFAULT_STAGES",
    "RESILIENT_STAGES",
    "default_builder",
    "default_pipeline",
    "resilient_builder",
    "resilient_pipeline",
]

DEFAULT_STAGES = ("stats", "timeout", "validation")
"""The names of the default pipeline's stages, outermost first: anchors for ``before=``."""


def default_builder(
    registry: Registry,
    *,
    timeout: float | None = 30.0,
    strict: bool = False,
    recorder: StatsRecorder | None = None,
    clock: Clock = system_clock,
) -> PipelineBuilder:
    """A builder with the default stages, not yet routed: add your own, then route."""
    return (
        PipelineBuilder(clock=clock, name="default")
        .use(StatsInterceptor(recorder=recorder), name="stats")
        .use(TimeoutInterceptor(timeout=timeout), name="timeout")
        .use(ValidationInterceptor(registry, strict=strict), name="validation")
    )


def default_pipeline(
    registry: Registry,
    *,
    timeout: float | None = 30.0,
    strict: bool = False,
    recorder: StatsRecorder | None = None,
    workers: int | None = None,
    max_queued: int | None = DEFAULT_MAX_QUEUED,
    clock: Clock = system_clock,
) -> Pipeline:
    """stats → timeout → validation → ``registry``, built (``workers`` and ``max_queued`` as
    in :meth:`PipelineBuilder.route`)."""
    builder = default_builder(
        registry, timeout=timeout, strict=strict, recorder=recorder, clock=clock
    )
    return builder.route(registry, workers=workers, max_queued=max_queued).build()


RESILIENT_STAGES = (
    "stats",
    "timeout",
    "cache",
    "retry",
    "circuit_breaker",
    "rate_limit",
    "concurrency_limit",
    "validation",
)
"""The names of the resilient pipeline's stages, outermost first (``rate_limit`` and
``concurrency_limit`` only when asked for)."""


def resilient_builder(
    registry: Registry,
    *,
    state: StateStore | None = None,
    timeout: float | None = 30.0,
    attempts: int = 3,
    rate: RateLimit | None = None,
    concurrency: int | None = None,
    strict: bool = False,
    recorder: StatsRecorder | None = None,
    clock: Clock = system_clock,
) -> PipelineBuilder:
    """A builder with the resilient stages (see the module docstring for the order and why),
    not yet routed.

    Defaults, each the interceptor's own: ``timeout`` 30 s per call; the cache serves entries
    registered with ``cache=`` (60 s unless the entry says otherwise); retry makes up to
    ``attempts`` attempts with full-jitter backoff from 0.1 s (cap 10 s) within a budget of
    20 % of recent calls plus 10 per second, idempotent entries only; the circuit breaker of
    each target opens when half of at least 10 calls in 30 s failed, for 30 s, then lets one
    probe through. ``rate`` (a :class:`~toolware.state.RateLimit`) adds a rate limit per
    principal, ``concurrency`` a limit on calls in flight per target (no wait queue).

    ``state`` keeps the cache, breakers and rate limits (one :class:`MemoryState` for all of
    them by default; a :class:`~toolware.state.redis.RedisState` shares them across
    processes). For other options, start from :func:`default_builder` and add the
    interceptors configured your way, in this order, with ``before="validation"``; to add a
    stage of your own here (hedging, fallback), place it by name:
    ``resilient_builder(registry).use(hedging, before="circuit_breaker")``.
    """
    if rate is not None and not isinstance(rate, RateLimit):
        raise TypeError(
            f"rate takes a RateLimit(rate=..., burst=...), got {type(rate).__name__}; "
            "e.g. rate=RateLimit(5.0, burst=10) for 5 calls a second, 10 at once"
        )
    if concurrency is not None and (
        isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1
    ):
        raise ValueError(
            f"concurrency must be a whole number of calls in flight >= 1, or None for no "
            f"limit, got {concurrency!r}"
        )
    if state is not None and not isinstance(state, StateStore):
        raise TypeError(
            f"state must be a StateStore (MemoryState or RedisState), got {type(state).__name__}"
        )
    shared = MemoryState() if state is None else state
    builder = (
        PipelineBuilder(clock=clock, name="resilient")
        .use(StatsInterceptor(recorder=recorder), name="stats")
        .use(TimeoutInterceptor(timeout=timeout), name="timeout")
        .use(CacheInterceptor(state=shared), name="cache")
        .use(RetryInterceptor(attempts=attempts), name="retry")
        .use(CircuitBreakerInterceptor(state=shared), name="circuit_breaker")
    )
    if rate is not None:
        builder.use(
            RateLimitInterceptor(rate=rate.rate, burst=rate.burst, state=shared),
            name="rate_limit",
        )
    if concurrency is not None:
        builder.use(ConcurrencyLimitInterceptor(limit=concurrency), name="concurrency_limit")
    return builder.use(ValidationInterceptor(registry, strict=strict), name="validation")


def resilient_pipeline(
    registry: Registry,
    *,
    state: StateStore | None = None,
    timeout: float | None = 30.0,
    attempts: int = 3,
    rate: RateLimit | None = None,
    concurrency: int | None = None,
    strict: bool = False,
    recorder: StatsRecorder | None = None,
    workers: int | None = None,
    max_queued: int | None = DEFAULT_MAX_QUEUED,
    clock: Clock = system_clock,
) -> Pipeline:
    """:func:`resilient_builder` routed to ``registry`` and built."""
    builder = resilient_builder(
        registry,
        state=state,
        timeout=timeout,
        attempts=attempts,
        rate=rate,
        concurrency=concurrency,
        strict=strict,
        recorder=recorder,
        clock=clock,
    )
    return builder.route(registry, workers=workers, max_queued=max_queued).build()
