"""Tests for toolware.demo.resilience: the tools that misbehave on purpose."""

from __future__ import annotations

import pytest

from toolware.context import Kind
from toolware.demo.registry import build_registry
from toolware.demo.resilience import (
    EXCHANGE_RATE_TTL,
    QUOTE_FAILURES,
    RATES,
    ExchangeRates,
    add_resilience_tools,
    legacy_crm,
    make_fetch_quote,
    make_send_sms,
)
from toolware.registry.base import CachePolicy
from toolware.registry.local import LocalRegistry


async def test_fetch_quote_fails_the_first_calls_of_each_symbol() -> None:
    """The first QUOTE_FAILURES (2) calls per symbol reset the connection; then it answers."""
    fetch_quote = make_fetch_quote()
    assert QUOTE_FAILURES == 2
    for call in (1, 2):
        with pytest.raises(ConnectionError, match=rf"reset the connection \(call {call}\)"):
            await fetch_quote("ACME")
    assert await fetch_quote("ACME") == {"symbol": "ACME", "price": 182.35, "currency": "USD"}
    assert await fetch_quote("ACME") == {"symbol": "ACME", "price": 182.35, "currency": "USD"}
    with pytest.raises(ConnectionError, match=r"\(call 1\)"):
        await fetch_quote("GLOBEX")  # counted per symbol


async def test_fetch_quote_failures_option() -> None:
    """failures=0 answers at once (the symbol upper-cased); failures=1 fails exactly once;
    an unknown symbol is a LookupError naming the known ones."""
    assert await make_fetch_quote(0)("globex") == {
        "symbol": "GLOBEX",
        "price": 47.1,
        "currency": "USD",
    }
    once = make_fetch_quote(1)
    with pytest.raises(ConnectionError):
        await once("INITECH")
    assert (await once("INITECH"))["price"] == 12.9
    with pytest.raises(LookupError, match=r"unknown symbol 'XYZ'; known: ACME, GLOBEX, INITECH"):
        await make_fetch_quote(0)("XYZ")


@pytest.mark.parametrize("failures", [-1, 1.5, True, "2"])
def test_fetch_quote_refuses_a_bad_failure_count(failures: object) -> None:
    """failures must be a whole number >= 0 (bool is not a number)."""
    with pytest.raises(
        ValueError, match=rf"failures must be a whole number >= 0, got {failures!r}"
    ):
        make_fetch_quote(failures)  # type: ignore[arg-type]


async def test_legacy_crm_always_refuses_the_connection() -> None:
    """Every call raises ConnectionError naming the customer."""
    for _ in range(2):
        with pytest.raises(ConnectionError, match=r"refused the connection for C-7$"):
            await legacy_crm("C-7")


async def test_send_sms_numbers_each_text_per_build() -> None:
    """Each text gets the next message id; a new build starts again at 1."""
    send_sms = make_send_sms()
    assert await send_sms("+1", "a") == {"to": "+1", "status": "queued", "message_id": "sms-1"}
    assert (await send_sms("+2", "b"))["message_id"] == "sms-2"
    assert (await make_send_sms()("+1", "c"))["message_id"] == "sms-1"


async def test_exchange_rate_counts_every_lookup() -> None:
    """Known pairs (case-insensitive) answer from RATES; every call, failed or not, is a
    lookup."""
    rates = ExchangeRates()
    assert rates.lookups == 0
    assert await rates.exchange_rate("eur", "usd") == {
        "base": "EUR",
        "quote": "USD",
        "rate": 1.0842,
    }
    assert RATES[("GBP", "EUR")] == 1.1667
    with pytest.raises(LookupError, match=r"no rate for EUR/JPY"):
        await rates.exchange_rate("EUR", "JPY")
    assert rates.lookups == 2


def test_add_resilience_tools_registers_fresh_tools_with_their_policies() -> None:
    """fetch_quote and legacy_crm are idempotent and retryable on ConnectionError; send_sms is
    neither; exchange_rate is cached for EXCHANGE_RATE_TTL (30) seconds; each call makes new
    counters; build_registry() has them too."""
    registry = LocalRegistry("r")
    assert add_resilience_tools(registry) is registry
    entries = {d.name: registry.resolve(Kind.TOOL, d.name) for d in registry.list()}
    assert list(entries) == ["fetch_quote", "legacy_crm", "send_sms", "exchange_rate"]
    for name in ("fetch_quote", "legacy_crm"):
        assert entries[name].description.idempotent
        assert entries[name].retryable_on == (ConnectionError,)
        assert entries[name].description.cache is None
    assert not entries["send_sms"].description.idempotent
    assert entries["send_sms"].retryable_on == ()
    assert EXCHANGE_RATE_TTL == 30.0
    assert entries["exchange_rate"].description.cache == CachePolicy(ttl=30.0)
    other = add_resilience_tools(LocalRegistry("other"))
    rates = [r.resolve(Kind.TOOL, "exchange_rate").function for r in (registry, other)]
    assert rates[0].__self__ is not rates[1].__self__  # type: ignore[attr-defined]
    assert {"fetch_quote", "exchange_rate"} <= {d.name for d in build_registry().list()}
