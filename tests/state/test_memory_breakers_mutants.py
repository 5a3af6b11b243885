"""The in-memory breaker state machine, pinned by mutation testing."""

from toolware.state._memory_breakers import MemoryBreakers
from toolware.state.base import BreakerPolicy, BreakerState

POLICY = BreakerPolicy(failure_ratio=1.0, minimum_calls=2, window=10.0, break_duration=30.0)


def test_the_window_ages_outcomes_on_a_clock_below_zero() -> None:
    """A clock may read negative instants: a failure at -100 (epoch -100) has aged out at
    -90, so one more failure there is 1 call of the 2 needed and the breaker stays closed;
    a second at -90 opens it."""
    breakers = MemoryBreakers(10)
    assert breakers.record("k", POLICY, -100.0, failed=True, probe=False) is None
    assert breakers.record("k", POLICY, -90.0, failed=True, probe=False) is None
    assert breakers.state("k", -90.0) is BreakerState.CLOSED
    change = breakers.record("k", POLICY, -90.0, failed=True, probe=False)
    assert change is not None
    assert (change.current, change.reason) == (BreakerState.OPEN, "failure_ratio")
