"""Tests for RedisState's cache on a real redis-server: TTLs, deletes, prefixes, fallback."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable

import pytest
from redis.asyncio import Redis

from tests.redis_support import free_port
from toolware.state.redis import RedisState

Stores = Callable[..., RedisState]


@pytest.fixture
async def erring_port() -> AsyncIterator[int]:
    """A port whose 'Redis' answers every command with an error reply."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await reader.read(4096):
            writer.write(b"-ERR not today\r\n")
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()


async def test_a_value_is_shared_until_its_ttl(stores: Stores, raw: Redis, prefix: str) -> None:
    """Set in one store, read in another; gone after the TTL (set in Redis as PX)."""
    one, two = stores(), stores()
    await one.cache_set("k", b"value", 0.2, 0.0)
    assert await two.cache_get("k", 0.0) == b"value"
    assert 0 < await raw.pttl(f"{prefix}cache:k") <= 200  # set as PX 200 (time has passed)
    deadline = time.monotonic() + 2.0
    while await two.cache_get("k", 0.0) is not None:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)


async def test_a_tiny_ttl_is_one_millisecond(stores: Stores, raw: Redis, prefix: str) -> None:
    """A TTL under a millisecond still sets an expiry (never a key without one)."""
    state = stores()
    await state.cache_set("k", b"v", 0.0001, 0.0)
    assert await raw.pttl(f"{prefix}cache:k") in (-2, 0, 1)


async def test_delete_says_whether_it_was_there(stores: Stores) -> None:
    """cache_delete: True once, then False."""
    state = stores()
    await state.cache_set("k", b"v", 10.0, 0.0)
    assert await state.cache_delete("k") is True
    assert await state.cache_delete("k") is False
    assert await state.cache_get("k", 0.0) is None


async def test_delete_prefix_removes_only_that_prefix_taken_literally(stores: Stores) -> None:
    """Glob characters in the prefix are literal; other keys stay."""
    state = stores()
    for key in ("a:1", "a:2", "b:1", "x*1", "xy", "[x]", "x"):
        await state.cache_set(key, b"v", 10.0, 0.0)
    assert await state.cache_delete_prefix("a:") == 2
    assert await state.cache_delete_prefix("x*") == 1
    assert await state.cache_delete_prefix("[") == 1
    assert [await state.cache_get(k, 0.0) for k in ("a:1", "b:1", "xy", "x")] == [
        None,
        b"v",
        b"v",
        b"v",
    ]


async def test_delete_prefix_goes_through_many_keys_in_batches(
    stores: Stores, raw: Redis, prefix: str
) -> None:
    """More keys than one UNLINK batch (500): all of them go."""
    state = stores()
    async with raw.pipeline(transaction=False) as pipe:
        for n in range(1_201):
            pipe.set(f"{prefix}cache:many:{n}", b"v", px=10_000)
        await pipe.execute()
    assert await state.cache_delete_prefix("many:") == 1_201
    assert await state.cache_delete_prefix("many:") == 0


async def test_a_foreign_type_under_a_cache_key_is_repaired(
    stores: Stores, raw: Redis, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A hash where a value belongs: a miss, logged, the key deleted; not degraded."""
    state = stores()
    await raw.hset(f"{prefix}cache:k", "x", "1")
    with caplog.at_level(logging.WARNING, "toolware.state.redis"):
        assert await state.cache_get("k", 0.0) is None
    assert caplog.messages == [f"redis.bad_value key={prefix}cache:k detail=WRONGTYPE"]
    assert await raw.exists(f"{prefix}cache:k") == 0
    assert state.status().degraded is False
    await state.cache_set("k", b"v", 10.0, 0.0)
    assert await state.cache_get("k", 0.0) == b"v"


async def test_while_down_the_cache_is_local(stores: Stores) -> None:
    """Redis down: set, get, delete and delete_prefix work on the local store."""
    state = stores(f"redis://127.0.0.1:{free_port()}/0")
    await state.cache_set("a:1", b"one", 10.0, 0.0)
    await state.cache_set("a:2", b"two", 10.0, 0.0)
    assert await state.cache_get("a:1", 5.0) == b"one"
    assert await state.cache_get("a:1", 10.0) is None  # the local TTL, on `now`
    assert await state.cache_delete("a:2") is True
    assert await state.cache_delete("a:2") is False
    await state.cache_set("b:1", b"v", 10.0, 0.0)
    assert await state.cache_delete_prefix("b:") == 1
    assert state.status().degraded is True


async def test_an_error_reply_counts_as_down(stores: Stores, erring_port: int) -> None:
    """An error other than WRONGTYPE: degraded, answered locally."""
    state = stores(f"redis://127.0.0.1:{erring_port}/0")
    assert await state.cache_get("k", 0.0) is None
    status = state.status()
    assert (status.degraded, status.errors) == (True, 1)
    assert (status.last_error or "").startswith("ResponseError: ")
