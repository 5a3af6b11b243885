"""The connection RedisState shares among its parts: a lazily made client, its scripts, health.

The client is made on first use, in the running loop (nothing connects at construction). Every
command is bounded by ``op_timeout`` (connect and read) and never retried after a timeout: a
slow Redis counts as a down one, and the fallback, not a retry loop, answers. A broken
connection is retried once at once (after a Redis restart the pooled connections are dead,
and the retry's new one works).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from toolware.state._redis_health import Health
from toolware.state._redis_scripts import BREAKER, GCRA
from toolware.state.memory import MemoryState

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.commands.core import AsyncScript

__all__ = ["Link"]


class Link:
    """The client, the two scripts, the local fallback store and the health of Redis."""

    __slots__ = (
        "_client",
        "_scripts",
        "closed",
        "health",
        "local",
        "op_timeout",
        "prefix",
        "url",
    )

    def __init__(
        self,
        url: str,
        prefix: str,
        op_timeout: float,
        reconnect_interval: float,
        max_reconnect_interval: float,
        local: MemoryState,
    ) -> None:
        self.url = url
        self.prefix = prefix
        self.op_timeout = op_timeout
        self.local = local
        self.health = Health(reconnect_interval, max_reconnect_interval, urlsplit(url).password)
        self.closed = False
        self._client: Redis | None = None
        self._scripts: tuple[AsyncScript, AsyncScript] | None = None

    def client(self) -> Redis:
        """The client, made on first use (in the caller's running loop)."""
        client = self._client
        if client is None:
            self._connect()
            client = self._client
        return client  # type: ignore[return-value]  # set by _connect

    def _connect(self) -> tuple[AsyncScript, AsyncScript]:
        # Imported here: `toolware.state` must not need redis-py unless RedisState is used.
        from redis.asyncio import Redis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff
        from redis.exceptions import ConnectionError as RedisConnectionError

        client: Redis = Redis.from_url(
            self.url,
            socket_timeout=self.op_timeout,
            socket_connect_timeout=self.op_timeout,
            # One immediate retry on a broken connection (a pooled one that died with a Redis
            # restart: the retry reconnects), none on a timeout (that would double its cost).
            retry=Retry(NoBackoff(), 1, (RedisConnectionError,)),
            decode_responses=False,
        )
        self._client = client
        scripts = self._scripts = (client.register_script(GCRA), client.register_script(BREAKER))
        return scripts

    async def gcra_call(self, key: str, args: list[Any]) -> Any:
        scripts = self._scripts or self._connect()
        return await scripts[0](keys=[key], args=args)

    async def breaker_call(self, key: str, args: list[Any]) -> Any:
        scripts = self._scripts or self._connect()
        return await scripts[1](keys=[key], args=args)

    async def aclose(self) -> None:
        self.closed = True
        client, self._client, self._scripts = self._client, None, None
        if client is not None:
            await client.aclose()
