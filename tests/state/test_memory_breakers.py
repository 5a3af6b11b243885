"""The in-memory breaker state machine: exact instants, counts and changes."""

from __future__ import annotations

import pytest

from toolware.state._memory_breakers import ALLOW_CLOSED, MemoryBreakers
from toolware.state.base import BreakerChange, BreakerDecision, BreakerPolicy, BreakerState
from toolware.state.memory import MemoryState

CLOSED = BreakerState.CLOSED
OPEN = BreakerState.OPEN
HALF_OPEN = BreakerState.HALF_OPEN
ISOLATED = BreakerState.ISOLATED

RATIO = BreakerPolicy(failure_ratio=0.5, minimum_calls=4, window=10.0, break_duration=30.0)


def fail(
    breakers: MemoryBreakers, now: float, policy: BreakerPolicy = RATIO
) -> BreakerChange | None:
    return breakers.record("k", policy, now, failed=True, probe=False)


def succeed(
    breakers: MemoryBreakers, now: float, policy: BreakerPolicy = RATIO
) -> BreakerChange | None:
    return breakers.record("k", policy, now, failed=False, probe=False)


def opened(now: float = 1000.0, policy: BreakerPolicy = RATIO) -> MemoryBreakers:
    breakers = MemoryBreakers(100)
    for _ in range(policy.minimum_calls):
        fail(breakers, now, policy)
    assert breakers.state("k", now) is OPEN
    return breakers


def half_open(policy: BreakerPolicy = RATIO) -> MemoryBreakers:
    breakers = opened(policy=policy)
    assert breakers.admit("k", policy, 1030.0).probe
    return breakers


def test_unknown_key_is_closed_and_allocates_nothing() -> None:
    """A key never recorded is admitted with the shared decision and is not stored."""
    breakers = MemoryBreakers(10)
    assert breakers.admit("k", RATIO, 1000.0) is ALLOW_CLOSED
    assert BreakerDecision(True, CLOSED, 0.0, False, None) == ALLOW_CLOSED
    assert breakers.state("k", 1000.0) is CLOSED
    assert len(breakers) == 0


def test_opens_exactly_at_minimum_calls_and_ratio() -> None:
    """2 failures out of 4 with ratio 0.5 and minimum 4 open; out of 3 they do not."""
    breakers = MemoryBreakers(10)
    assert succeed(breakers, 1000.0) is None
    assert fail(breakers, 1000.0) is None
    assert fail(breakers, 1000.0) is None  # 2 of 3: ratio met, too few calls
    assert breakers.state("k", 1000.0) is CLOSED
    assert breakers.admit("k", RATIO, 1000.0) is ALLOW_CLOSED
    assert succeed(breakers, 1000.0) is None  # 2 of 4: a success never opens
    assert breakers.state("k", 1000.0) is CLOSED
    assert fail(breakers, 1001.0) == BreakerChange("k", CLOSED, OPEN, "failure_ratio", 1001.0)
    assert breakers.state("k", 1001.0) is OPEN


def test_below_ratio_stays_closed() -> None:
    """1 failure in 4 (0.25) stays closed under ratio 0.5; the next failure (2 of 5) opens."""
    breakers = MemoryBreakers(10)
    for _ in range(3):
        succeed(breakers, 1000.0)
    assert fail(breakers, 1000.0) is None
    assert fail(breakers, 1000.0) is None  # 2 of 5 = 0.4
    change = fail(breakers, 1000.0)  # 3 of 6 = 0.5
    assert change is not None
    assert change.reason == "failure_ratio"


def test_ratio_compared_by_division_exactly() -> None:
    """3 failures in 10 meet failure_ratio 0.3 (0.3 * 10 would round above 3)."""
    policy = BreakerPolicy(failure_ratio=0.3, minimum_calls=10)
    breakers = MemoryBreakers(10)
    for _ in range(7):
        succeed(breakers, 1000.0, policy)
    fail(breakers, 1000.0, policy)
    fail(breakers, 1000.0, policy)
    change = fail(breakers, 1000.0, policy)
    assert change == BreakerChange("k", CLOSED, OPEN, "failure_ratio", 1000.0)


def test_consecutive_failures_open_and_a_success_ends_the_run() -> None:
    """With only consecutive_failures=3, two failures then a success reset the run."""
    policy = BreakerPolicy(failure_ratio=None, consecutive_failures=3)
    breakers = MemoryBreakers(10)
    for _ in range(2):
        fail(breakers, 1000.0, policy)
    succeed(breakers, 1000.0, policy)
    for _ in range(2):
        assert fail(breakers, 1000.0, policy) is None
    assert fail(breakers, 1000.0, policy) == BreakerChange("k", CLOSED, OPEN, "consecutive", 1000.0)


