"""The default state store: everything in this process's memory, nothing shared.

Each group keeps at most a set number of keys and evicts the least recently used, so a flood of
distinct keys (one per principal, say) costs bounded memory. Operations never suspend: the
``async`` methods complete at once, and they are async only to share the protocol with stores
that do I/O.
"""

from __future__ import annotations

from collections.abc import Callable

from toolware.state._memory_breakers import MemoryBreakers
from toolware.state._memory_cache import MemoryCache
from toolware.state._memory_rates import MemoryRates
from toolware.state.base import (
    BreakerChange,
    BreakerDecision,
    BreakerPolicy,
    BreakerState,
    RateDecision,
    RateLimit,
    StateStatus,
)

__all__ = ["MemoryState"]

_STATUS = StateStatus(backend="memory", shared=False)


def _bound(option: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"MemoryState {option} must be a whole number >= 1, got {value!r}")
    return value


class MemoryState:
    """A :class:`~toolware.state.base.StateStore` in process memory."""

    __slots__ = ("breakers", "cache", "name", "rates")

    def __init__(
        self,
        *,
        max_rate_keys: int = 100_000,
        max_breaker_keys: int = 10_000,
        max_cache_entries: int = 10_000,
    ) -> None:
        self.name = "memory"
        self.rates = MemoryRates(_bound("max_rate_keys", max_rate_keys))
        self.breakers = MemoryBreakers(_bound("max_breaker_keys", max_breaker_keys))
        self.cache = MemoryCache(_bound("max_cache_entries", max_cache_entries))

    async def acquire(
        self, key: str, limit: RateLimit, now: float, max_wait: float = 0.0
    ) -> RateDecision:
        return self.rates.acquire(key, limit, now, max_wait)

    async def breaker_admit(self, key: str, policy: BreakerPolicy, now: float) -> BreakerDecision:
        return self.breakers.admit(key, policy, now)

    async def breaker_record(
        self, key: str, policy: BreakerPolicy, now: float, *, failed: bool, probe: bool
    ) -> BreakerChange | None:
        return self.breakers.record(key, policy, now, failed=failed, probe=probe)

    async def breaker_release(self, key: str, now: float) -> None:
        self.breakers.release(key, now)

    async def breaker_force(
        self, key: str, state: BreakerState, now: float
    ) -> BreakerChange | None:
        return self.breakers.force(key, state, now)

    def breaker_state(self, key: str, now: float) -> BreakerState:
        return self.breakers.state(key, now)

    def subscribe_breaker_changes(
        self, callback: Callable[[BreakerChange], None]
    ) -> Callable[[], None]:
        # Nothing else shares this store, so no change ever comes from elsewhere.
        return _unsubscribed

    async def cache_get(self, key: str, now: float) -> bytes | None:
        return self.cache.get(key, now)

    async def cache_set(self, key: str, value: bytes, ttl: float, now: float) -> None:
        self.cache.set(key, value, ttl, now)

    async def cache_delete(self, key: str) -> bool:
        return self.cache.delete(key)

    async def cache_delete_prefix(self, prefix: str) -> int:
        return self.cache.delete_prefix(prefix)

    def status(self) -> StateStatus:
        return _STATUS

    async def aclose(self) -> None:
        """Nothing to release; here for the protocol."""

    def __repr__(self) -> str:
        return "MemoryState()"


def _unsubscribed() -> None:
    """Nothing to undo."""
