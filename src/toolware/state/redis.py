"""RedisState: rate limits, circuit breakers and caches shared by every process on one Redis.

A :class:`~toolware.state.base.StateStore` with the memory store's semantics, shared::

    state = RedisState("redis://localhost:6379/0")
    pipeline = resilient_pipeline(registry, state=state, rate=RateLimit(100.0, burst=200))
    ...
    await state.aclose()          # or: async with RedisState(url) as state: ...

Construction checks the URL (``redis://``, ``rediss://``, ``unix://``; ValueError naming the
problem, the password masked) and connects nothing; the client is made on first use, in the
running loop. Each part lives in a private module: ``_redis_rates`` (GCRA in Lua, leased
permits for high rates, and the admission bound leases give), ``_redis_breakers`` (the breaker
state machine in Lua, pub/sub of changes, the local view that spares the closed path a round
trip), ``_redis_cache`` (TTLs, prefix deletes), ``_redis_health`` (URL checks, the fallback
state machine), ``_redis_link`` (the lazy client), ``_redis_scripts`` (the Lua).

Fallback. Every operation tries Redis bounded by ``op_timeout`` (connect and read; redis-py's
retries off). On any failure (refused, timeout, wrong password, an error reply, a reply that
does not parse) it answers from a local :class:`~toolware.state.memory.MemoryState` (same
semantics, this process only), logs ``redis.unavailable`` once per outage, and stops asking
Redis: one operation tries again after ``reconnect_interval`` seconds, doubling up to
``max_reconnect_interval``, so a dead Redis costs one ``op_timeout`` per interval, not per call.
When Redis answers, ``redis.recovered`` is logged and shared state resumes (local counts are
not merged back). A value under one of our keys that is not ours is deleted, logged
(``redis.bad_value``) and that one operation answered locally. No operation raises, except
``asyncio.CancelledError``. :meth:`RedisState.status` shows degraded, fallbacks, errors and
the last error (type and text, never the password).

Keys and memory in Redis. Keys are ``prefix`` + ``rl:``/``cb:``/``cache:`` + the caller's key.
Every key expires when idle: a limiter key when its theoretical arrival time is past (at most
``burst / rate`` seconds), a closed breaker ``window`` + 1 s after its last outcome, an open or
half-open one ``2 * break_duration`` after it opened (then it reads closed), a cache entry after
its ``ttl``. An isolated breaker stays until reset. The cache's ``max_entries`` is not enforced
in Redis: bound it with Redis's ``maxmemory`` and ``maxmemory-policy volatile-lru``.

Events (logger ``toolware.state.redis``): ``redis.unavailable`` (warning), ``redis.recovered``
(info), ``redis.bad_value`` (warning), ``redis.listener_lost`` (info), ``redis.bad_message``
(warning), ``redis.callback_failed`` (error).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import TYPE_CHECKING, Any

from toolware.clock import Clock, system_clock
from toolware.state._redis_breakers import RedisBreakers
from toolware.state._redis_cache import DOWN, RedisCache
from toolware.state._redis_health import check_url, mask_url
from toolware.state._redis_link import Link
from toolware.state._redis_rates import RedisRates
from toolware.state.base import (
    BreakerChange,
    BreakerDecision,
    BreakerPolicy,
    BreakerState,
    RateDecision,
    RateLimit,
    StateStatus,
    StateStore,
)
from toolware.state.memory import MemoryState

__all__ = ["RedisState"]


def _seconds(option: str, value: object) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not (math.isfinite(value) and value > 0)
    ):
        raise ValueError(
            f"RedisState {option} must be a finite number of seconds > 0, got {value!r}"
        )
    return float(value)


def _count(option: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"RedisState {option} must be a whole number >= {minimum}, got {value!r}")
    return value


class RedisState:
    """A :class:`~toolware.state.base.StateStore` in Redis, falling back to local state.

    Options: ``prefix`` of every key; ``op_timeout`` seconds per Redis command (a slower Redis
    counts as down); ``reconnect_interval``/``max_reconnect_interval`` between tries while down;
    ``lease_size`` permits at most per lease, used for limits of ``lease_min_rate`` or more per
    second, kept ``lease_ttl`` seconds (``lease_size=1`` turns leases off: every permit exact);
    ``breaker_sync`` seconds a breaker state read from Redis is trusted without a round trip;
    ``breaker_batch`` successes of a closed breaker sent in one round trip (1: each at once);
    ``clock``, the callers' clock (the pipeline's), stamps the changes heard from other
    processes and times the retries of operations given no ``now`` (deletes, ``ping``);
    ``max_local_keys`` bounds the fallback store and the local breaker view.
    """

    __slots__ = ("_breakers", "_cache", "_link", "_rates", "name")

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "toolware:",
        op_timeout: float = 0.05,
        reconnect_interval: float = 0.5,
        max_reconnect_interval: float = 5.0,
        lease_size: int = 20,
        lease_min_rate: float = 100.0,
        lease_ttl: float = 0.1,
        breaker_sync: float = 1.0,
        breaker_batch: int = 32,
        max_local_keys: int = 10_000,
        clock: Clock | None = None,
    ) -> None:
        url = check_url(url)
        if not isinstance(prefix, str):
            raise TypeError(f"RedisState prefix must be a str such as 'app:', got {prefix!r}")
        op_timeout = _seconds("op_timeout", op_timeout)
        reconnect_interval = _seconds("reconnect_interval", reconnect_interval)
        max_reconnect_interval = _seconds("max_reconnect_interval", max_reconnect_interval)
        if max_reconnect_interval < reconnect_interval:
            raise ValueError(
                f"RedisState max_reconnect_interval ({max_reconnect_interval!r}) must be >= "
                f"reconnect_interval ({reconnect_interval!r})"
            )
        lease_size = _count("lease_size", lease_size, 1)
        lease_min_rate = _seconds("lease_min_rate", lease_min_rate)
        lease_ttl = _seconds("lease_ttl", lease_ttl)
        breaker_sync = _seconds("breaker_sync", breaker_sync)
        breaker_batch = _count("breaker_batch", breaker_batch, 1)
        max_local_keys = _count("max_local_keys", max_local_keys, 1)
        if clock is not None and not isinstance(clock, Clock):
            raise TypeError(f"RedisState clock must be a toolware Clock, got {clock!r}")
        local = MemoryState(
            max_rate_keys=max_local_keys,
            max_breaker_keys=max_local_keys,
            max_cache_entries=max_local_keys,
        )
        self.name = "redis"
        link = self._link = Link(
            url, prefix, op_timeout, reconnect_interval, max_reconnect_interval, local
        )
        self._rates = RedisRates(link, lease_size, lease_min_rate, lease_ttl)
        self._breakers = RedisBreakers(
            link, breaker_sync, breaker_batch, clock or system_clock, max_local_keys
        )
        self._cache = RedisCache(link, clock or system_clock)

    @classmethod
    def from_url(cls, url: str, **options: Any) -> RedisState:
        """The same as ``RedisState(url, **options)``."""
        return cls(url, **options)

    @property
    def round_trips(self) -> int:
        """Script calls made for rate limits and breakers (what leases and the local view save)."""
        return self._rates.round_trips + self._breakers.round_trips

    @property
    def listening(self) -> bool:
        """Whether this store hears other processes' breaker changes right now (its listener
        starts with the first breaker operation)."""
        return self._breakers.subscribed

    # The protocol's operations hand back the part's coroutine itself (typed as what an
    # `async def` returns): no extra frame per call.

    # rate limits

    def acquire(
        self, key: str, limit: RateLimit, now: float, max_wait: float = 0.0
    ) -> Coroutine[Any, Any, RateDecision]:
        return self._rates.acquire(key, limit, now, max_wait)

    # circuit breakers

    def breaker_admit(
        self, key: str, policy: BreakerPolicy, now: float
    ) -> Coroutine[Any, Any, BreakerDecision]:
        return self._breakers.admit(key, policy, now)

    def breaker_record(
        self, key: str, policy: BreakerPolicy, now: float, *, failed: bool, probe: bool
    ) -> Coroutine[Any, Any, BreakerChange | None]:
        return self._breakers.record(key, policy, now, failed=failed, probe=probe)

    def breaker_force(
        self, key: str, state: BreakerState, now: float
    ) -> Coroutine[Any, Any, BreakerChange | None]:
        return self._breakers.force(key, state, now)

    def breaker_release(self, key: str, now: float) -> Coroutine[Any, Any, None]:
        """Give back the probe slot of a call that ended with no outcome (it was cancelled)."""
        return self._breakers.release(key, now)

    def breaker_state(self, key: str, now: float) -> BreakerState:
        return self._breakers.state(key, now)

    def subscribe_breaker_changes(
        self, callback: Callable[[BreakerChange], None]
    ) -> Callable[[], None]:
        return self._breakers.subscribe(callback)

    # cache

    def cache_get(self, key: str, now: float) -> Coroutine[Any, Any, bytes | None]:
        return self._cache.get(key, now)

    def cache_set(
        self, key: str, value: bytes, ttl: float, now: float
    ) -> Coroutine[Any, Any, None]:
        return self._cache.set(key, value, ttl, now)

    def cache_delete(self, key: str) -> Coroutine[Any, Any, bool]:
        return self._cache.delete(key)

    def cache_delete_prefix(self, prefix: str) -> Coroutine[Any, Any, int]:
        return self._cache.delete_prefix(prefix)

    # lifecycle

    async def ping(self) -> bool:
        """Whether Redis answers now (updating :meth:`status` either way)."""
        answer = await self._cache.redis(None, lambda r: r.ping(), "")
        return answer is not DOWN and bool(answer)

    start = ping
    """Check reachability at startup (an alias of :meth:`ping`)."""

    def status(self) -> StateStatus:
        link = self._link
        health = link.health
        return StateStatus(
            backend="redis",
            shared=not (health.degraded or link.closed),
            degraded=health.degraded,
            fallbacks=health.fallbacks,
            errors=health.errors,
            last_error=health.last_error,
        )

    async def aclose(self) -> None:
        """Stop the listener and close the connections; later operations answer locally."""
        self._link.closed = True
        await self._breakers.aclose()
        await self._link.aclose()

    async def __aenter__(self) -> RedisState:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"RedisState({mask_url(self._link.url)!r}, prefix={self._link.prefix!r})"


if TYPE_CHECKING:  # a static check that RedisState is a StateStore (mypy compares them)
    _conforms: StateStore = RedisState("redis://localhost")
