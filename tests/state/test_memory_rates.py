"""Tests for toolware.state._memory_rates: exact GCRA answers, their boundaries (TOLERANCE,
max_wait), reservations and the least-recently-used bound on keys."""

from __future__ import annotations

import pytest

from toolware.state import ADMITTED, RateDecision, RateLimit
from toolware.state._memory_rates import TOLERANCE, MemoryRates

ONE = RateLimit(1.0)  # one permit a second, no burst


def test_a_fresh_key_is_admitted_with_the_shared_answer() -> None:
    """The first call of a key gets ADMITTED itself (nothing allocated)."""
    rates = MemoryRates(10)
    assert rates.acquire("k", ONE, 0.0, 0.0) is ADMITTED
    assert len(rates) == 1


def test_burst_then_one_per_interval_with_exact_delays() -> None:
    """burst permits at once, then the exact wait to the next, which is granted at that instant."""
    rates = MemoryRates(10)
    limit = RateLimit(4.0, burst=3)
    assert [rates.acquire("k", limit, 10.0, 0.0) for _ in range(3)] == [ADMITTED] * 3
    assert rates.acquire("k", limit, 10.0, 0.0) == RateDecision(False, 0.25)
    assert rates.acquire("k", limit, 10.125, 0.0) == RateDecision(False, 0.125)
    assert rates.acquire("k", limit, 10.25, 0.0) is ADMITTED
    assert rates.acquire("k", limit, 10.25, 0.0) == RateDecision(False, 0.25)


def test_a_refusal_takes_nothing() -> None:
    """Refused calls do not push the next permit back: the delay stays the same."""
    rates = MemoryRates(10)
    rates.acquire("k", ONE, 0.0, 0.0)
    assert [rates.acquire("k", ONE, 0.5, 0.0) for _ in range(3)] == [RateDecision(False, 0.5)] * 3
    assert rates.acquire("k", ONE, 1.0, 0.0) is ADMITTED


def test_idle_time_earns_at_most_the_burst() -> None:
    """A key idle for an hour admits burst calls, not an hour's worth."""
    rates = MemoryRates(10)
    limit = RateLimit(1.0, burst=2)
    rates.acquire("k", limit, 0.0, 0.0)
    assert [rates.acquire("k", limit, 3600.0, 0.0).admitted for _ in range(3)] == [
        True,
        True,
        False,
    ]
    assert rates.acquire("k", limit, 3600.0, 0.0) == RateDecision(False, 1.0)


def test_tolerance_forgives_float_rounding_only() -> None:
    """A wait within TOLERANCE of zero is admitted at once; twice that is refused."""
    assert TOLERANCE == 1e-9
    rates = MemoryRates(10)
    rates.acquire("a", ONE, 0.0, 0.0)
    assert rates.acquire("a", ONE, 1.0 - TOLERANCE / 2, 0.0) is ADMITTED
    rates.acquire("b", ONE, 0.0, 0.0)
    refused = rates.acquire("b", ONE, 1.0 - 2 * TOLERANCE, 0.0)
    assert not refused.admitted
    assert refused.delay == pytest.approx(2 * TOLERANCE, rel=1e-6)


def test_waiting_exactly_retry_after_is_admitted_despite_rounding() -> None:
    """With a rate whose interval is not exact in binary, now + retry_after is admitted."""
    rates = MemoryRates(10)
    limit = RateLimit(3.0)
    now = 0.1
    rates.acquire("k", limit, now, 0.0)
    refused = rates.acquire("k", limit, now, 0.0)
    assert not refused.admitted
    assert rates.acquire("k", limit, now + refused.delay, 0.0) is ADMITTED


def test_max_wait_reserves_the_permit_and_says_how_long_to_wait() -> None:
    """Within max_wait the permit is reserved: the answer carries the delay, the next caller
    waits one interval more."""
    rates = MemoryRates(10)
    rates.acquire("k", ONE, 0.0, 0.0)
    assert rates.acquire("k", ONE, 0.0, 1.0) == RateDecision(True, 1.0)
    assert rates.acquire("k", ONE, 0.0, 1.0) == RateDecision(False, 2.0)
    assert rates.acquire("k", ONE, 0.0, 2.0) == RateDecision(True, 2.0)
    assert rates.acquire("k", ONE, 3.0, 0.0) is ADMITTED


def test_max_wait_boundary_uses_the_tolerance() -> None:
    """A wait a hair (under TOLERANCE) past max_wait is granted; more than that is refused."""
    rates = MemoryRates(10)
    rates.acquire("a", ONE, 0.0, 0.0)
    granted = rates.acquire("a", ONE, 0.5 - TOLERANCE / 2, 0.5)
    assert granted.admitted
    assert granted.delay == pytest.approx(0.5 + TOLERANCE / 2, abs=1e-15)
    rates.acquire("b", ONE, 0.0, 0.0)
    refused = rates.acquire("b", ONE, 0.5 - 2 * TOLERANCE, 0.5)
    assert not refused.admitted
    assert refused.delay == pytest.approx(0.5 + 2 * TOLERANCE, abs=1e-15)


def test_a_wait_within_tolerance_under_max_wait_is_an_immediate_admission() -> None:
    """max_wait given, but the permit is (all but) free: ADMITTED with no delay."""
    rates = MemoryRates(10)
    rates.acquire("k", ONE, 0.0, 0.0)
    assert rates.acquire("k", ONE, 1.0 - TOLERANCE / 2, 5.0) is ADMITTED


def test_keys_are_independent() -> None:
    """Each key has its own timestamp."""
    rates = MemoryRates(10)
    assert rates.acquire("a", ONE, 0.0, 0.0) is ADMITTED
    assert rates.acquire("b", ONE, 0.0, 0.0) is ADMITTED
    assert not rates.acquire("a", ONE, 0.0, 0.0).admitted


def test_the_least_recently_admitted_key_is_evicted_first() -> None:
    """At max_keys, admitting a new key forgets the one admitted longest ago (which then
    starts afresh with its whole burst)."""
    rates = MemoryRates(2)
    rates.acquire("a", ONE, 0.0, 0.0)
    rates.acquire("b", ONE, 0.0, 0.0)
    rates.acquire("a", ONE, 1.0, 0.0)  # a is now the most recent
    rates.acquire("c", ONE, 1.0, 0.0)
    assert list(rates._tats) == ["a", "c"]
    assert len(rates) == 2
    assert rates.acquire("b", ONE, 1.0, 0.0) is ADMITTED  # forgotten: a fresh key
    assert list(rates._tats) == ["c", "b"]


def test_a_refused_key_counts_as_used_and_keeps_its_state() -> None:
    """A refusal stores nothing new, but makes the key the most recent: a key refused over
    and over is not evicted (which would give it a fresh burst)."""
    rates = MemoryRates(2)
    rates.acquire("a", ONE, 0.0, 0.0)
    rates.acquire("b", ONE, 0.0, 0.0)
    assert not rates.acquire("a", ONE, 0.5, 0.0).admitted
    assert list(rates._tats) == ["b", "a"]
    assert rates._tats["a"] == 1.0
    rates.acquire("c", ONE, 0.5, 0.0)
    assert list(rates._tats) == ["a", "c"]
    assert rates.acquire("a", ONE, 0.5, 0.0) == RateDecision(False, 0.5)
