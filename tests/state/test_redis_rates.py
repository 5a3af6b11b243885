"""Tests for RedisState rate limits on a real redis-server: GCRA, reservations, leases."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import pytest
from redis.asyncio import Redis

from toolware.state import ADMITTED, MemoryState, RateLimit
from toolware.state.redis import RedisState

Stores = Callable[..., RedisState]


async def test_burst_then_refusal_match_the_memory_store(stores: Stores) -> None:
    """Same admitted count as MemoryState, and a retry_after within the elapsed time of it."""
    state, memory = stores(), MemoryState()
    limit = RateLimit(10, burst=3)
    start = time.monotonic()
    shared = [await state.acquire("k", limit, start) for _ in range(4)]
    elapsed = time.monotonic() - start
    local = [await memory.acquire("k", limit, start) for _ in range(4)]
    assert [d.admitted for d in shared] == [d.admitted for d in local] == [1, 1, 1, 0]
    assert shared[:3] == [ADMITTED] * 3
    assert local[3].delay == pytest.approx(0.1)
    assert 0.1 - elapsed - 0.001 <= shared[3].delay <= 0.1
    assert state.round_trips == 4  # a low rate is exact: one script call per permit


async def test_a_caller_that_waits_retry_after_is_admitted(stores: Stores) -> None:
    """The retry_after given is enough: after it, the permit is granted."""
    state = stores()
    limit = RateLimit(50)
    assert await state.acquire("k", limit, time.monotonic()) is ADMITTED
    refused = await state.acquire("k", limit, time.monotonic())
    assert not refused.admitted
    assert 0.0 < refused.delay <= 0.02
    await asyncio.sleep(refused.delay)
    assert await state.acquire("k", limit, time.monotonic()) is ADMITTED
    assert state.round_trips == 3


async def test_max_wait_reserves_permits_with_their_delay(stores: Stores) -> None:
    """Within max_wait a permit is reserved (delay grows by the interval); beyond it, refused
    with nothing taken."""
    state = stores()
    limit = RateLimit(10)
    start = time.monotonic()
    assert await state.acquire("k", limit, 0.0, max_wait=0.5) is ADMITTED
    first = await state.acquire("k", limit, 0.0, max_wait=0.5)
    second = await state.acquire("k", limit, 0.0, max_wait=0.5)
    refused = await state.acquire("k", limit, 0.0, max_wait=0.25)
    again = await state.acquire("k", limit, 0.0, max_wait=0.25)
    elapsed = time.monotonic() - start
    assert first.admitted
    assert 0.1 - elapsed <= first.delay <= 0.1
    assert second.admitted
    assert 0.2 - elapsed <= second.delay <= 0.2
    assert not refused.admitted
    assert 0.3 - elapsed <= refused.delay <= 0.3
    assert again == refused  # refused locally until then: the refusal took nothing
    assert state.round_trips == 4
    reserved = await state.acquire("k", limit, 0.0, max_wait=0.5)  # reaches past the refusal
    assert reserved.admitted
    assert 0.3 - elapsed <= reserved.delay <= 0.3
    assert state.round_trips == 5


async def test_keys_are_limited_separately_and_share_across_stores(stores: Stores) -> None:
    """Two stores on one Redis share a key's permits; another key has its own."""
    one, two = stores(), stores()
    limit = RateLimit(1, burst=2)
    assert await one.acquire("a", limit, 0.0) is ADMITTED
    assert await two.acquire("a", limit, 0.0) is ADMITTED
    assert not (await one.acquire("a", limit, 0.0)).admitted
    assert not (await two.acquire("a", limit, 0.0)).admitted
    assert await two.acquire("b", limit, 0.0) is ADMITTED


async def test_a_limiter_key_expires_when_its_arrival_time_is_past(
    stores: Stores, raw: Redis, prefix: str
) -> None:
    """The key's TTL is its theoretical arrival time (plus a millisecond), so idle keys go."""
    state = stores()
    await state.acquire("k", RateLimit(10, burst=2), 0.0)
    ttl = await raw.pttl(f"{prefix}rl:k")
    assert ttl == -2 or 1 <= ttl <= 101  # -2: already gone (a slow machine read it late)


async def test_leases_spend_a_burst_with_one_round_trip_per_lease(stores: Stores) -> None:
    """At a high rate, 50 calls of a 50 burst cost 5 script calls of 10 permits each."""
    state = stores(lease_size=10, lease_min_rate=100.0, lease_ttl=0.1)
    limit = RateLimit(1000, burst=50)
    now = time.monotonic()
    decisions = [await state.acquire("k", limit, now) for _ in range(50)]
    assert decisions == [ADMITTED] * 50
    assert state.round_trips == 5


async def test_a_lease_never_covers_more_than_lease_ttl_of_the_rate(stores: Stores) -> None:
    """rate * lease_ttl = 4 caps a lease below lease_size: 8 calls, 2 round trips."""
    state = stores(lease_size=10, lease_min_rate=100.0, lease_ttl=0.02)
    now = time.monotonic()
    for _ in range(8):
        assert await state.acquire("k", RateLimit(200, burst=50), now) is ADMITTED
    assert state.round_trips == 2