def test_a_run_of_failures_outlasts_the_window() -> None:
    """The run is not timed: two failures 100 s apart (window 10 s) are two in a row."""
    policy = BreakerPolicy(failure_ratio=None, consecutive_failures=2, window=10.0)
    breakers = MemoryBreakers(10)
    fail(breakers, 1000.0, policy)
    assert fail(breakers, 1100.0, policy) is not None


def test_consecutive_rule_is_checked_first() -> None:
    """When both rules hold, the reason is "consecutive"."""
    policy = BreakerPolicy(failure_ratio=0.5, minimum_calls=2, consecutive_failures=2)
    breakers = MemoryBreakers(10)
    fail(breakers, 1000.0, policy)
    change = fail(breakers, 1000.0, policy)
    assert change is not None
    assert change.reason == "consecutive"


def test_consecutive_set_but_ratio_still_opens() -> None:
    """A success between failures stops the run but the ratio rule still opens."""
    policy = BreakerPolicy(failure_ratio=0.5, minimum_calls=2, consecutive_failures=5)
    breakers = MemoryBreakers(10)
    succeed(breakers, 1000.0, policy)
    change = fail(breakers, 1000.0, policy)
    assert change is not None
    assert change.reason == "failure_ratio"


def test_outcome_ages_out_at_the_end_of_its_bucket_window() -> None:
    """Window 10 s in 1 s buckets: a failure at 1000.5 counts at 1009.99, not at 1010.0."""
    policy = BreakerPolicy(failure_ratio=0.5, minimum_calls=2, window=10.0)
    inside = MemoryBreakers(10)
    fail(inside, 1000.5, policy)
    assert fail(inside, 1009.99, policy) is not None
    outside = MemoryBreakers(10)
    fail(outside, 1000.5, policy)
    assert fail(outside, 1010.0, policy) is None
    assert outside.state("k", 1010.0) is CLOSED


def test_sliding_drops_only_the_buckets_passed() -> None:
    """At 1010 the failure of epoch 1000 ages out but the success of 1003 still counts."""
    policy = BreakerPolicy(failure_ratio=0.5, minimum_calls=2, window=10.0)
    breakers = MemoryBreakers(10)
    fail(breakers, 1000.0, policy)
    succeed(breakers, 1003.0, policy)
    # 1 failure of 2 calls (the success of 1003 and this one): opens at ratio 0.5.
    assert fail(breakers, 1010.0, policy) is not None


def test_sliding_many_buckets_at_once_clears_all() -> None:
    """After a whole window of silence nothing counts: the next failure alone is 1 of 1."""
    policy = BreakerPolicy(failure_ratio=0.5, minimum_calls=2, window=10.0)
    breakers = MemoryBreakers(10)
    succeed(breakers, 1005.0, policy)
    succeed(breakers, 1006.0, policy)
    assert fail(breakers, 1016.0, policy) is None  # both successes gone: 1 of 1 < minimum


def test_sliding_step_subtracts_the_right_buckets() -> None:
    """Buckets 1001..1003 are dropped when moving from 1000 to 1003 only partly: the ones in
    between, never the current one."""
    policy = BreakerPolicy(failure_ratio=0.75, minimum_calls=4, window=10.0)
    breakers = MemoryBreakers(10)
    fail(breakers, 1000.0, policy)
    fail(breakers, 1001.0, policy)
    succeed(breakers, 1002.0, policy)
    # At 1011: epochs 1000 and 1001 age out; 1002 stays: 1 success + 3 failures = 0.75.
    assert fail(breakers, 1011.0, policy) is None
    assert fail(breakers, 1011.0, policy) is None
    assert fail(breakers, 1011.0, policy) == BreakerChange(
        "k", CLOSED, OPEN, "failure_ratio", 1011.0
    )


def test_sliding_one_bucket_drops_the_oldest() -> None:
    """Moving from 1009 to 1010 zeroes exactly the bucket of 1000 (shared index 0)."""
    policy = BreakerPolicy(failure_ratio=0.6, minimum_calls=2, window=10.0)
    breakers = MemoryBreakers(10)
    fail(breakers, 1000.0, policy)
    succeed(breakers, 1009.0, policy)
    assert fail(breakers, 1010.0, policy) is None  # 1 of 2 (0.5), not 2 of 3
    assert fail(breakers, 1010.0, policy) is not None  # 2 of 3


