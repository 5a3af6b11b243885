"""Tests for toolware.defaults: the resilient pipeline, its order, options and shared state."""

from __future__ import annotations

import asyncio

import pytest

from toolware import (
    BreakerState,
    CallTimeoutError,
    CircuitOpenError,
    ConcurrencyLimitedError,
    LocalRegistry,
    MemoryState,
    Principal,
    RateLimit,
    RateLimitedError,
    StatsRecorder,
    UnavailableError,
    resilient_builder,
    resilient_pipeline,
)
from toolware.defaults import RESILIENT_STAGES
from toolware.markers import CACHE_HIT
from toolware.testing import FakeClock


def make_registry(clock: FakeClock, runs: dict[str, int]) -> LocalRegistry:
    registry = LocalRegistry()

    @registry.tool(idempotent=True)
    async def flaky() -> str:
        runs["flaky"] = runs.get("flaky", 0) + 1
        if runs["flaky"] < 3:
            raise UnavailableError("the quote service is warming up")
        return "quote"

    @registry.tool(idempotent=True)
    async def dead() -> str:
        runs["dead"] = runs.get("dead", 0) + 1
        raise UnavailableError("the CRM is down")

    @registry.tool
    async def charge() -> str:
        runs["charge"] = runs.get("charge", 0) + 1
        raise UnavailableError("the payment API timed out after taking the money")

    @registry.tool(cache=True)
    async def rate(currency: str) -> float:
        runs["rate"] = runs.get("rate", 0) + 1
        return 1.25

    @registry.tool
    async def slow(seconds: float) -> str:
        await clock.sleep(seconds)
        return "done"

    return registry


def test_the_stages_are_in_the_documented_order() -> None:
    """Every stage, outermost first, exactly as RESILIENT_STAGES names them."""
    clock = FakeClock()
    pipeline = resilient_pipeline(
        make_registry(clock, {}), rate=RateLimit(5.0, burst=2), concurrency=4, clock=clock
    )
    assert pipeline.describe()[:-1] == RESILIENT_STAGES
    assert [stage.name for stage in pipeline.stages] == list(RESILIENT_STAGES)


def test_rate_limit_and_concurrency_limit_are_added_only_when_asked_for() -> None:
    """Without rate= and concurrency= those two stages are left out."""
    clock = FakeClock()
    pipeline = resilient_pipeline(make_registry(clock, {}), clock=clock)
    names = tuple(stage.name for stage in pipeline.stages)
    assert names == tuple(
        n for n in RESILIENT_STAGES if n not in {"rate_limit", "concurrency_limit"}
    )


async def test_a_flaky_idempotent_tool_is_rescued_by_retry() -> None:
    """Two transient failures, then an answer: the caller sees the answer after 3 attempts."""
    clock = FakeClock()
    runs: dict[str, int] = {}
    recorder = StatsRecorder()
    pipeline = resilient_pipeline(make_registry(clock, runs), recorder=recorder, clock=clock)
    task = asyncio.create_task(pipeline.invoke("flaky"))
    await clock.advance(1.0)  # the backoffs: under 0.1 s, then under 0.2 s
    response = await task
    assert (response.value, response.attempts, runs["flaky"]) == ("quote", 3, 3)
    assert recorder.snapshot().get("flaky").retries == 2


async def test_a_non_idempotent_tool_is_never_run_twice() -> None:
    """An unavailable answer from a tool that is not idempotent is the answer."""
    clock = FakeClock()
    runs: dict[str, int] = {}
    pipeline = resilient_pipeline(make_registry(clock, runs), clock=clock)
    response = await pipeline.invoke("charge")
    assert isinstance(response.error, UnavailableError)
    assert (response.attempts, runs["charge"]) == (1, 1)


async def test_a_dead_tool_opens_its_breaker_and_is_refused_with_retry_after() -> None:
    """Ten failed calls (half of at least ten) open the breaker; the next is circuit_open."""
    clock = FakeClock()
    runs: dict[str, int] = {}
    state = MemoryState()
    pipeline = resilient_pipeline(make_registry(clock, runs), attempts=1, state=state, clock=clock)
    for _ in range(10):
        assert isinstance((await pipeline.invoke("dead")).error, UnavailableError)
    refused = (await pipeline.invoke("dead")).error
    assert isinstance(refused, CircuitOpenError)
    assert refused.retry_after == 30.0
    assert runs["dead"] == 10
    assert state.breaker_state("cb:dead", clock.monotonic()) is BreakerState.OPEN


