"""Rate limits in Redis: GCRA in one Lua script, and leased permits for high rates.

A limit whose rate is below ``lease_min_rate`` is exact: one script call per permit, the same
admission rule and ``retry_after`` as the memory store, on Redis's clock.

At or above it, a call that finds no local permit asks the script for a *lease*: up to
``lease_size`` permits that are free now (never more than ``rate * lease_ttl``, so a lease
covers at most ``lease_ttl`` seconds of the rate). The script advances the key's theoretical
arrival time by ``k * interval`` for the ``k`` it grants, as if ``k`` calls had come at once;
the process spends the first at once and the rest locally, with no round trip, until they run
out or ``lease_ttl`` passes on its clock. Unused permits are dropped, never returned: leases
can only under-admit against the shared limit, never over-admit beyond the bound below.

The bound. Redis grants permits by GCRA, so the permits it grants in any interval [t, t + d]
are at most ``burst + rate * d`` (counting a lease's permits as granted when it is made). A
permit spent in [t, t + d] was either granted in it, or was held at t by a lease made before.
Each process holds at most one lease per key, and fetches at most one at a time (a call that
finds a fetch in flight takes a single exact permit instead), so it holds at most
``lease_size`` unspent permits at t. Over P processes, calls admitted in [t, t + d] are at most
``burst + rate * d + P * lease_size``.

Refusals are remembered: a refused key is refused locally (no round trip) until the
``retry_after`` Redis gave has passed on the caller's clock, unless the caller's ``max_wait``
reaches that far. This is exact: a key's theoretical arrival time never moves back, so no permit
can be free earlier; and the local deadline is counted from before the script ran, so it ends a
hair early, never late. Under overload a refused caller costs no round trip.
"""

from __future__ import annotations

import asyncio
from typing import TypeVar

from toolware.state._memory_rates import TOLERANCE
from toolware.state._redis_link import Link
from toolware.state.base import ADMITTED, RateDecision, RateLimit

__all__ = ["RedisRates"]

_MAX_KEYS = 10_000
"""Keys with a lease or a refusal kept at once; past it they are all dropped (then leases
under-admit a little, refusals take a round trip again)."""
T = TypeVar("T")


class _Lease:
    __slots__ = ("expires_at", "remaining")

    def __init__(self, remaining: int, expires_at: float) -> None:
        self.remaining = remaining
        self.expires_at = expires_at


class RedisRates:
    """GCRA through the link's script, with per-key leases kept in this process."""

    __slots__ = (
        "_blocked",
        "_fetching",
        "_leases",
        "lease_min_rate",
        "lease_size",
        "lease_ttl",
        "link",
        "prefix",
        "round_trips",
    )

    def __init__(self, link: Link, lease_size: int, lease_min_rate: float, lease_ttl: float):
        self.link = link
        self.prefix = link.prefix + "rl:"
        self.lease_size = lease_size
        self.lease_min_rate = lease_min_rate
        self.lease_ttl = lease_ttl
        self._leases: dict[str, _Lease] = {}
        self._fetching: set[str] = set()
        self._blocked: dict[str, float] = {}
        self.round_trips = 0
        """Script calls made: what leases save is visible here."""

    def want(self, limit: RateLimit, key: str) -> int:
        """How many permits to ask Redis for: 1 (exact) unless the rate makes a lease pay."""
        rate = limit.rate
        if self.lease_size < 2 or rate < self.lease_min_rate or key in self._fetching:
            return 1
        return max(1, min(self.lease_size, int(rate * self.lease_ttl)))

    async def acquire(
        self, key: str, limit: RateLimit, now: float, max_wait: float
    ) -> RateDecision:
        link = self.link
        lease = self._leases.get(key)
        if lease is not None:
            if now < lease.expires_at:
                lease.remaining -= 1
                if lease.remaining <= 0:
                    del self._leases[key]
                return ADMITTED
            del self._leases[key]
        blocked = self._blocked.get(key)
        if blocked is not None:
            if now < blocked:
                wait = blocked - now
                if wait > max_wait + TOLERANCE:
                    return RateDecision(False, wait)
            else:
                del self._blocked[key]
        if link.closed or not link.health.should_try(now):
            return await link.local.acquire(key, limit, now, max_wait)
        want = self.want(limit, key)
        if want > 1:
            self._fetching.add(key)
        self.round_trips += 1
        try:
            reply = await link.gcra_call(
                self.prefix + key, [1.0 / limit.rate, limit.burst, max_wait, want]
            )
            code, granted, wait = int(reply[0]), int(reply[1]), float(reply[2])
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # any failure of Redis or of its reply: answer locally
            link.health.failed(exc, now)
            return await link.local.acquire(key, limit, now, max_wait)
        finally:
            if want > 1:
                self._fetching.discard(key)
        link.health.succeeded()
        if code == 1:
            if granted > 1:
                _keep(self._leases, key, _Lease(granted - 1, now + self.lease_ttl))
            return ADMITTED if wait <= TOLERANCE else RateDecision(True, wait)
        if code == 0:
            _keep(self._blocked, key, now + wait)
            return RateDecision(False, wait)
        link.health.bad_value(self.prefix + key, bytes(reply[3]).decode(errors="replace"))
        return await link.local.acquire(key, limit, now, max_wait)


def _keep(kept: dict[str, T], key: str, value: T) -> None:
    if len(kept) >= _MAX_KEYS:
        kept.clear()
    kept[key] = value
