"""Tools that misbehave on purpose, so the demo can show the resilience interceptors at work.

Each misbehaves deterministically (no randomness, no network), and each build has its own
counters, so two sessions never see each other's state:

- ``fetch_quote``: idempotent; the quote service resets the connection on the first
  ``failures`` calls for each symbol, then answers. Retry rescues it (``attempts=3``).
- ``legacy_crm``: idempotent and dead: every call raises ``ConnectionError``. Retry gives up
  after its attempts, the circuit breaker opens, and later calls are refused at once with
  ``circuit_open`` and ``retry_after``.
- ``send_sms``: not idempotent; rate limited per target, so the third text of a burst is
  refused with ``rate_limited`` and ``retry_after``.
- ``exchange_rate``: opts in to caching; ``lookups`` counts the calls that reached the rates
  service, so a cache hit is visible as a call that did not.

The tools are ``async``: they hold no worker thread, and their failures are raised, as a real
client's would be; the router turns them into ``tool_failed`` errors (retryable where the
entry lists ``retryable_on=(ConnectionError,)``).

:func:`add_resilience_tools` registers fresh ones on a registry; ``build_registry()`` adds
them to the demo registry (what the session, ``toolware list`` and ``toolware call`` use).
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from toolware.registry.base import CachePolicy
from toolware.registry.local import LocalRegistry

__all__ = [
    "EXCHANGE_RATE_TTL",
    "QUOTE_FAILURES",
    "RATES",
    "ExchangeRates",
    "add_resilience_tools",
    "legacy_crm",
    "make_fetch_quote",
    "make_send_sms",
]

EXCHANGE_RATE_TTL = 30.0
"""Seconds an ``exchange_rate`` answer stays fresh in the cache (its entry's policy)."""

QUOTE_FAILURES = 2
"""How many times ``fetch_quote`` fails for a symbol before it answers."""

RATES: dict[tuple[str, str], float] = {
    ("EUR", "USD"): 1.0842,
    ("USD", "EUR"): 0.9223,
    ("EUR", "GBP"): 0.8571,
    ("GBP", "EUR"): 1.1667,
}
"""The rates the demo's rates service knows (a fixed table: the demo stays offline)."""

_PRICES = {"ACME": 182.35, "GLOBEX": 47.1, "INITECH": 12.9}


def make_fetch_quote(failures: int = QUOTE_FAILURES) -> Callable[[str], Awaitable[dict[str, Any]]]:
    """A ``fetch_quote`` tool that fails the first ``failures`` calls per symbol."""
    if isinstance(failures, bool) or not isinstance(failures, int) or failures < 0:
        raise ValueError(f"failures must be a whole number >= 0, got {failures!r}")
    calls: Counter[str] = Counter()

    async def fetch_quote(symbol: str) -> dict[str, Any]:
        """Fetch the latest share price of a stock symbol (e.g. ACME) from the quote service."""
        calls[symbol] += 1
        if calls[symbol] <= failures:
            # A flaky load balancer: transient, so the entry lists ConnectionError as retryable.
            raise ConnectionError(f"quote service reset the connection (call {calls[symbol]})")
        price = _PRICES.get(symbol.upper())
        if price is None:
            raise LookupError(f"unknown symbol {symbol!r}; known: {', '.join(sorted(_PRICES))}")
        return {"symbol": symbol.upper(), "price": price, "currency": "USD"}

    return fetch_quote


async def legacy_crm(customer_id: str) -> dict[str, Any]:
    """Load a customer's record from the legacy CRM (which is down for maintenance)."""
    raise ConnectionError(f"crm.legacy.internal:8443 refused the connection for {customer_id}")


def make_send_sms() -> Callable[[str, str], Awaitable[dict[str, Any]]]:
    """A ``send_sms`` tool that numbers the texts it sends."""
    numbers = itertools.count(1)

    async def send_sms(to: str, text: str) -> dict[str, Any]:
        """Send a text message to a phone number; each call sends one (not idempotent)."""
        return {"to": to, "status": "queued", "message_id": f"sms-{next(numbers)}"}

    return send_sms


class ExchangeRates:
    """The ``exchange_rate`` tool and the count of lookups that reached its service."""

    __slots__ = ("lookups",)

    def __init__(self) -> None:
        self.lookups = 0

    async def exchange_rate(self, base: str, quote: str) -> dict[str, Any]:
        """The exchange rate from one currency to another (e.g. EUR to USD)."""
        self.lookups += 1
        rate = RATES.get((base.upper(), quote.upper()))
        if rate is None:
            raise LookupError(f"no rate for {base}/{quote}; known: {sorted(RATES)}")
        return {"base": base.upper(), "quote": quote.upper(), "rate": rate}


def add_resilience_tools(registry: LocalRegistry) -> LocalRegistry:
    """Register fresh ``fetch_quote``, ``legacy_crm``, ``send_sms`` and ``exchange_rate`` (new
    counters) on ``registry``, and return it."""
    # Only a transient error is worth retrying: the entry says which exceptions are.
    transient = (ConnectionError,)
    registry.tool(make_fetch_quote(), idempotent=True, retryable_on=transient, tags={"market"})
    registry.tool(legacy_crm, idempotent=True, retryable_on=transient, tags={"crm"})
    registry.tool(make_send_sms(), tags={"messaging"})  # each call texts: not idempotent
    registry.tool(
        ExchangeRates().exchange_rate,
        idempotent=True,
        cache=CachePolicy(ttl=EXCHANGE_RATE_TTL),
        tags={"market"},
    )
    return registry