async def test_an_entry_that_opts_in_is_cached_per_principal() -> None:
    """The second identical call is a hit; another principal has its own entry."""
    clock = FakeClock()
    runs: dict[str, int] = {}
    pipeline = resilient_pipeline(make_registry(clock, runs), clock=clock)
    alice = Principal(id="alice")
    first = await pipeline.invoke("rate", {"currency": "EUR"}, principal=alice)
    second = await pipeline.invoke("rate", {"currency": "EUR"}, principal=alice)
    other = await pipeline.invoke("rate", {"currency": "EUR"}, principal=Principal(id="bob"))
    assert (first.value, second.value, other.value) == (1.25, 1.25, 1.25)
    assert (first.get(CACHE_HIT), second.get(CACHE_HIT), other.get(CACHE_HIT)) == (
        False,
        True,
        False,
    )
    assert runs["rate"] == 2


async def test_one_state_store_holds_the_cache_breakers_and_rate_limits() -> None:
    """The state given is the one every stateful stage uses."""
    clock = FakeClock()
    state = MemoryState()
    pipeline = resilient_pipeline(
        make_registry(clock, {}), state=state, rate=RateLimit(1.0, burst=1), clock=clock
    )
    await pipeline.invoke("rate", {"currency": "EUR"})
    assert len(state.cache) == 1
    assert len(state.rates) == 1
    assert len(state.breakers) == 1


async def test_the_rate_limit_is_per_principal() -> None:
    """rate=RateLimit(1, burst=1): a second call of one principal waits, another's does not."""
    clock = FakeClock()
    pipeline = resilient_pipeline(
        make_registry(clock, {}), rate=RateLimit(1.0, burst=1), attempts=1, clock=clock
    )
    alice, bob = Principal(id="alice"), Principal(id="bob")
    assert (await pipeline.invoke("slow", {"seconds": 0}, principal=alice)).ok
    refused = (await pipeline.invoke("slow", {"seconds": 0}, principal=alice)).error
    assert isinstance(refused, RateLimitedError)
    assert refused.retry_after == pytest.approx(1.0)
    assert (await pipeline.invoke("slow", {"seconds": 0}, principal=bob)).ok


async def test_concurrency_refuses_a_call_over_the_limit() -> None:
    """concurrency=1 with no queue: a second call while one runs is refused, saying how full
    (attempts=1: with more, retry would wait for the slot, the refusal proving no call ran)."""
    clock = FakeClock()
    pipeline = resilient_pipeline(make_registry(clock, {}), concurrency=1, attempts=1, clock=clock)
    first = asyncio.create_task(pipeline.invoke("slow", {"seconds": 1.0}))
    await asyncio.sleep(0)
    refused = (await pipeline.invoke("slow", {"seconds": 1.0})).error
    assert isinstance(refused, ConcurrencyLimitedError)
    assert (refused.limit, refused.in_flight, refused.max_waiting) == (1, 1, 0)
    await clock.advance(1.0)
    assert (await first).value == "done"


async def test_the_timeout_bounds_all_attempts_together() -> None:
    """timeout=2: a call that keeps timing out stops at 2 s, whatever the attempts left."""
    clock = FakeClock()
    pipeline = resilient_pipeline(make_registry(clock, {}), timeout=2.0, clock=clock)
    task = asyncio.create_task(pipeline.invoke("slow", {"seconds": 10.0}))
    await clock.advance(2.0)
    error = (await task).error
    assert isinstance(error, CallTimeoutError)
    assert error.limit == 2.0


def test_the_builder_is_not_routed_so_stages_can_be_added() -> None:
    """resilient_builder() leaves route() to the caller, and stages can be placed by name."""
    clock = FakeClock()
    registry = make_registry(clock, {})

    async def audit(request, call_next):  # type: ignore[no-untyped-def]
        return await call_next(request)

    pipeline = resilient_builder(registry, clock=clock).use(audit, before="retry")
    names = [stage.name for stage in pipeline.route(registry).build().stages]
    assert names.index("audit") == names.index("retry") - 1


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        (
            {"rate": 5.0},
            TypeError,
            r"rate takes a RateLimit\(rate=\.\.\., burst=\.\.\.\), got float",
        ),
        ({"concurrency": 0}, ValueError, r"concurrency must be a whole number .* got 0"),
        ({"concurrency": True}, ValueError, r"concurrency must be a whole number"),
        ({"state": {}}, TypeError, r"state must be a StateStore .* got dict"),
        ({"attempts": 0}, ValueError, r"attempts"),
    ],
)
def test_bad_options_are_refused_naming_the_option(
    options: dict[str, object], error: type[Exception], match: str
) -> None:
    """Each preset option is checked before anything is built."""
    with pytest.raises(error, match=match):
        resilient_pipeline(make_registry(FakeClock(), {}), **options)  # type: ignore[arg-type]
