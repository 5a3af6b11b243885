"""Tests for toolware.demo.pipeline: the demo's resilient pipeline, on a fake clock."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from typing import Any

import pytest

from toolware.context import Kind, ResponseContext
from toolware.demo.pipeline import (
    BREAKER_BREAK,
    BREAKER_FAILURES,
    CALL_TIMEOUT,
    RETRY_ATTEMPTS,
    RETRY_BASE_DELAY,
    RETRY_SEED,
    SMS_BURST,
    SMS_RATE,
    demo_pipeline,
)
from toolware.demo.resilience import EXCHANGE_RATE_TTL, add_resilience_tools
from toolware.errors import CircuitOpenError, RateLimitedError, ToolFailedError
from toolware.markers import CACHE_HIT
from toolware.pipeline import Pipeline
from toolware.registry.local import LocalRegistry
from toolware.state.base import BreakerChange, BreakerState
from toolware.state.memory import MemoryState
from toolware.stats import StatsRecorder
from toolware.testing import FakeClock

START = 1_000.0  # FakeClock's default start


@pytest.fixture
async def state() -> AsyncIterator[MemoryState]:
    """One store for the test's pipelines, closed by the test like an application would."""
    store = MemoryState()
    yield store
    await store.aclose()


def tools() -> LocalRegistry:
    """A registry with fresh resilience tools only: all the pipeline needs here."""
    return add_resilience_tools(LocalRegistry("resilience"))


async def settled(pipeline: Pipeline, clock: FakeClock, target: str, **arguments: Any) -> Any:
    """Invoke ``target`` and advance the fake clock until it answers (retry waits on it)."""
    task = asyncio.create_task(pipeline.invoke(target, arguments))
    while not task.done():
        await clock.advance(0.001)
    response: ResponseContext = task.result()
    return response


def test_options_are_small_enough_for_a_demo() -> None:
    """The constants the docstring promises: short real waits, a breaker that rests longer
    than the timeout, one text a minute after a burst of two."""
    assert (RETRY_ATTEMPTS, RETRY_BASE_DELAY, RETRY_SEED) == (3, 0.01, 7)
    assert (BREAKER_FAILURES, BREAKER_BREAK, CALL_TIMEOUT) == (3, 60.0, 30.0)
    assert (SMS_RATE, SMS_BURST) == (1 / 60, 2)


async def test_stages_run_in_the_preset_order(state: MemoryState) -> None:
    """stats, timeout, cache, retry, circuit_breaker, rate_limit (send_sms only), validation."""
    pipeline = demo_pipeline(tools(), state=state, clock=FakeClock())
    assert pipeline.describe() == (
        "stats",
        "timeout",
        "cache",
        "retry",
        "circuit_breaker",
        "rate_limit when target in {send_sms}",
        "validation",
        "router",
    )


async def test_flaky_quote_is_rescued_after_exact_seeded_waits(state: MemoryState) -> None:
    """fetch_quote answers on attempt 3, after two waits drawn from Random(RETRY_SEED)."""
    clock = FakeClock()
    recorder = StatsRecorder()
    pipeline = demo_pipeline(tools(), state=state, recorder=recorder, clock=clock)
    task = asyncio.create_task(pipeline.invoke("fetch_quote", {"symbol": "ACME"}))
    draws = random.Random(RETRY_SEED)
    first, second = draws.uniform(0, RETRY_BASE_DELAY), draws.uniform(0, 2 * RETRY_BASE_DELAY)
    await clock.advance(first + second - 1e-9)
    assert not task.done()
    await clock.advance(1e-9)
    response = await task
    assert response.value == {"symbol": "ACME", "price": 182.35, "currency": "USD"}
    assert response.attempts == 3
    assert clock.monotonic() == pytest.approx(START + first + second, abs=1e-12)
    assert recorder.snapshot().get("fetch_quote").retries == 2


async def test_dead_crm_opens_its_breaker_and_is_then_refused(state: MemoryState) -> None:
    """Three failed attempts open legacy_crm's breaker (the callback hears it); the next call
    is refused at once with the exact rest left; other targets keep their own breaker."""
    clock, changes = FakeClock(), list[BreakerChange]()
    pipeline = demo_pipeline(tools(), state=state, clock=clock, on_breaker_change=changes.append)
    draws = random.Random(RETRY_SEED)
    opened_at = START + draws.uniform(0, RETRY_BASE_DELAY) + draws.uniform(0, 0.02)
    failed = await settled(pipeline, clock, "legacy_crm", customer_id="C-1")
    assert isinstance(failed.error, ToolFailedError)
    assert failed.attempts == RETRY_ATTEMPTS
    assert [(c.key, c.previous, c.current, c.reason) for c in changes] == [
        ("legacy_crm", BreakerState.CLOSED, BreakerState.OPEN, "consecutive")
    ]
    assert isinstance(changes[0], BreakerChange)
    assert changes[0].at == pytest.approx(opened_at, abs=1e-12)
    await clock.advance(opened_at + 10.0 - clock.monotonic())
    refused = await pipeline.invoke("legacy_crm", {"customer_id": "C-1"})
    assert isinstance(refused.error, CircuitOpenError)
    assert refused.error.retry_after == pytest.approx(BREAKER_BREAK - 10.0, abs=1e-9)
    assert refused.attempts == 1  # waiting 50 s would pass the 30 s deadline: not retried
    quote = await settled(pipeline, clock, "fetch_quote", symbol="GLOBEX")
    assert quote.error is None


