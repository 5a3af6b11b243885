"""The resilient pipeline on a real Redis: two pipelines, each with its own RedisState (as two
processes would have), share rate limits, breakers and cached results."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from toolware import (
    BreakerState,
    CachePolicy,
    LocalRegistry,
    PipelineBuilder,
    RateLimit,
    RateLimitedError,
    UnavailableError,
    resilient_pipeline,
)
from toolware.interceptors.circuit_breaker import CircuitBreakerInterceptor
from toolware.markers import CACHE_HIT
from toolware.state.redis import RedisState


def make_registry(runs: dict[str, int]) -> LocalRegistry:
    registry = LocalRegistry()

    @registry.tool
    async def send(text: str) -> str:
        runs["send"] = runs.get("send", 0) + 1
        return "sent"

    @registry.tool
    async def crm() -> str:
        runs["crm"] = runs.get("crm", 0) + 1
        raise UnavailableError("down")

    @registry.tool(cache=CachePolicy(ttl=60, scope="shared"))
    async def rate(currency: str) -> float:
        runs["rate"] = runs.get("rate", 0) + 1
        return 1.25

    return registry


async def test_two_pipelines_share_one_rate_limit(stores: Callable[..., RedisState]) -> None:
    """burst=3 at 1 per second, shared: of four calls split over two stores, three pass."""
    runs: dict[str, int] = {}
    registry = make_registry(runs)
    limit = RateLimit(1.0, burst=3)
    first, second = (
        resilient_pipeline(registry, state=stores(), rate=limit, attempts=1) for _ in range(2)
    )
    answers = [
        await first.invoke("send", {"text": "a"}),
        await second.invoke("send", {"text": "b"}),
        await first.invoke("send", {"text": "c"}),
        await second.invoke("send", {"text": "d"}),
    ]
    assert [a.ok for a in answers] == [True, True, True, False]
    refused = answers[3].error
    assert isinstance(refused, RateLimitedError)
    assert 0.5 < refused.retry_after <= 1.0
    assert runs["send"] == 3
    await first.aclose()
    await second.aclose()


async def test_a_breaker_opened_by_one_pipeline_refuses_in_the_other(
    stores: Callable[..., RedisState],
) -> None:
    """Failures are counted in Redis: one in each store makes the two consecutive failures
    that open the breaker; the other store's pipeline then refuses without running the tool,
    within the documented delay."""
    runs: dict[str, int] = {}
    registry = make_registry(runs)

    def pipeline(state: RedisState):  # type: ignore[no-untyped-def]
        breaker = CircuitBreakerInterceptor(
            consecutive_failures=2, failure_ratio=None, break_duration=30.0, state=state
        )
        return PipelineBuilder().use(breaker).route(registry).build(), breaker

    watcher, watched = pipeline(stores())
    assert isinstance((await watcher.invoke("crm")).error, UnavailableError)  # subscribes
    opener, _ = pipeline(stores())
    assert isinstance((await opener.invoke("crm")).error, UnavailableError)
    assert (await opener.invoke("crm")).error.category == "circuit_open"  # type: ignore[union-attr]
    assert runs["crm"] == 2
    # The watcher admits from its local view, which pub/sub updates within milliseconds (at
    # worst breaker_sync, 1 s, if a message is lost): wait until it has heard, up to 2 s.
    for _ in range(200):
        if watched.state("crm") is BreakerState.OPEN:
            break
        await asyncio.sleep(0.01)
    error = (await watcher.invoke("crm")).error
    assert error is not None
    assert error.category == "circuit_open"
    assert 0 < error.retry_after <= 30.0  # type: ignore[attr-defined]
    assert runs["crm"] == 2


async def test_a_result_cached_by_one_pipeline_is_a_hit_in_the_other(
    stores: Callable[..., RedisState],
) -> None:
    """A shared-scope entry cached through one store is served from Redis to the other."""
    runs: dict[str, int] = {}
    registry = make_registry(runs)
    first, second = (resilient_pipeline(registry, state=stores()) for _ in range(2))
    miss = await first.invoke("rate", {"currency": "EUR"})
    hit = await second.invoke("rate", {"currency": "EUR"})
    assert (miss.value, hit.value) == (1.25, 1.25)
    assert (miss.get(CACHE_HIT), hit.get(CACHE_HIT)) == (False, True)
    assert runs["rate"] == 1
