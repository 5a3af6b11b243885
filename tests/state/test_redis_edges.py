"""Tests for RedisState's edges: cancellation, bounds on local memory, odd messages and URLs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable

import pytest
from redis.asyncio import Redis

from tests.state.test_redis_breakers import CLOSED, IN_A_ROW, ISOLATED, T, eventually, listening
from toolware.state import BreakerState, RateLimit
from toolware.state import _redis_rates as rates_module
from toolware.state._redis_health import Health
from toolware.state.redis import RedisState

Stores = Callable[..., RedisState]


@pytest.fixture
async def silent_port() -> AsyncIterator[int]:
    """A port that accepts connections and never answers."""
    writers: list[asyncio.StreamWriter] = []
    server = await asyncio.start_server(lambda r, w: writers.append(w), "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    for writer in writers:
        writer.close()
    server.close()
    await server.wait_closed()


@pytest.mark.parametrize("operation", ["acquire", "admit", "cache"])
async def test_cancellation_propagates_from_a_waiting_operation(
    stores: Stores, silent_port: int, operation: str
) -> None:
    """Cancelled while waiting on Redis: CancelledError, not a fallback answer."""
    state = stores(f"redis://127.0.0.1:{silent_port}/0", op_timeout=5.0)
    calls = {
        "acquire": lambda: state.acquire("k", RateLimit(1), 0.0),
        "admit": lambda: state.breaker_admit("k", IN_A_ROW, 0.0),
        "cache": lambda: state.cache_get("k", 0.0),
    }
    task = asyncio.ensure_future(calls[operation]())
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert state.status().errors == 0


def test_an_unparsable_url_is_refused_without_echoing_it() -> None:
    """A URL urlsplit cannot read (a broken IPv6 host) is refused as not valid."""
    with pytest.raises(ValueError, match=r"'<unparsable URL>' is not a valid URL"):
        RedisState("redis://:pw@[::1")


async def test_the_local_breaker_view_is_bounded(stores: Stores) -> None:
    """max_local_keys=1: learning a second key forgets the first (it reads closed again)."""
    state = stores(max_local_keys=1)
    await state.breaker_force("a", ISOLATED, 0.0)
    assert state.breaker_state("a", 0.0) is ISOLATED
    await state.breaker_admit("b", IN_A_ROW, 0.0)
    assert state.breaker_state("a", 0.0) is CLOSED
    await state.breaker_force("a", BreakerState.CLOSED, 0.0)


async def test_heard_changes_are_bounded_too(stores: Stores) -> None:
    """A change heard for a new key evicts the oldest known one."""
    one, two = stores(), stores(max_local_keys=1)
    await listening(one, two)
    await one.breaker_force("other", ISOLATED, T())
    await eventually(lambda: two.breaker_state("other", T()) is ISOLATED)
    assert two.breaker_state("warm-up", T()) is CLOSED
    await one.breaker_force("other", BreakerState.CLOSED, T())


async def test_a_garbled_message_on_the_channel_is_logged_and_skipped(
    stores: Stores, raw: Redis, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A message that is not ours is logged; the listener goes on hearing real changes."""
    one, two = stores(), stores()
    heard: list[object] = []
    two.subscribe_breaker_changes(heard.append)
    await listening(one, two)
    with caplog.at_level(logging.WARNING, "toolware.state.redis"):
        await raw.publish(f"{prefix}cb:changes", b"not a change")
        await one.breaker_force("k", ISOLATED, T())
        await eventually(lambda: bool(heard))
    assert caplog.messages == [f"redis.bad_message channel={prefix}cb:changes"] * 2  # both
    assert len(heard) == 1


async def test_leases_and_refusals_kept_locally_are_bounded(
    stores: Stores, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the bound the kept leases are dropped: the next call takes a round trip."""
    monkeypatch.setattr(rates_module, "_MAX_KEYS", 1)
    state = stores(lease_size=10, lease_min_rate=100.0, lease_ttl=1.0)
    limit = RateLimit(1000, burst=50)
    await state.acquire("a", limit, 0.0)
    await state.acquire("b", limit, 0.0)  # keeping b's lease drops a's
    assert state.round_trips == 2
    await state.acquire("a", limit, 0.0)
    assert state.round_trips == 3


def test_error_descriptions_mask_the_password_and_keep_the_type() -> None:
    """The password never appears in last_error; an empty message leaves the type alone."""
    health = Health(0.5, 5.0, "hunter2")
    assert health.describe(OSError("auth hunter2 refused")) == "OSError: auth *** refused"
    assert health.describe(TimeoutError()) == "TimeoutError"
    assert Health(0.5, 5.0, None).describe(OSError("x" * 300)) == "OSError: " + "x" * 160


def test_a_recovery_resets_the_backoff() -> None:
    """After Redis answered, the next outage starts again at reconnect_interval."""
    health = Health(0.5, 5.0, None)
    health.failed(OSError(), 0.0)
    health.failed(OSError(), 0.5)
    assert (health.backoff, health.retry_at) == (1.0, 1.5)
    health.succeeded()
    health.succeeded()  # twice: nothing more to leave
    health.failed(OSError(), 10.0)
    assert (health.backoff, health.retry_at, health.fallbacks) == (0.5, 10.5, 2)
