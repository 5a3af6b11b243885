"""Tests for RedisState's fallback: a dead, slow, locked or lying Redis never fails a call."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable

import pytest

from tests.redis_support import RedisServer, free_port
from toolware.state import ADMITTED, RateLimit
from toolware.state.redis import RedisState

Stores = Callable[..., RedisState]
LIMIT = RateLimit(1)


@pytest.fixture
async def silent_port() -> AsyncIterator[int]:
    """A port that accepts connections and never answers: a Redis too slow to wait for."""
    writers: list[asyncio.StreamWriter] = []
    server = await asyncio.start_server(lambda r, w: writers.append(w), "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    for writer in writers:
        writer.close()
    server.close()
    await server.wait_closed()


@pytest.fixture
async def lying_port() -> AsyncIterator[int]:
    """A port whose 'Redis' answers +OK to everything: replies that do not parse."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await reader.read(4096):
            writer.write(b"+OK\r\n")
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()


def statuses(state: RedisState) -> tuple[bool, bool, int, int]:
    status = state.status()
    return status.shared, status.degraded, status.fallbacks, status.errors


async def test_a_dead_redis_answers_locally_and_logs_once(
    stores: Stores, caplog: pytest.LogCaptureFixture
) -> None:
    """Connection refused: the local store answers, the store is degraded, one warning."""
    state = stores(f"redis://127.0.0.1:{free_port()}/0")
    with caplog.at_level(logging.INFO, "toolware.state.redis"):
        assert await state.acquire("k", LIMIT, 0.0) is ADMITTED
        refused = await state.acquire("k", LIMIT, 0.1)  # the local GCRA, exact on `now`
        assert not refused.admitted
        assert refused.delay == pytest.approx(0.9)
    assert statuses(state) == (False, True, 1, 1)
    assert (state.status().last_error or "").startswith("ConnectionError: ")
    assert [r.message.split(" ")[0] for r in caplog.records] == ["redis.unavailable"]
    assert caplog.records[0].levelno == logging.WARNING
    assert await state.ping() is False


async def test_retries_back_off_from_reconnect_interval_to_its_maximum(stores: Stores) -> None:
    """While down, Redis is tried once per interval: 0.5, 1, 2, 4, then 5 s at most."""
    state = stores(f"redis://127.0.0.1:{free_port()}/0", max_reconnect_interval=5.0)
    tries = [0.0, 0.5, 1.5, 3.5, 7.5, 12.5]
    not_yet = [0.49, 1.49, 3.49, 7.49, 12.49, 17.49]
    for n, (at, before) in enumerate(zip(tries, not_yet, strict=True), start=1):
        await state.acquire("k", LIMIT, at)
        assert state.status().errors == n
        await state.acquire("k", LIMIT, before)
        assert state.status().errors == n
    assert state.status().fallbacks == 1


async def test_concurrent_calls_share_one_trial(stores: Stores) -> None:
    """When the interval is up, one call tries Redis; the others answer locally meanwhile."""
    state = stores(f"redis://127.0.0.1:{free_port()}/0")
    await state.acquire("k", LIMIT, 0.0)
    await asyncio.gather(*(state.acquire(str(n), LIMIT, 0.5) for n in range(5)))
    assert state.status().errors == 2


async def test_a_silent_redis_costs_one_op_timeout(stores: Stores, silent_port: int) -> None:
    """A Redis that does not answer within op_timeout counts as down, after about op_timeout."""
    state = stores(f"redis://127.0.0.1:{silent_port}/0", op_timeout=0.05)
    start = time.monotonic()
    assert await state.acquire("k", LIMIT, 0.0) is ADMITTED
    # At least the op_timeout; the upper bound only says "not stuck" (a loaded machine is slow).
    assert 0.04 <= time.monotonic() - start < 2.0
    assert (state.status().last_error or "").startswith("TimeoutError")
    await state.acquire("k", LIMIT, 0.1)  # within the interval: not tried, so no new error
    assert state.status().errors == 1


async def test_a_reply_that_does_not_parse_counts_as_down(stores: Stores, lying_port: int) -> None:
    """Garbage replies: fallback and degraded, like an outage."""
    state = stores(f"redis://127.0.0.1:{lying_port}/0")
    assert await state.acquire("k", LIMIT, 0.0) is ADMITTED
    assert statuses(state) == (False, True, 1, 1)


async def test_a_wrong_password_falls_back_without_showing_it(
    stores: Stores, caplog: pytest.LogCaptureFixture
) -> None:
    """AUTH refused: local answers, degraded, and the password appears nowhere."""
    with RedisServer(password="right-horse") as server:
        state = stores(server.url.replace("right-horse", "wrong-battery"))
        with caplog.at_level(logging.INFO, "toolware.state.redis"):
            assert await state.acquire("k", LIMIT, 0.0) is ADMITTED
            assert await state.cache_get("c", 0.0) is None
        assert statuses(state) == (False, True, 1, 1)
        last_error = state.status().last_error or ""
        assert last_error.startswith("AuthenticationError: ")
        assert "wrong-battery" not in last_error + caplog.text + repr(state)


async def test_a_killed_server_falls_back_then_recovers_shared_state(
    stores: Stores, caplog: pytest.LogCaptureFixture
) -> None:
    """Killed mid-run: fallback, no exception; restarted: 'redis.recovered', shared again."""
    with RedisServer() as server:
        one, two = stores(server.url), stores(server.url)
        limit = RateLimit(1, burst=2)
        assert await one.acquire("k", limit, 0.0) is ADMITTED
        server.kill()
        with caplog.at_level(logging.INFO, "toolware.state.redis"):
            start = time.monotonic()
            assert await one.acquire("other", limit, 0.0) is ADMITTED
            assert time.monotonic() - start < 2.0  # refused at once, not a hang
            assert statuses(one) == (False, True, 1, 1)
            server.start()
            assert await one.acquire("k", limit, 0.2) is ADMITTED  # before retry_at: local
            assert statuses(one) == (False, True, 1, 1)
            assert await one.acquire("k", limit, 0.5) is ADMITTED  # the trial: Redis again
        assert statuses(one) == (True, False, 1, 1)
        events = [r.message.split(" ")[0] for r in caplog.records]
        assert events == ["redis.unavailable", "redis.recovered"]
        assert await two.acquire("k", limit, 0.0) is ADMITTED  # shared: 2 of a burst of 2
        assert not (await two.acquire("k", limit, 0.0)).admitted
        assert await one.ping() is True


async def test_after_aclose_everything_answers_locally(stores: Stores) -> None:
    """A closed store is not shared any more and never raises."""
    state = stores()
    assert await state.start() is True
    await state.aclose()
    assert state.status().shared is False
    assert state.status().degraded is False
    assert await state.acquire("k", LIMIT, 0.0) is ADMITTED
    await state.cache_set("c", b"v", 1.0, 0.0)
    assert await state.cache_get("c", 0.5) == b"v"
    assert await state.ping() is False
    await state.aclose()  # twice is fine


async def test_async_with_closes_the_store(redis_url: str, prefix: str) -> None:
    """`async with` returns the store and closes it on the way out."""
    async with RedisState(redis_url, prefix=prefix) as state:
        assert await state.acquire("k", LIMIT, 0.0) is ADMITTED
    assert state.status().shared is False
