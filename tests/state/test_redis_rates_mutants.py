"""Tests for toolware.state._redis_rates on a real redis-server that pin what mutation testing
found loose: leases of exactly two permits, the exact permit taken during a lease fetch, the
local answers' arguments (degraded, failed, bad value), and the remembered refusal's bound."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from typing import Any

import pytest
from redis.asyncio import Redis

from tests.redis_support import free_port
from toolware.state import ADMITTED, RateDecision, RateLimit
from toolware.state._redis_link import Link
from toolware.state.redis import RedisState

Stores = Callable[..., RedisState]


async def test_a_lease_of_two_spends_one_now_and_one_locally(stores: Stores) -> None:
    """lease_size=2 still leases: four calls, two round trips."""
    state = stores(lease_size=2, lease_min_rate=100.0, lease_ttl=1.0)
    limit = RateLimit(1000, burst=50)
    for _ in range(4):
        assert await state.acquire("k", limit, 0.0) is ADMITTED
    assert state.round_trips == 2


async def test_a_lease_needs_the_rate_to_cover_two_permits(stores: Stores) -> None:
    """rate * lease_ttl below 2 (here 1.5): every permit is exact, even above lease_min_rate."""
    state = stores(lease_size=10, lease_min_rate=1.0, lease_ttl=1.0)
    limit = RateLimit(1.5, burst=5)
    for _ in range(2):
        assert await state.acquire("k", limit, 0.0) is ADMITTED
    assert state.round_trips == 2


async def test_an_exact_call_does_not_keep_its_key_from_leasing(stores: Stores) -> None:
    """After an exact permit (a low rate), the same key at a high rate leases at once."""
    state = stores(lease_size=10, lease_min_rate=100.0, lease_ttl=1.0)
    assert await state.acquire("k", RateLimit(99, burst=50), 0.0) is ADMITTED
    for _ in range(2):
        assert await state.acquire("k", RateLimit(1000, burst=50), 0.0) is ADMITTED
    assert state.round_trips == 2


@pytest.mark.parametrize("lease_size", [2, 10])
async def test_a_call_during_a_lease_fetch_takes_only_one_permit_from_redis(
    stores: Stores, lease_size: int
) -> None:
    """Two calls at once: one lease and one exact permit leave burst - lease_size - 1 permits
    for everyone else (the rate, 2/s, refills none in the test's time)."""
    state = stores(lease_size=lease_size, lease_min_rate=1.0, lease_ttl=5.0)
    other = stores(lease_size=1)
    limit = RateLimit(2, burst=2 * lease_size)
    both = await asyncio.gather(state.acquire("k", limit, 0.0), state.acquire("k", limit, 0.0))
    assert both == [ADMITTED, ADMITTED]
    left = [(await other.acquire("k", limit, 0.0)).admitted for _ in range(lease_size - 1)]
    assert left == [True] * (lease_size - 1)


async def test_a_degraded_then_failing_store_answers_locally_with_the_callers_values(
    stores: Stores,
) -> None:
    """Degraded (no trial yet) and at a failed trial, the local store gets the caller's key,
    now and max_wait: a wait within max_wait is reserved with its exact delay."""
    state = stores(f"redis://127.0.0.1:{free_port()}/0", reconnect_interval=0.5)
    limit = RateLimit(1)
    assert await state.acquire("k", limit, 0.0) is ADMITTED  # fails: degraded until 0.5
    assert await state.acquire("k", limit, 0.25, max_wait=1.0) == RateDecision(True, 0.75)
    assert state.status().errors == 1
    assert await state.acquire("k", limit, 0.5, max_wait=2.0) == RateDecision(True, 1.5)
    assert state.status().errors == 2  # the trial at 0.5 failed: answered locally too


async def test_a_bad_value_is_answered_locally_with_the_callers_values(
    stores: Stores, raw: Redis, prefix: str
) -> None:
    """After a bad value, the local store gets the caller's key, now and max_wait."""
    state = stores()
    limit = RateLimit(1)
    for key, expected in (("a", ADMITTED), ("a", RateDecision(True, 1.0)), ("b", ADMITTED)):
        await raw.set(f"{prefix}rl:{key}", "garbage")
        assert await state.acquire(key, limit, 0.0, max_wait=1.0) == expected
    assert state.status().errors == 3


def just_short_of(delay: float) -> float:
    """The max_wait whose sum with the tolerance (1e-9) is exactly ``delay``."""
    max_wait = delay - 1e-9
    for _ in range(16):
        if max_wait + 1e-9 == delay:
            return max_wait
        max_wait = math.nextafter(max_wait, math.inf if max_wait + 1e-9 < delay else -math.inf)
    raise AssertionError(f"no max_wait with max_wait + 1e-9 == {delay!r}")


@pytest.mark.parametrize("short", [False, True], ids=["exactly", "short_by_the_tolerance"])
async def test_a_remembered_refusal_lets_a_wait_reaching_its_delay_ask_redis(
    stores: Stores, short: bool
) -> None:
    """A caller whose max_wait reaches the remembered retry_after, or falls short of it by
    exactly the tolerance, is not refused locally: Redis is asked."""
    state = stores()
    limit = RateLimit(1)
    assert await state.acquire("k", limit, 0.0) is ADMITTED
    refused = await state.acquire("k", limit, 0.0)
    assert not refused.admitted
    max_wait = just_short_of(refused.delay) if short else refused.delay
    await state.acquire("k", limit, 0.0, max_wait=max_wait)
    assert state.round_trips == 3


async def test_a_refusal_that_has_run_out_is_forgotten(
    stores: Stores, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Asked again at exactly the remembered instant, a refused key is asked of Redis and its
    refusal forgotten: it no longer takes a place in the bounded table of refusals."""
    monkeypatch.setattr("toolware.state._redis_rates._MAX_KEYS", 2)
    state = stores(lease_size=1)
    fast, slow = RateLimit(20), RateLimit(1)  # a permit free again in 50 ms; in 1 s
    assert await state.acquire("a", fast, 0.0) is ADMITTED
    refused = await state.acquire("a", fast, 0.0)
    assert not refused.admitted
    await asyncio.sleep(refused.delay)  # on Redis's clock the permit is free again
    assert await state.acquire("a", fast, refused.delay) is ADMITTED  # the remembered instant
    for key in ("b", "c"):  # two refusals: the table holds both, as "a" left it
        assert await state.acquire(key, slow, 0.0) is ADMITTED
        assert not (await state.acquire(key, slow, 0.0)).admitted
    trips = state.round_trips
    assert not (await state.acquire("b", slow, 0.0)).admitted
    assert state.round_trips == trips  # refused locally: "b" is still remembered


async def test_exact_calls_ending_during_a_lease_fetch_leave_it_marked(
    stores: Stores, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While a lease fetch is slow, every other call takes one exact permit, also after an
    exact call has ended: burst 20 - one lease of 10 - two exact permits leaves 8."""
    original = Link.gcra_call
    arrived, gate = asyncio.Event(), asyncio.Event()
    held: list[str] = []

    async def gated(self: Link, key: str, args: list[Any]) -> Any:
        if args[3] > 1 and not held:  # the first lease fetch waits for the gate
            held.append(key)
            arrived.set()
            await gate.wait()
        return await original(self, key, args)

    monkeypatch.setattr(Link, "gcra_call", gated)
    state = stores(lease_size=10, lease_min_rate=1.0, lease_ttl=5.0)
    other = stores(lease_size=1)
    limit = RateLimit(2, burst=20)
    lease = asyncio.create_task(state.acquire("k", limit, 0.0))
    await arrived.wait()
    assert await state.acquire("k", limit, 0.0) is ADMITTED
    assert await state.acquire("k", limit, 0.0) is ADMITTED
    gate.set()
    assert await lease is ADMITTED
    left = [(await other.acquire("k", limit, 0.0)).admitted for _ in range(8)]
    assert left == [True] * 8


async def test_a_redis_wait_of_exactly_the_tolerance_counts_as_none(
    stores: Stores, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis's answer "admitted after 1e-9 s" is the shared ADMITTED, as in the memory store
    (Redis's clock cannot be made to give that wait, so its reply is given here)."""

    async def reply(self: Link, key: str, args: list[Any]) -> Any:
        return [1, 1, b"1e-09"]

    monkeypatch.setattr(Link, "gcra_call", reply)
    assert await stores().acquire("k", RateLimit(1), 0.0, max_wait=1.0) is ADMITTED