def test_an_earlier_reading_counts_in_the_newest_bucket() -> None:
    """A reading before the newest bucket (clock went back) is counted, not lost."""
    policy = BreakerPolicy(failure_ratio=0.5, minimum_calls=2, window=10.0)
    breakers = MemoryBreakers(10)
    fail(breakers, 1005.0, policy)
    assert fail(breakers, 1001.0, policy) is not None


def test_open_refuses_with_exact_retry_after() -> None:
    """Opened at 1000 for 30 s: refused at 1010 with 20 s left, at 1029.5 with 0.5 s."""
    breakers = opened()
    assert breakers.admit("k", RATIO, 1010.0) == BreakerDecision(False, OPEN, 20.0)
    assert breakers.admit("k", RATIO, 1029.5) == BreakerDecision(False, OPEN, 0.5)
    assert breakers.state("k", 1029.5) is OPEN


def test_half_open_exactly_after_break_duration() -> None:
    """At 1030 the first call is a probe and carries the open -> half-open change."""
    breakers = opened()
    assert breakers.state("k", 1030.0) is HALF_OPEN
    decision = breakers.admit("k", RATIO, 1030.0)
    change = BreakerChange("k", OPEN, HALF_OPEN, "break_elapsed", 1030.0)
    assert decision == BreakerDecision(True, HALF_OPEN, 0.0, True, change)
    assert breakers.state("k", 1030.0) is HALF_OPEN


def test_probes_bounded_and_all_must_succeed() -> None:
    """Two probe slots: the third call is refused; the second success closes."""
    policy = BreakerPolicy(minimum_calls=4, half_open_probes=2)
    breakers = half_open(policy)
    assert breakers.admit("k", policy, 1031.0) == BreakerDecision(True, HALF_OPEN, probe=True)
    assert breakers.admit("k", policy, 1031.0) == BreakerDecision(False, HALF_OPEN, 0.0)
    assert breakers.record("k", policy, 1032.0, failed=False, probe=True) is None
    assert breakers.state("k", 1032.0) is HALF_OPEN
    change = breakers.record("k", policy, 1033.0, failed=False, probe=True)
    assert change == BreakerChange("k", HALF_OPEN, CLOSED, "probes_succeeded", 1033.0)
    assert breakers.admit("k", policy, 1033.0) is ALLOW_CLOSED
    assert len(breakers) == 0


def test_each_admit_takes_one_slot() -> None:
    """Three slots: the break-elapsed probe and two more; the fourth call is refused."""
    policy = BreakerPolicy(minimum_calls=4, half_open_probes=3)
    breakers = half_open(policy)
    assert breakers.admit("k", policy, 1030.0).probe
    assert breakers.admit("k", policy, 1030.0).probe
    assert breakers.admit("k", policy, 1030.0).allowed is False


def test_release_gives_back_exactly_one_slot() -> None:
    """Two probes out, one released: one more call may probe, not two."""
    policy = BreakerPolicy(minimum_calls=4, half_open_probes=2)
    breakers = half_open(policy)
    breakers.admit("k", policy, 1030.0)
    breakers.release("k", 1030.0)
    assert breakers.admit("k", policy, 1030.0).probe
    assert breakers.admit("k", policy, 1030.0).allowed is False


def test_closing_starts_with_empty_counts() -> None:
    """After closing, minimum_calls fresh outcomes are needed to open again."""
    breakers = half_open()
    breakers.record("k", RATIO, 1031.0, failed=False, probe=True)
    for _ in range(3):
        assert fail(breakers, 1031.0) is None
    assert fail(breakers, 1031.0) is not None


def test_probe_failure_reopens_for_another_break() -> None:
    """A failed probe at 1035 reopens until 1065."""
    breakers = half_open()
    change = breakers.record("k", RATIO, 1035.0, failed=True, probe=True)
    assert change == BreakerChange("k", HALF_OPEN, OPEN, "probe_failed", 1035.0)
    assert breakers.admit("k", RATIO, 1040.0) == BreakerDecision(False, OPEN, 25.0)
    assert breakers.admit("k", RATIO, 1065.0).probe


