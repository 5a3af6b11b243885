"""Adversarial tests of the resilience interceptors: each pins a bug found in review (or a
checklist edge of issue #7), on a real pipeline and a fake clock."""

from __future__ import annotations

from typing import Any

from toolware import (
    CircuitOpenError,
    LocalRegistry,
    PipelineBuilder,
    Principal,
    UnavailableError,
)
from toolware.interceptors.circuit_breaker import CircuitBreakerInterceptor
from toolware.interceptors.rate_limit import RateLimitInterceptor
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
