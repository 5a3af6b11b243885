"""RedisState's cache: values with a TTL in Redis, the local store while Redis is down.

``cache_set`` is ``SET key value PX ttl`` (at least a millisecond, so no key lives forever);
``cache_delete_prefix`` walks ``SCAN MATCH`` (the prefix taken literally) and ``UNLINK``s in
batches of 500. Deletes apply to the local store too, so a value kept there during one outage
cannot come back in the next. A key of another type (``WRONGTYPE``) is deleted and logged
(``redis.bad_value``), and that one operation answered locally.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from toolware.clock import Clock
from toolware.state._redis_link import Link

__all__ = ["DOWN", "RedisCache"]

T = TypeVar("T")
DOWN: Any = object()
"""What :meth:`RedisCache.redis` returns when the local store must answer."""


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


class RedisCache:
    """The cache operations of RedisState, and the guarded way to run one Redis command."""

    __slots__ = ("clock", "link", "prefix")

    def __init__(self, link: Link, clock: Clock) -> None:
        self.link = link
        self.clock = clock
        self.prefix = link.prefix + "cache:"

    async def get(self, key: str, now: float) -> bytes | None:
        full = self.prefix + key
        found = await self.redis(now, lambda r: r.get(full), full)
        if found is DOWN:
            return await self.link.local.cache_get(key, now)
        # decode_responses=False: a value is bytes (str only in redis-py's types).
        return found  # type: ignore[return-value]

    async def set(self, key: str, value: bytes, ttl: float, now: float) -> None:
        full, ms = self.prefix + key, max(1, math.ceil(ttl * 1000))
        if await self.redis(now, lambda r: r.set(full, value, px=ms), full) is DOWN:
            await self.link.local.cache_set(key, value, ttl, now)

    async def delete(self, key: str) -> bool:
        # Also locally: a value kept there during an outage must not come back in the next one.
        local = await self.link.local.cache_delete(key)
        full = self.prefix + key
        removed = await self.redis(None, lambda r: r.unlink(full), full)
        return local if removed is DOWN else bool(removed)

    async def delete_prefix(self, prefix: str) -> int:
        local = await self.link.local.cache_delete_prefix(prefix)
        pattern = _glob_escape(self.prefix + prefix) + "*"
        removed = await self.redis(None, lambda r: _unlink_matching(r, pattern), pattern)
        return local if removed is DOWN else int(removed)

    async def redis(
        self, now: float | None, command: Callable[[Redis], Awaitable[T]], key: str
    ) -> T:
        """``command``'s answer, or ``DOWN`` when Redis is down (or the key holds a foreign
        type: then it is deleted)."""
        link = self.link
        if now is None:
            now = self.clock.monotonic()
        if link.closed or not link.health.should_try(now):
            return DOWN  # type: ignore[no-any-return]
        try:
            answer = await command(link.client())
        except asyncio.CancelledError:
            raise
        except ResponseError as exc:
            if "WRONGTYPE" not in str(exc):
                link.health.failed(exc, now)
                return DOWN  # type: ignore[no-any-return]
            link.health.bad_value(key, "WRONGTYPE")
            await self.redis(now, lambda r: r.unlink(key), key)
            return DOWN  # type: ignore[no-any-return]
        except Exception as exc:  # any failure of Redis: the local store answers
            link.health.failed(exc, now)
            return DOWN  # type: ignore[no-any-return]
        link.health.succeeded()
        return answer


async def _unlink_matching(client: Redis, pattern: str) -> int:
    removed = 0
    batch: list[bytes] = []
    async for key in client.scan_iter(match=pattern, count=500):
        batch.append(key)
        if len(batch) >= 500:
            removed += await client.unlink(*batch)
            batch.clear()
    if batch:
        removed += await client.unlink(*batch)
    return removed