def test_unreported_probe_slot_expires_after_break_duration() -> None:
    """A probe taken at 1030 and never reported blocks until 1060, then a new round starts."""
    breakers = half_open()
    assert breakers.admit("k", RATIO, 1059.99) == BreakerDecision(False, HALF_OPEN)
    assert breakers.admit("k", RATIO, 1060.0) == BreakerDecision(True, HALF_OPEN, probe=True)
    assert breakers.admit("k", RATIO, 1060.0).allowed is False
    assert breakers.admit("k", RATIO, 1089.99).allowed is False
    assert breakers.admit("k", RATIO, 1090.0).probe


def test_new_round_forgets_successes_of_the_expired_one() -> None:
    """Round 1 had one success of two; after expiry two new successes are needed."""
    policy = BreakerPolicy(minimum_calls=4, half_open_probes=2)
    breakers = half_open(policy)
    breakers.admit("k", policy, 1030.0)
    breakers.record("k", policy, 1031.0, failed=False, probe=True)
    assert breakers.admit("k", policy, 1060.0).probe
    assert breakers.record("k", policy, 1061.0, failed=False, probe=True) is None
    assert breakers.record("k", policy, 1062.0, failed=False, probe=True) is not None


def test_late_outcomes_from_other_states_are_dropped() -> None:
    """A closed-time failure arriving while open does not extend the break; a probe outcome
    while closed or open is ignored; an ordinary outcome while half-open is not a probe."""
    breakers = opened()
    assert fail(breakers, 1020.0) is None
    assert breakers.admit("k", RATIO, 1020.0).retry_after == 10.0
    assert breakers.record("k", RATIO, 1020.0, failed=True, probe=True) is None
    assert breakers.admit("k", RATIO, 1030.0).probe
    assert fail(breakers, 1031.0) is None
    assert succeed(breakers, 1031.0) is None
    assert breakers.state("k", 1031.0) is HALF_OPEN
    fresh = MemoryBreakers(10)
    assert fresh.record("k", RATIO, 1000.0, failed=True, probe=True) is None
    assert len(fresh) == 0
    succeed(fresh, 1000.0)
    for _ in range(3):
        fresh.record("k", RATIO, 1000.0, failed=True, probe=True)
    assert fail(fresh, 1000.0) is None  # 1 of 2 counted: the probe outcomes were not


def test_release_gives_back_a_probe_slot() -> None:
    """A released slot lets the next call probe; release never goes below zero."""
    breakers = half_open()
    assert breakers.admit("k", RATIO, 1031.0).allowed is False
    breakers.release("k", 1031.0)
    assert breakers.admit("k", RATIO, 1031.0).probe
    breakers.release("k", 1031.0)
    breakers.release("k", 1031.0)
    assert breakers.admit("k", RATIO, 1031.0).probe
    assert breakers.admit("k", RATIO, 1031.0).allowed is False


def test_release_outside_half_open_does_nothing() -> None:
    """Releasing an open, closed or unknown key changes nothing."""
    breakers = opened()
    breakers.release("k", 1000.0)
    breakers.release("other", 1000.0)
    assert breakers.admit("k", RATIO, 1030.0).probe
    assert breakers.admit("k", RATIO, 1030.0).allowed is False


def test_isolate_and_reset() -> None:
    """Isolated refuses with retry_after 0 and drops outcomes until reset; repeats are None."""
    breakers = MemoryBreakers(10)
    succeed(breakers, 1000.0)
    assert breakers.force("k", ISOLATED, 1000.0) == BreakerChange(
        "k", CLOSED, ISOLATED, "isolated", 1000.0
    )
    assert breakers.force("k", ISOLATED, 1001.0) is None
    assert breakers.admit("k", RATIO, 5000.0) == BreakerDecision(False, ISOLATED, 0.0)
    assert fail(breakers, 1001.0) is None
    assert succeed(breakers, 1001.0) is None
    assert breakers.state("k", 5000.0) is ISOLATED
    assert len(breakers) == 1
    assert breakers.force("k", CLOSED, 1002.0) == BreakerChange(
        "k", ISOLATED, CLOSED, "reset", 1002.0
    )
    assert breakers.force("k", CLOSED, 1003.0) is None
    assert breakers.admit("k", RATIO, 1003.0) is ALLOW_CLOSED
    assert len(breakers) == 0


def test_isolate_an_open_breaker_then_reset_closes() -> None:
    """Isolating an open key reports open -> isolated; reset of an open key closes it."""
    breakers = opened()
    assert breakers.force("k", ISOLATED, 1005.0) == BreakerChange(
        "k", OPEN, ISOLATED, "isolated", 1005.0
    )
    assert breakers.admit("k", RATIO, 1040.0).allowed is False
    other = opened()
    assert other.force("k", CLOSED, 1005.0) == BreakerChange("k", OPEN, CLOSED, "reset", 1005.0)
    assert other.admit("k", RATIO, 1005.0) is ALLOW_CLOSED


