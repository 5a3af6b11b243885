"""Tests for toolware.interceptors._retry_budget pinning boundaries mutation testing found."""

from toolware.interceptors._retry_budget import RetryBudget


def test_a_new_budget_counts_nothing() -> None:
    """Before any deposit or withdrawal: no calls, no retries."""
    budget = RetryBudget()
    assert (budget.calls, budget.retries) == (0, 0)


def test_a_retry_exactly_at_the_allowance_plus_slack_is_allowed() -> None:
    """A floor of 1 - 1e-9 plus the 1e-9 slack is 1.0 exactly: the first retry is allowed
    (the comparison is strictly greater), the second is not."""
    budget = RetryBudget(ratio=0, min_per_second=1 - 1e-9, window=1)
    assert budget.withdraw(7.0)
    assert not budget.withdraw(7.0)


def test_a_bucket_lost_to_rounding_is_the_very_next_one() -> None:
    """4.3 lands in the bucket after 4.25's (43), not two after: it leaves the window with
    that bucket, ten buckets later at 5.35 (slot 53), with everything before it."""
    budget = RetryBudget(ratio=1, min_per_second=0, window=1)
    budget.deposit(4.25)
    budget.deposit(4.3)
    budget.deposit(4.35)  # slot 43 too: the same bucket as 4.3
    assert budget.calls == 3
    budget.deposit(5.35)
    assert budget.calls == 1
