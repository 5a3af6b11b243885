"""Adversarial tests of the resilience interceptors: each pins a bug found in review (or a
checklist edge of issue #7), on a real pipeline and a fake clock."""

from __future__ import annotations

from typing import Any

import pytest

from toolware import (
    CircuitOpenError,
    LocalRegistry,
    PipelineBuilder,
    Principal,
    RateLimitedError,
    UnavailableError,
)
from toolware.interceptors.circuit_breaker import CircuitBreakerInterceptor
from toolware.interceptors.rate_limit import RateLimitInterceptor
from toolware.interceptors.retry import RetryBudget, RetryInterceptor
from toolware.state import BreakerState, MemoryState
from toolware.state.base import BreakerDecision, BreakerPolicy
from toolware.testing import FakeClock, FakeHandler

HUGE = "x" * 100_000


class SpyState(MemoryState):
    """A MemoryState that records the breaker keys it is asked about (a subclass, so the
    breaker talks to it through the async protocol)."""

    __slots__ = ("admitted",)

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.admitted: list[str] = []

    async def breaker_admit(self, key: str, policy: BreakerPolicy, now: float) -> BreakerDecision:
        self.admitted.append(key)
        return await super().breaker_admit(key, policy, now)


def dead_registry() -> LocalRegistry:
    registry = LocalRegistry()

    @registry.tool(idempotent=True)
    async def dead() -> str:
        raise UnavailableError("down")

    return registry


async def test_unknown_targets_do_not_evict_an_open_breaker() -> None:
    """Calls to targets the registry does not know (not_found) take no breaker slot: a flood
    of made-up names cannot push an open breaker out of a bounded store and reclose it."""
    clock = FakeClock()
    state = MemoryState(max_breaker_keys=2)
    breaker = CircuitBreakerInterceptor(failure_ratio=None, consecutive_failures=1, state=state)
    pipeline = PipelineBuilder(clock=clock).use(breaker).route(dead_registry()).build()
    assert (await pipeline.invoke("dead")).error.category.value == "unavailable"  # type: ignore[union-attr]
    for name in ("nope1", "nope2", "nope3"):
        assert (await pipeline.invoke(name)).error.category.value == "not_found"  # type: ignore[union-attr]
    assert len(state.breakers) == 1
    refused = (await pipeline.invoke("dead")).error
    assert isinstance(refused, CircuitOpenError)
    assert refused.retry_after == 30.0


async def test_breaker_store_keys_are_bounded_in_size() -> None:
    """A 100,000-character key (from key= or a target name) reaches the store as at most
    3 + 256 characters, distinct keys stay distinct, and isolate/state use the same key."""
    clock = FakeClock()
    state = SpyState()
    breaker = CircuitBreakerInterceptor(key=lambda request: request.arguments["k"], state=state)
    pipeline = PipelineBuilder(clock=clock).use(breaker).route(FakeHandler(["ok"])).build()
    await pipeline.invoke("t", {"k": HUGE})
    await pipeline.invoke("t", {"k": HUGE + "y"})
    assert [len(key) <= 3 + 256 for key in state.admitted] == [True, True]
    assert state.admitted[0] != state.admitted[1]
    await breaker.isolate(HUGE)
    assert breaker.state(HUGE) is BreakerState.ISOLATED
    assert isinstance((await pipeline.invoke("t", {"k": HUGE})).error, CircuitOpenError)
    assert (await pipeline.invoke("t", {"k": HUGE + "y"})).ok
    default = CircuitBreakerInterceptor(state=SpyState())
    routed = PipelineBuilder(clock=clock).use(default).route(FakeHandler(["ok"])).build()
    await routed.invoke(HUGE)
    assert len(default.store.admitted[0]) <= 3 + 256  # type: ignore[attr-defined]
    await default.isolate(HUGE)
    assert isinstance((await routed.invoke(HUGE)).error, CircuitOpenError)


