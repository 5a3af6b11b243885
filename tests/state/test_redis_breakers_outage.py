"""Tests for RedisState breakers through outages, and against the memory store's answers."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import pytest

from tests.redis_support import RedisServer, free_port
from tests.state.test_redis_breakers import (
    CLOSED,
    IN_A_ROW,
    OPEN,
    T,
    eventually,
    fail,
    listening,
    needs_memory_breakers,
)
from toolware.state import BreakerChange, BreakerPolicy, BreakerState, MemoryState
from toolware.state.redis import RedisState
from toolware.testing import FakeClock

Stores = Callable[..., RedisState]


async def test_the_listener_comes_back_after_an_outage(stores: Stores) -> None:
    """Killed: the listener loses its subscription; restarted: it resubscribes, and changes
    from the other store are heard again."""
    with RedisServer() as server:
        one = stores(server.url, reconnect_interval=0.05)
        two = stores(server.url, reconnect_interval=0.05)
        heard: list[BreakerChange] = []
        two.subscribe_breaker_changes(heard.append)
        await listening(one, two)
        server.kill()
        await eventually(lambda: not two.listening)
        server.start()
        await eventually(lambda: two.listening, within=5.0)
        await fail(one, 3)
        await eventually(lambda: bool(heard))
        assert [(c.previous, c.current, c.reason) for c in heard] == [(CLOSED, OPEN, "remote")]


async def test_a_store_that_was_never_listening_starts_on_first_use(stores: Stores) -> None:
    """No breaker operation, no listener: nothing runs in the background until asked."""
    state = stores()
    assert state.listening is False
    await state.cache_get("k", 0.0)
    assert state.listening is False


@needs_memory_breakers
async def test_while_down_breakers_run_on_the_local_store(stores: Stores) -> None:
    """Redis down: the breaker opens, refuses and reports from local state, on `now`."""
    state = stores(f"redis://127.0.0.1:{free_port()}/0")
    for _ in range(2):
        assert await state.breaker_record("k", IN_A_ROW, 0.0, failed=True, probe=False) is None
    change = await state.breaker_record("k", IN_A_ROW, 0.0, failed=True, probe=False)
    assert change == BreakerChange("k", CLOSED, OPEN, "consecutive", 0.0)
    refused = await state.breaker_admit("k", IN_A_ROW, 0.05)
    assert (refused.allowed, refused.retry_after) == (False, 9.95)
    assert state.breaker_state("k", 0.05) is OPEN
    assert state.status().degraded is True
    await state.breaker_release("k", 0.05)
    reset = await state.breaker_force("k", BreakerState.CLOSED, 0.05)
    assert reset == BreakerChange("k", OPEN, CLOSED, "reset", 0.05)


@needs_memory_breakers
async def test_the_same_outcomes_give_the_same_answers_as_memory(stores: Stores) -> None:
    """A run of outcomes under a ratio policy: Redis and memory open at the same call."""
    policy = BreakerPolicy(failure_ratio=0.3, minimum_calls=5, window=30.0)
    state, memory = stores(), MemoryState()
    outcomes = [False, False, True, False, False, False, True, False, True]
    now = T()
    shared = [await state.breaker_record("k", policy, now, failed=f, probe=False) for f in outcomes]
    local = [await memory.breaker_record("k", policy, now, failed=f, probe=False) for f in outcomes]
    assert [c and c.reason for c in shared] == [c and c.reason for c in local]
    assert shared[-1] is not None
    refused = await state.breaker_admit("k", policy, time.monotonic())
    assert refused.state is (await memory.breaker_admit("k", policy, now)).state


async def test_a_lost_listener_is_logged_once_and_retries_with_backoff(
    stores: Stores, caplog: pytest.LogCaptureFixture
) -> None:
    """While Redis stays down the listener retries (on the store's clock, backing off) and
    logs the loss once; when Redis is back it subscribes again."""
    clock = FakeClock()
    with RedisServer() as server:
        state = stores(server.url, reconnect_interval=0.05, clock=clock)
        await listening(state)
        with caplog.at_level(logging.INFO, "toolware.state.redis"):
            server.kill()
            await eventually(lambda: not state.listening)
            for _ in range(4):  # tries at +0.05, +0.1, +0.2, +0.4: all refused
                await asyncio.sleep(0.02)
                await clock.advance(0.4)
            server.start()
            await clock.advance(5.0)
            await eventually(lambda: state.listening)
        assert [r.message for r in caplog.records] == ["redis.listener_lost error=ConnectionError"]