def test_reset_of_a_closed_key_clears_its_counts() -> None:
    """Three failures, a reset (no change), then a fourth failure does not open."""
    breakers = MemoryBreakers(10)
    for _ in range(3):
        fail(breakers, 1000.0)
    assert breakers.force("k", CLOSED, 1000.0) is None
    assert fail(breakers, 1000.0) is None


def test_force_refuses_open_and_half_open() -> None:
    """Only isolated and closed can be forced; the message names both."""
    breakers = MemoryBreakers(10)
    with pytest.raises(ValueError, match=r"'isolated' or 'closed', got <BreakerState.OPEN"):
        breakers.force("k", OPEN, 1000.0)
    with pytest.raises(ValueError, match="half_open"):
        breakers.force("k", HALF_OPEN, 1000.0)


def test_eviction_keeps_the_most_recently_used_keys() -> None:
    """With max_keys=2, recording a third key evicts the least recently recorded one."""
    policy = BreakerPolicy(failure_ratio=None, consecutive_failures=2)
    breakers = MemoryBreakers(2)
    for key in ("a", "b"):
        breakers.record(key, policy, 1000.0, failed=True, probe=False)
    # a success in a later bucket (3 s buckets: 1003 is in epoch 334, 1000 in 333) refreshes a
    breakers.record("a", policy, 1003.0, failed=False, probe=False)
    breakers.record("c", policy, 1003.0, failed=True, probe=False)
    assert len(breakers) == 2
    # b was evicted: its earlier failure is forgotten, one more does not open it.
    assert breakers.record("b", policy, 1003.0, failed=True, probe=False) is None
    # c survived (a was evicted by b): its second failure opens it.
    assert breakers.record("c", policy, 1003.0, failed=True, probe=False) is not None


def test_a_success_in_the_same_bucket_does_not_refresh_recency() -> None:
    """Recency moves once per bucket for successes: a success at 1001.9 (still epoch 333,
    [999, 1002)) leaves a the oldest, so c evicts it."""
    policy = BreakerPolicy(failure_ratio=None, consecutive_failures=2)
    breakers = MemoryBreakers(2)
    for key in ("a", "b"):
        breakers.record(key, policy, 1000.0, failed=True, probe=False)
    breakers.record("a", policy, 1001.9, failed=False, probe=False)
    breakers.record("c", policy, 1001.9, failed=True, probe=False)
    assert breakers.record("b", policy, 1001.9, failed=True, probe=False) is not None


def test_evicting_an_open_key_closes_it_and_admit_keeps_open_keys() -> None:
    """An admitted (refused) open key stays; an untouched open key is evicted and closes."""
    policy = BreakerPolicy(failure_ratio=None, consecutive_failures=1)
    breakers = MemoryBreakers(2)
    breakers.record("a", policy, 1000.0, failed=True, probe=False)
    breakers.record("b", policy, 1000.0, failed=True, probe=False)
    breakers.admit("a", policy, 1001.0)  # refused, and a becomes the newest
    breakers.record("c", policy, 1001.0, failed=False, probe=False)
    assert breakers.state("a", 1001.0) is OPEN
    assert breakers.state("b", 1001.0) is CLOSED
    assert breakers.admit("b", policy, 1001.0) is ALLOW_CLOSED


def test_isolated_keys_are_never_evicted() -> None:
    """Isolation survives any number of other keys."""
    breakers = MemoryBreakers(1)
    breakers.force("iso", ISOLATED, 1000.0)
    for key in ("a", "b", "c"):
        breakers.record(key, RATIO, 1000.0, failed=False, probe=False)
    assert breakers.state("iso", 1000.0) is ISOLATED
    assert len(breakers) == 2


async def test_memory_state_delegates() -> None:
    """MemoryState answers through the same machine."""
    state = MemoryState(max_breaker_keys=5)
    policy = BreakerPolicy(failure_ratio=None, consecutive_failures=1)
    assert await state.breaker_admit("k", policy, 1000.0) is ALLOW_CLOSED
    change = await state.breaker_record("k", policy, 1000.0, failed=True, probe=False)
    assert change == BreakerChange("k", CLOSED, OPEN, "consecutive", 1000.0)
    assert state.breaker_state("k", 1000.0) is OPEN
    assert await state.breaker_force("k", CLOSED, 1000.0) is not None