async def test_third_text_of_a_burst_is_rate_limited_for_exactly_a_minute(
    state: MemoryState,
) -> None:
    """Two texts go at once, the third is refused with retry_after 60 s (not retried: the
    deadline is 30 s away); 59 s later a text waits out the last second in retry and goes."""
    clock = FakeClock()
    pipeline = demo_pipeline(tools(), state=state, clock=clock)
    sms = {"to": "+1", "text": "hi"}
    answers = [await pipeline.invoke("send_sms", sms) for _ in range(3)]
    assert [a.value and a.value["message_id"] for a in answers[:2]] == ["sms-1", "sms-2"]
    refused = answers[2].error
    assert isinstance(refused, RateLimitedError)
    assert refused.retry_after == 60.0
    assert answers[2].attempts == 1
    await clock.advance(59.0)
    task = asyncio.create_task(pipeline.invoke("send_sms", sms))
    await clock.advance(0.999)
    assert not task.done()
    await clock.advance(0.001)
    late = await task
    assert (late.value["message_id"], late.attempts) == ("sms-3", 2)


async def test_rate_limit_applies_to_send_sms_only(state: MemoryState) -> None:
    """Five exchange-rate lookups of different pairs in a row are all answered."""
    clock = FakeClock()
    pipeline = demo_pipeline(tools(), state=state, clock=clock)
    pairs = [("EUR", "USD"), ("USD", "EUR"), ("EUR", "GBP"), ("GBP", "EUR"), ("eur", "gbp")]
    answers = [await pipeline.invoke("exchange_rate", {"base": b, "quote": q}) for b, q in pairs]
    assert [a.error for a in answers] == [None] * 5


async def test_exchange_rate_is_cached_for_its_ttl(state: MemoryState) -> None:
    """The repeat within EXCHANGE_RATE_TTL is a hit that never reaches the tool; at the TTL
    the result is stale and the tool is asked again."""
    clock, recorder = FakeClock(), StatsRecorder()
    registry = tools()
    rates = registry.resolve(Kind.TOOL, "exchange_rate").function.__self__
    pipeline = demo_pipeline(registry, state=state, recorder=recorder, clock=clock)
    pair = {"base": "EUR", "quote": "USD"}
    first = await pipeline.invoke("exchange_rate", pair)
    assert first.get(CACHE_HIT) is False
    await clock.advance(EXCHANGE_RATE_TTL - 0.001)
    hit = await pipeline.invoke("exchange_rate", pair)
    assert (hit.get(CACHE_HIT), hit.value, rates.lookups) == (True, first.value, 1)
    await clock.advance(0.001)
    stale = await pipeline.invoke("exchange_rate", pair)
    assert (stale.get(CACHE_HIT), rates.lookups) == (False, 2)
    assert recorder.snapshot().get("exchange_rate").cache_hits == 1


async def test_pipelines_on_one_store_share_breakers_limits_and_cache(
    state: MemoryState,
) -> None:
    """A second pipeline on the same store finds legacy_crm's breaker open, the SMS burst
    spent and the rate cached: the store, not the pipeline, holds the state."""
    clock = FakeClock()
    registry = tools()
    first = demo_pipeline(registry, state=state, clock=clock)
    await settled(first, clock, "legacy_crm", customer_id="C-1")
    for _ in range(SMS_BURST):
        await first.invoke("send_sms", {"to": "+1", "text": "hi"})
    await first.invoke("exchange_rate", {"base": "EUR", "quote": "USD"})
    second = demo_pipeline(registry, state=state, clock=clock)
    crm = await second.invoke("legacy_crm", {"customer_id": "C-1"})
    assert isinstance(crm.error, CircuitOpenError)
    sms = await second.invoke("send_sms", {"to": "+1", "text": "hi"})
    assert isinstance(sms.error, RateLimitedError)
    rate = await second.invoke("exchange_rate", {"base": "EUR", "quote": "USD"})
    assert rate.get(CACHE_HIT) is True
    other = demo_pipeline(registry, state=MemoryState(), clock=clock)
    fresh = await other.invoke("send_sms", {"to": "+1", "text": "hi"})
    assert fresh.error is None
