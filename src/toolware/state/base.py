"""The state protocol: where rate limits, circuit breakers and caches keep what they count.

One small protocol, :class:`StateStore`, with three groups of operations (rate limits,
circuit breakers, cache) and two implementations:

- :class:`~toolware.state.memory.MemoryState` (the default): one process, no I/O;
- :class:`~toolware.state.redis.RedisState` (extra ``toolware[redis]``): shared by every process
  that uses the same Redis, falling back to local state while Redis is unreachable.

Every operation takes ``now``, the caller's clock reading (``clock.monotonic()``): the memory
store keeps time on it, so tests drive it with a fake clock. The Redis store keeps shared
deadlines on Redis's own clock (``TIME``; processes' monotonic clocks are not comparable) and
uses ``now`` for what it keeps locally (leases, fallback state).

The policy types (:class:`RateLimit`, :class:`BreakerPolicy`) are frozen and validated at
construction, so a store never sees a bad option. Implementations must answer every operation
without raising for an unreachable backend: degrade to local state and say so in
:meth:`StateStore.status`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from enum import StrEnum
from typing import Protocol, runtime_checkable

import msgspec

__all__ = [
    "ADMITTED",
    "BreakerChange",
    "BreakerDecision",
    "BreakerPolicy",
    "BreakerState",
    "RateDecision",
    "RateLimit",
    "StateStatus",
    "StateStore",
]


def _positive_seconds(owner: str, option: str, value: object) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not (math.isfinite(value) and value > 0)
    ):
        raise ValueError(f"{owner} {option} must be a finite number of seconds > 0, got {value!r}")


def _whole(owner: str, option: str, value: object, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{owner} {option} must be a whole number >= {minimum}, got {value!r}")


# --- rate limits ----------------------------------------------------------------------------


class RateLimit(msgspec.Struct, frozen=True):
    """A GCRA limit: ``rate`` permits per second on average, up to ``burst`` at once.

    A key idle long enough admits ``burst`` calls back to back; after that one call every
    ``1 / rate`` seconds. (GCRA, the generic cell rate algorithm, is a token bucket kept as a
    single timestamp per key: the theoretical arrival time of the next call.)
    """

    rate: float
    burst: int = 1

    def __post_init__(self) -> None:
        rate = self.rate
        if (
            isinstance(rate, bool)
            or not isinstance(rate, int | float)
            or not (math.isfinite(rate) and rate > 0)
        ):
            raise ValueError(
                f"RateLimit rate must be a finite number of permits per second > 0, got {rate!r}"
            )
        _whole("RateLimit", "burst", self.burst, 1)
        # A rate that passes "> 0" can still be too small to divide by (1e-320 gives an
        # infinite interval, then NaN waits): refuse it here, where the value is named.
        try:
            span = self.burst / rate  # the seconds a full burst takes to earn back
        except OverflowError:  # a huge int burst cannot even become a float
            span = math.inf
        if not (math.isfinite(1.0 / rate) and math.isfinite(span)):
            raise ValueError(
                f"RateLimit rate={rate!r} with burst={self.burst!r} is too small to compute "
                "with; use a rate of at least 1e-9 permits per second"
            )

    @property
    def interval(self) -> float:
        """Seconds between two permits at the steady rate."""
        return 1.0 / self.rate


class RateDecision(msgspec.Struct, frozen=True, gc=False):
    """The answer to one permit request.

    ``admitted``: the permit is taken, and the call may go after ``delay`` seconds (0 unless
    the caller allowed a wait, ``max_wait``). Refused: nothing was taken, and ``delay`` is the
    exact number of seconds until a permit would be granted (the error's ``retry_after``).
    """

    admitted: bool
    delay: float = 0.0


ADMITTED = RateDecision(True, 0.0)
"""The common answer, shared so that the hot path allocates nothing."""


# --- circuit breakers -----------------------------------------------------------------------

MIN_WINDOW = 0.001
"""The shortest breaker window: a shorter one numbers its buckets past float range."""


class BreakerState(StrEnum):
    CLOSED = "closed"
    """Calls go through; outcomes are counted."""
    OPEN = "open"
    """Calls are refused (``circuit_open``) until ``break_duration`` has passed."""
    HALF_OPEN = "half_open"
    """Up to ``half_open_probes`` trial calls go through; the rest are refused."""
    ISOLATED = "isolated"
    """Opened by hand (``isolate``): refused until reset by hand."""


class BreakerPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """When a breaker opens, for how long, and how it closes again.

    It opens when, over the last ``window`` seconds, at least ``minimum_calls`` calls ended
    and the share that failed is ``>= failure_ratio``; or, when ``consecutive_failures`` is
    set, after that many failures in a row (either rule; ``failure_ratio=None`` leaves only the
    second). Open, it refuses calls for ``break_duration`` seconds, then lets
    ``half_open_probes`` trial calls through: when all of them succeed it closes (counts reset),
    when one fails it opens again for another ``break_duration``. A probe slot that is never
    reported (its call was lost) is freed after ``break_duration``.
    """

    failure_ratio: float | None = 0.5
    minimum_calls: int = 10
    window: float = 30.0
    consecutive_failures: int | None = None
    break_duration: float = 30.0
    half_open_probes: int = 1

    def __post_init__(self) -> None:
        ratio = self.failure_ratio
        if ratio is not None and (
            isinstance(ratio, bool)
            or not isinstance(ratio, int | float)
            or not (0 < ratio <= 1)  # NaN fails this too
        ):
            raise ValueError(
                f"BreakerPolicy failure_ratio must be in (0, 1], e.g. 0.5 for half the calls, "
                f"or None to open on consecutive failures only, got {ratio!r}"
            )
        _whole("BreakerPolicy", "minimum_calls", self.minimum_calls, 1)
        _positive_seconds("BreakerPolicy", "window", self.window)
        if self.window < MIN_WINDOW:  # its buckets are numbered now * 10 / window
            raise ValueError(
                f"BreakerPolicy window must be at least {MIN_WINDOW} seconds, got {self.window!r}"
            )
        if self.consecutive_failures is not None:
            _whole("BreakerPolicy", "consecutive_failures", self.consecutive_failures, 1)
        if ratio is None and self.consecutive_failures is None:
            raise ValueError(
                "BreakerPolicy needs failure_ratio or consecutive_failures (or both); with "
                "neither it could never open"
            )
        _positive_seconds("BreakerPolicy", "break_duration", self.break_duration)
        _whole("BreakerPolicy", "half_open_probes", self.half_open_probes, 1)


class BreakerChange(msgspec.Struct, frozen=True):
    """A breaker moved from one state to another (``at`` on the store's timeline as given in
    ``now``; ``reason`` a short stable text such as ``"failure_ratio"``, ``"consecutive"``,
    ``"probe_failed"``, ``"probes_succeeded"``, ``"break_elapsed"``, ``"isolated"``,
    ``"reset"``, ``"remote"``)."""

    key: str
    previous: BreakerState
    current: BreakerState
    reason: str
    at: float


class BreakerDecision(msgspec.Struct, frozen=True, gc=False):
    """Whether one call may go through the breaker of its key.

    ``probe`` is True for a half-open trial call: its outcome must be reported with
    ``probe=True``. Refused: ``retry_after`` seconds until the breaker lets a call try again
    (0 when it cannot tell, e.g. isolated or all probe slots taken). ``change`` is the state
    change this admission caused (open → half-open), if any.
    """

    allowed: bool
    state: BreakerState
    retry_after: float = 0.0
    probe: bool = False
    change: BreakerChange | None = None


# --- status ---------------------------------------------------------------------------------


class StateStatus(msgspec.Struct, frozen=True, kw_only=True):
    """How a store is doing, for logs, the stats table and health checks.

    ``shared`` is True when state is currently shared with other processes (Redis reachable);
    ``degraded`` is True while a shared store runs on local state because its backend is
    unreachable; ``fallbacks`` counts the times it switched to local state, ``errors`` the
    backend errors seen; ``last_error`` names the last one (an exception type and short text,
    never a password).
    """

    backend: str
    shared: bool
    degraded: bool = False
    fallbacks: int = 0
    errors: int = 0
    last_error: str | None = None


# --- the protocol ---------------------------------------------------------------------------


@runtime_checkable
class StateStore(Protocol):  # pragma: no mutate block
    """What the rate limit, circuit breaker and cache interceptors keep their state in.

    Keys are strings built by the interceptors (bounded length, no secrets); stores may prefix
    them. Each group keeps at most a configured number of keys and evicts the least recently
    used, so memory stays bounded under any number of distinct keys.
    """

    name: str
    """``"memory"``, ``"redis"``: how logs and the stats table name it."""

    # rate limits
    # The pragma: a mutant here would give this runtime-checkable protocol mutmut's extra
    # members, so isinstance(store, StateStore) would refuse every store under mutmut.
    async def acquire(
        self,
        key: str,
        limit: RateLimit,
        now: float,
        max_wait: float = 0.0,  # pragma: no mutate
    ) -> RateDecision:
        """Take one permit for ``key`` if it is free now, or within ``max_wait`` seconds (then
        it is reserved and ``delay`` says how long to wait); else refuse with the exact
        ``retry_after`` in ``delay``, taking nothing."""
        ...

    # circuit breakers
    async def breaker_admit(self, key: str, policy: BreakerPolicy, now: float) -> BreakerDecision:
        """Whether a call may go through ``key``'s breaker now (see :class:`BreakerDecision`)."""
        ...

    async def breaker_record(
        self, key: str, policy: BreakerPolicy, now: float, *, failed: bool, probe: bool
    ) -> BreakerChange | None:
        """Count the outcome of an admitted call; returns the state change it caused."""
        ...

    async def breaker_release(self, key: str, now: float) -> None:
        """Give back the half-open probe slot of an admitted call that ended with no outcome
        (it was cancelled), so the next call can probe at once."""
        ...

    async def breaker_force(
        self, key: str, state: BreakerState, now: float
    ) -> BreakerChange | None:
        """``ISOLATED`` opens the breaker until reset; ``CLOSED`` resets it (counts cleared).
        Returns the change, or None when it already was in that state."""
        ...

    def breaker_state(self, key: str, now: float) -> BreakerState:
        """The state as this process last knew it (no I/O: for dashboards and metrics)."""
        ...

    def subscribe_breaker_changes(
        self, callback: Callable[[BreakerChange], None]
    ) -> Callable[[], None]:
        """Call ``callback`` for changes made by *other* processes sharing the store (a shared
        store learns of them within a bounded delay); returns a function that unsubscribes.
        The memory store, shared with no one, never calls it."""
        ...

    # cache
    async def cache_get(self, key: str, now: float) -> bytes | None:
        """The value stored under ``key`` if it has not expired, else None."""
        ...

    async def cache_set(self, key: str, value: bytes, ttl: float, now: float) -> None:
        """Store ``value`` for ``ttl`` seconds (the least recently used entry goes when full)."""
        ...

    async def cache_delete(self, key: str) -> bool:
        """Remove one entry; whether it was there."""
        ...

    async def cache_delete_prefix(self, prefix: str) -> int:
        """Remove every entry whose key starts with ``prefix``; how many."""
        ...

    # lifecycle
    def status(self) -> StateStatus: ...

    async def aclose(self) -> None:
        """Release connections and background tasks; the store answers from local state after."""
        ...