async def test_below_lease_min_rate_every_permit_is_a_round_trip(stores: Stores) -> None:
    """A rate just under lease_min_rate is exact; at it, leases start."""
    state = stores(lease_size=10, lease_min_rate=100.0, lease_ttl=0.1)
    for _ in range(5):
        await state.acquire("slow", RateLimit(99.99, burst=50), 0.0)
    assert state.round_trips == 5
    for _ in range(5):
        await state.acquire("fast", RateLimit(100, burst=50), 0.0)
    assert state.round_trips == 6


async def test_lease_size_one_turns_leases_off(stores: Stores) -> None:
    """With lease_size=1 even a high rate is exact."""
    state = stores(lease_size=1)
    for _ in range(3):
        await state.acquire("k", RateLimit(10_000, burst=50), 0.0)
    assert state.round_trips == 3


async def test_an_unused_lease_expires_after_lease_ttl(stores: Stores) -> None:
    """Permits left in a lease are dropped lease_ttl after it was made (on the caller's now)."""
    state = stores(lease_size=10, lease_min_rate=100.0, lease_ttl=0.5)
    limit = RateLimit(1000, burst=50)
    await state.acquire("k", limit, 10.0)
    await state.acquire("k", limit, 10.499)
    assert state.round_trips == 1
    await state.acquire("k", limit, 10.5)
    assert state.round_trips == 2


async def test_a_call_during_a_lease_fetch_takes_one_exact_permit(stores: Stores) -> None:
    """While one lease is being fetched, a second caller asks for one permit, not a lease."""
    state = stores(lease_size=10, lease_min_rate=100.0, lease_ttl=1.0)
    limit = RateLimit(1000, burst=50)
    now = time.monotonic()
    both = await asyncio.gather(state.acquire("k", limit, now), state.acquire("k", limit, now))
    assert both == [ADMITTED, ADMITTED]
    assert state.round_trips == 2
    for _ in range(9):  # the lease of 10 from the first call: 9 left
        await state.acquire("k", limit, now)
    assert state.round_trips == 2
    await state.acquire("k", limit, now)
    assert state.round_trips == 3


async def test_leases_across_two_stores_stay_within_the_documented_bound(stores: Stores) -> None:
    """Two stores hammering one key admit at most burst + rate * d + 2 * lease_size."""
    burst, rate, lease_size = 10, 500.0, 10
    limit = RateLimit(rate, burst=burst)
    one, two = (stores(lease_size=lease_size, lease_min_rate=100.0, lease_ttl=0.05) for _ in "12")
    admitted = calls = 0
    start = time.monotonic()
    stop = start + 0.3

    async def hammer(state: RedisState) -> None:
        nonlocal admitted, calls
        while (now := time.monotonic()) < stop:
            calls += 1
            if (await state.acquire("k", limit, now)).admitted:
                admitted += 1
            await asyncio.sleep(0)

    await asyncio.gather(*(hammer(s) for s in (one, two, one, two)))
    elapsed = time.monotonic() - start
    assert admitted <= burst + rate * elapsed + 2 * lease_size
    assert admitted >= rate * 0.3 * 0.5  # and leases do not starve the limit
    # Leases and remembered refusals: far fewer round trips than calls.
    assert one.round_trips + two.round_trips < calls / 2


@pytest.mark.parametrize(
    ("spoil", "detail"),
    [("set", "not a number"), ("inf", "not a number"), ("hash", "not a string")],
)
async def test_a_foreign_value_under_a_limiter_key_is_repaired(
    stores: Stores,
    raw: Redis,
    prefix: str,
    caplog: pytest.LogCaptureFixture,
    spoil: str,
    detail: str,
) -> None:
    """Garbage under the key: this call is answered locally, logged, the key deleted; the next
    call is shared again. The store is not degraded."""
    state = stores()
    key = f"{prefix}rl:k"
    if spoil == "hash":
        await raw.hset(key, "x", "1")
    else:
        await raw.set(key, "garbage" if spoil == "set" else "inf")
    limit = RateLimit(1)
    with caplog.at_level(logging.WARNING, "toolware.state.redis"):
        assert await state.acquire("k", limit, 0.0) is ADMITTED  # from the local store
    assert caplog.messages == [f"redis.bad_value key={key} detail={detail}"]
    assert await raw.exists(key) == 0
    status = state.status()
    assert (status.degraded, status.errors, status.fallbacks) == (False, 1, 0)
    assert status.last_error == f"bad value under {key!r}: {detail}"
    assert await state.acquire("k", limit, 1.0) is ADMITTED  # from Redis, which is clean
    assert await raw.exists(key) == 1


async def test_a_refused_key_is_refused_locally_until_its_retry_after(stores: Stores) -> None:
    """No round trip while the refusal holds; at its end (caller's clock) Redis is asked again."""
    state = stores()
    limit = RateLimit(1)
    assert await state.acquire("k", limit, 100.0) is ADMITTED
    refused = await state.acquire("k", limit, 100.0)
    assert 0.9 < refused.delay <= 1.0
    later = await state.acquire("k", limit, 100.5)
    assert later.delay == pytest.approx(refused.delay - 0.5)
    assert state.round_trips == 2
    await state.acquire("k", limit, 100.0 + refused.delay)
    assert state.round_trips == 3