async def test_rate_limit_does_not_keep_huge_keys() -> None:
    """The rate limit's table of ready store keys never holds a key over 256 characters: a
    key function returning a whole document cannot make it hold 4,096 documents."""
    clock = FakeClock()
    limiter = RateLimitInterceptor(rate=1.0)
    pipeline = PipelineBuilder(clock=clock).use(limiter).route(FakeHandler(["ok"] * 2)).build()
    assert (await pipeline.invoke("t", principal=Principal(id=HUGE))).ok
    assert (await pipeline.invoke("t", principal=Principal(id=HUGE))).error.category.value == (  # type: ignore[union-attr]
        "rate_limited"
    )
    assert all(len(key) <= 256 for key in limiter._stored)
    assert all(len(value) <= 3 + 256 + len(limiter.scope) for value in limiter._stored.values())


@pytest.mark.parametrize("rate", [1e-320, 5e-324])
async def test_a_rate_too_small_to_compute_with_is_refused(rate: float) -> None:
    """rate=1e-320 passed the > 0 check, but 1/rate is inf: the GCRA arithmetic went NaN and
    the second call was 'throttled' by sleep(nan), hanging forever. Refused at construction."""
    with pytest.raises(ValueError, match=rf"^rate={rate!r} with burst=1 is too small"):
        RateLimitInterceptor(rate=rate)


def test_a_burst_too_large_to_compute_with_is_refused() -> None:
    """A burst whose burst/rate overflows a float is refused, naming both values."""
    with pytest.raises(ValueError, match=r"^rate=1.0 with burst=1000000000\d+ is too small"):
        RateLimitInterceptor(rate=1.0, burst=10**400)
    assert RateLimitInterceptor(rate=1e-9, burst=10**6).rate == 1e-9


async def test_the_smallest_accepted_rate_still_limits() -> None:
    """rate=1e-9 (one call per ~31.7 years): the second call is refused with the exact wait."""
    clock = FakeClock()
    limiter = RateLimitInterceptor(rate=1e-9)
    pipeline = PipelineBuilder(clock=clock).use(limiter).route(FakeHandler(["ok"] * 2)).build()
    assert (await pipeline.invoke("t")).ok
    refused = (await pipeline.invoke("t")).error
    assert isinstance(refused, RateLimitedError)
    assert refused.retry_after == (1_000.0 + 1.0 / 1e-9) - 1_000.0  # exactly, on the clock at 1000


@pytest.mark.parametrize("window", [1e-320, 0.0009])
def test_a_vanishing_breaker_window_is_refused(window: float) -> None:
    """window=1e-320 passed the > 0 check, then floor(now * 10 / window) overflowed on every
    call (OverflowError, answered as an interceptor crash). Windows under 1 ms are refused."""
    with pytest.raises(
        ValueError, match=rf"^BreakerPolicy window must be at least 0.001 seconds, got {window!r}"
    ):
        CircuitBreakerInterceptor(window=window)
    assert CircuitBreakerInterceptor(window=0.001).policy.window == 0.001


@pytest.mark.parametrize("window", [1e-320, 0.0009])
def test_a_vanishing_retry_budget_window_is_refused(window: float) -> None:
    """The same overflow in RetryBudget (floor(now / width)): refused at construction."""
    with pytest.raises(
        ValueError, match=rf"^RetryBudget window must be at least 0.001 .*{window!r}"
    ):
        RetryBudget(window=window)
    assert RetryBudget(window=0.001).window == 0.001


async def test_smallest_windows_still_count_on_a_late_clock() -> None:
    """At the smallest windows, a clock a billion seconds on computes buckets without error."""
    clock = FakeClock(start=1e9)
    breaker = CircuitBreakerInterceptor(window=0.001, failure_ratio=None, consecutive_failures=2)
    retry = RetryInterceptor(budget=RetryBudget(window=0.001), base_delay=0.0)
    handler = FakeHandler([UnavailableError("down")] * 2)
    pipeline = PipelineBuilder(clock=clock).use(retry).use(breaker).route(handler).build()
    response = await pipeline.invoke("t")
    assert response.error.category.value == "unavailable"  # type: ignore[union-attr]
    assert handler.call_count == 1  # a plain handler counts as not idempotent: no retry
    assert breaker.state("t") is BreakerState.CLOSED
