"""Tests for toolware.state.memory: MemoryState's options, and that each protocol operation
reaches its group (rates, breakers, cache)."""

from __future__ import annotations

from typing import Any

import pytest

from toolware.state import (
    ADMITTED,
    BreakerPolicy,
    BreakerState,
    MemoryState,
    RateDecision,
    RateLimit,
    StateStatus,
    StateStore,
)


@pytest.mark.parametrize("option", ["max_rate_keys", "max_breaker_keys", "max_cache_entries"])
@pytest.mark.parametrize("value", [0, -1, True, 1.5, "10", None])
def test_bounds_must_be_whole_numbers_of_at_least_one(option: str, value: object) -> None:
    """Each bound refuses 0, negatives, bools and non-integers, naming itself and the value."""
    with pytest.raises(
        ValueError, match=rf"^MemoryState {option} must be a whole number >= 1, got {value!r}$"
    ):
        MemoryState(**{option: value})


def test_defaults_and_bounds_reach_their_groups() -> None:
    """The defaults, and each bound given to the group it bounds."""
    default = MemoryState()
    assert (default.rates.max_keys, default.breakers.max_keys, default.cache.max_entries) == (
        100_000,
        10_000,
        10_000,
    )
    state = MemoryState(max_rate_keys=1, max_breaker_keys=2, max_cache_entries=3)
    assert (state.rates.max_keys, state.breakers.max_keys, state.cache.max_entries) == (1, 2, 3)


async def test_max_rate_keys_bounds_the_rate_keys() -> None:
    """With max_rate_keys=1 a second key evicts the first, which starts afresh."""
    state = MemoryState(max_rate_keys=1)
    limit = RateLimit(1.0)
    assert await state.acquire("a", limit, 0.0) is ADMITTED
    assert await state.acquire("a", limit, 0.0) == RateDecision(False, 1.0)
    assert await state.acquire("b", limit, 0.0) is ADMITTED
    assert await state.acquire("a", limit, 0.0) is ADMITTED


async def test_acquire_passes_max_wait() -> None:
    """max_wait reaches the rates: a reserved permit with its delay."""
    state = MemoryState()
    limit = RateLimit(2.0)
    await state.acquire("k", limit, 0.0)
    assert await state.acquire("k", limit, 0.0, 0.5) == RateDecision(True, 0.5)
    assert await state.acquire("k", limit, 0.0) == RateDecision(False, 1.0)


async def test_max_cache_entries_bounds_the_cache() -> None:
    """With max_cache_entries=1, setting a second entry evicts the first."""
    state = MemoryState(max_cache_entries=1)
    await state.cache_set("a", b"1", 10.0, 0.0)
    await state.cache_set("b", b"2", 10.0, 0.0)
    assert await state.cache_get("a", 0.0) is None
    assert await state.cache_get("b", 0.0) == b"2"


async def test_cache_operations_reach_the_cache() -> None:
    """get/set with ttl and now, delete and delete_prefix, through the protocol."""
    state = MemoryState()
    await state.cache_set("cache:x:1", b"1", 5.0, 100.0)
    await state.cache_set("cache:x:2", b"2", 5.0, 100.0)
    await state.cache_set("cache:y", b"3", 5.0, 100.0)
    assert await state.cache_get("cache:x:1", 104.9) == b"1"
    assert await state.cache_get("cache:x:1", 105.0) is None
    assert await state.cache_delete("cache:y") is True
    assert await state.cache_delete("cache:y") is False
    assert await state.cache_delete_prefix("cache:x:") == 1


class Breakers:
    """Stands in for the breakers group: records what it is asked, answers a marker."""

    def __init__(self) -> None:
        self.asked: list[tuple[Any, ...]] = []

    def admit(self, key: str, policy: BreakerPolicy, now: float) -> str:
        self.asked.append(("admit", key, policy, now))
        return "admitted"

    def record(
        self, key: str, policy: BreakerPolicy, now: float, *, failed: bool, probe: bool
    ) -> str:
        self.asked.append(("record", key, policy, now, failed, probe))
        return "recorded"

    def force(self, key: str, state: BreakerState, now: float) -> str:
        self.asked.append(("force", key, state, now))
        return "forced"

    def state(self, key: str, now: float) -> str:
        self.asked.append(("state", key, now))
        return "state"


async def test_breaker_operations_reach_the_breakers() -> None:
    """Each breaker operation is handed to the breakers group with all its arguments."""
    state = MemoryState()
    breakers = Breakers()
    state.breakers = breakers  # type: ignore[assignment]
    policy = BreakerPolicy()
    assert await state.breaker_admit("k", policy, 1.0) == "admitted"
    assert await state.breaker_record("k", policy, 2.0, failed=True, probe=False) == "recorded"
    assert await state.breaker_force("k", BreakerState.ISOLATED, 3.0) == "forced"
    assert state.breaker_state("k", 4.0) == "state"
    assert breakers.asked == [
        ("admit", "k", policy, 1.0),
        ("record", "k", policy, 2.0, True, False),
        ("force", "k", BreakerState.ISOLATED, 3.0),
        ("state", "k", 4.0),
    ]


async def test_identity_status_and_lifecycle() -> None:
    """A StateStore named memory, not shared, never degraded; subscribing and closing are
    no-ops."""
    state = MemoryState()
    assert isinstance(state, StateStore)
    assert state.name == "memory"
    assert repr(state) == "MemoryState()"
    assert state.status() == StateStatus(backend="memory", shared=False)
    heard: list[object] = []
    unsubscribe = state.subscribe_breaker_changes(heard.append)
    assert unsubscribe() is None
    await state.aclose()
    assert await state.acquire("k", RateLimit(1.0), 0.0) is ADMITTED  # still answers
    assert heard == []


@pytest.mark.parametrize(("rate", "burst"), [(1e-320, 1), (1e-300, 10**9), (1e-9, 10**400)])
def test_a_rate_too_small_to_compute_with_is_refused(rate: float, burst: int) -> None:
    """A rate that passes "> 0" but overflows 1/rate or burst/rate is refused, naming both."""
    with pytest.raises(ValueError, match=r"RateLimit rate=.* with burst=.* is too small"):
        RateLimit(rate, burst=burst)


def test_the_smallest_useful_rate_is_accepted() -> None:
    """1e-9 permits a second (one in 31 years) still computes."""
    assert RateLimit(1e-9).interval == pytest.approx(1e9)


@pytest.mark.parametrize("window", [0.0009, 1e-320])
def test_a_breaker_window_under_a_millisecond_is_refused(window: float) -> None:
    """Bucket numbers are now * 10 / window: a vanishing window overflows them."""
    with pytest.raises(ValueError, match=r"BreakerPolicy window must be at least 0.001 seconds"):
        BreakerPolicy(window=window)
    assert BreakerPolicy(window=0.001).window == 0.001
