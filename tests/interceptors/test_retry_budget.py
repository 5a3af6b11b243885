"""Tests for toolware.interceptors._retry_budget: the share of retries, the floor, the window."""

import math

import pytest

from toolware.interceptors._retry_budget import BUCKETS, RetryBudget


def spend(budget: RetryBudget, now: float) -> int:
    """How many retries the budget allows at ``now`` before it refuses one."""
    granted = 0
    while budget.withdraw(now):
        granted += 1
    return granted


def test_defaults_are_finagles() -> None:
    """ratio 0.2, 10 retries a second, a 10 s window: a floor of 100 retries."""
    budget = RetryBudget()
    assert (budget.ratio, budget.min_per_second, budget.window) == (0.2, 10.0, 10.0)
    assert repr(budget) == "RetryBudget(ratio=0.2, min_per_second=10.0, window=10.0)"
    assert spend(budget, 1000.0) == 100
    assert (budget.calls, budget.retries) == (0, 100)


def test_the_floor_alone_allows_min_per_second_times_window() -> None:
    """With no calls at all, min_per_second x window retries, and not one more."""
    budget = RetryBudget(ratio=0.5, min_per_second=0.3, window=10)
    assert spend(budget, 1000.0) == 3


def test_each_call_adds_ratio_retries() -> None:
    """ratio 0.1: 30 calls allow 3 retries (0.1 x 30 is 3.0000000000000004 in floats)."""
    budget = RetryBudget(ratio=0.1, min_per_second=0, window=10)
    for _ in range(29):
        budget.deposit(1000.0)
    assert spend(budget, 1000.0) == 2
    budget.deposit(1000.0)
    assert spend(budget, 1000.0) == 1
    assert (budget.calls, budget.retries) == (30, 3)


def test_float_error_below_a_whole_number_is_forgiven() -> None:
    """ratio 0.29 x 100 calls is 28.999999999999996 in floats: still 29 retries, not 28."""
    budget = RetryBudget(ratio=0.29, min_per_second=0, window=10)
    for _ in range(100):
        budget.deposit(1000.0)
    assert spend(budget, 1000.0) == 29


def test_zero_ratio_and_zero_floor_allow_nothing() -> None:
    """A budget of nothing refuses every retry, whatever the traffic."""
    budget = RetryBudget(ratio=0, min_per_second=0, window=1)
    for _ in range(100):
        budget.deposit(5.0)
    assert spend(budget, 5.0) == 0
    assert budget.retries == 0


def test_calls_leave_the_window_bucket_by_bucket() -> None:
    """Buckets of window/10 s, aligned on the clock: calls at 1000.x count until 1010.0."""
    assert BUCKETS == 10
    budget = RetryBudget(ratio=1, min_per_second=0, window=10)
    for _ in range(4):
        budget.deposit(1000.9)
    for _ in range(2):
        budget.deposit(1005.0)
    assert budget.withdraw(1009.999)
    assert (budget.calls, budget.retries) == (6, 1)
    assert spend(budget, 1009.999) == 5
    # 1010.0 starts a bucket: the one holding 1000.9 (and its calls) leaves the window.
    assert not budget.withdraw(1010.0)
    assert (budget.calls, budget.retries) == (2, 6)
    # The retries stay with their own bucket: the 6 counted at 1009.999 count until 1019.0.
    assert not budget.withdraw(1014.999)
    assert (budget.calls, budget.retries) == (2, 6)
    budget.deposit(1015.0)  # the bucket of 1005.0 leaves
    assert (budget.calls, budget.retries) == (1, 6)
    assert not budget.withdraw(1018.999)
    budget.deposit(1019.0)  # the bucket of 1009.999 leaves, with its retries
    assert (budget.calls, budget.retries) == (2, 0)
    assert spend(budget, 1019.0) == 2


def test_a_jump_past_the_window_forgets_everything() -> None:
    """Time moving on by a whole window (or more) empties every bucket."""
    budget = RetryBudget(ratio=1, min_per_second=0, window=10)
    for step in range(12):
        budget.deposit(50.0 + step)  # one call in each of 12 buckets of 1 s
    assert budget.calls == 10
    assert budget.withdraw(61.5)
    budget.deposit(71.0)
    assert (budget.calls, budget.retries) == (1, 0)


def test_a_bucket_edge_lost_to_rounding_still_starts_a_new_bucket() -> None:
    """43 x 0.1 is 4.3, but 4.3 / 0.1 rounds below 43: the bucket ending at 4.3 still ends."""
    assert math.floor(4.3 / 0.1) == 42
    budget = RetryBudget(ratio=1, min_per_second=0, window=1)
    budget.deposit(4.25)
    budget.deposit(4.3)
    budget.deposit(4.3)
    assert budget.calls == 3
    budget.deposit(5.25)  # ten buckets after 4.25: that bucket left, the 4.3 one did not
    assert budget.calls == 3


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"ratio": True}, TypeError, "ratio must be a number, got True"),
        ({"ratio": "0.2"}, TypeError, "ratio must be a number, got '0.2'"),
        ({"ratio": -0.1}, ValueError, "ratio must be a finite number >= 0, got -0.1"),
        ({"ratio": math.nan}, ValueError, "ratio must be a finite number >= 0, got nan"),
        ({"ratio": math.inf}, ValueError, "ratio must be a finite number >= 0, got inf"),
        ({"min_per_second": -1}, ValueError, "min_per_second must be a finite number >= 0"),
        ({"min_per_second": None}, TypeError, "min_per_second must be a number, got None"),
        ({"window": 0}, ValueError, "window must be a finite number > 0, got 0"),
        ({"window": -5.0}, ValueError, "window must be a finite number > 0, got -5.0"),
        ({"window": math.inf}, ValueError, "window must be a finite number > 0, got inf"),
    ],
)
def test_bad_options_are_refused(options: dict[str, object], error: type, message: str) -> None:
    """Each option names itself, the value and what it must be."""
    with pytest.raises(error, match="^RetryBudget " + message.replace("(", r"\(")):
        RetryBudget(**options)  # type: ignore[arg-type]


def test_integers_are_taken_as_floats() -> None:
    """Whole numbers are fine, and stored as floats."""
    budget = RetryBudget(ratio=1, min_per_second=2, window=3)
    assert (budget.ratio, budget.min_per_second, budget.window) == (1.0, 2.0, 3.0)
    assert all(type(v) is float for v in (budget.ratio, budget.min_per_second, budget.window))
