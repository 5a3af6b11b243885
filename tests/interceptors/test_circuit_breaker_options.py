"""Tests for the options of toolware.interceptors.circuit_breaker: each bad value is refused at
construction with a message naming the option, the value and the fix."""

from __future__ import annotations

import math
from typing import Any

import pytest

from toolware import ErrorCategory
from toolware.interceptors.circuit_breaker import (
    DEFAULT_FAILURE_CATEGORIES,
    CircuitBreakerInterceptor,
)
from toolware.state.base import BreakerPolicy
from toolware.testing import FakeClock


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"failure_ratio": 0}, "failure_ratio must be in (0, 1]"),
        ({"failure_ratio": 1.5}, "failure_ratio must be in (0, 1]"),
        ({"failure_ratio": math.nan}, "got nan"),
        ({"failure_ratio": True}, "got True"),
        ({"minimum_calls": 0}, "minimum_calls must be a whole number >= 1, got 0"),
        ({"minimum_calls": True}, "minimum_calls must be a whole number >= 1, got True"),
        ({"window": 0}, "window must be a finite number of seconds > 0, got 0"),
        ({"window": math.inf}, "window must be a finite number of seconds > 0, got inf"),
        ({"consecutive_failures": 0}, "consecutive_failures must be a whole number >= 1"),
        ({"break_duration": math.nan}, "break_duration must be a finite number"),
        ({"break_duration": -1.0}, "break_duration must be a finite number of seconds > 0"),
        ({"half_open_probes": 0}, "half_open_probes must be a whole number >= 1, got 0"),
        ({"failure_ratio": None}, "needs failure_ratio or consecutive_failures"),
    ],
)
def test_bad_policy_options_are_refused(options: dict[str, Any], message: str) -> None:
    """Each policy option is checked, and the message names it."""
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace("]", r"\]")):
        CircuitBreakerInterceptor(**options)


def test_options_build_the_policy() -> None:
    """Every policy option reaches the policy; the defaults are the documented ones."""
    breaker = CircuitBreakerInterceptor(
        failure_ratio=0.25,
        minimum_calls=3,
        window=5.0,
        consecutive_failures=2,
        break_duration=7.0,
        half_open_probes=4,
    )
    assert breaker.policy == BreakerPolicy(
        failure_ratio=0.25,
        minimum_calls=3,
        window=5.0,
        consecutive_failures=2,
        break_duration=7.0,
        half_open_probes=4,
    )
    assert CircuitBreakerInterceptor().policy == BreakerPolicy()
    assert CircuitBreakerInterceptor().name == "circuit_breaker"
    assert DEFAULT_FAILURE_CATEGORIES == (
        ErrorCategory.TIMEOUT,
        ErrorCategory.UNAVAILABLE,
        ErrorCategory.TOOL_FAILED,
        ErrorCategory.INTERNAL,
    )


@pytest.mark.parametrize(
    "category",
    [
        "invalid_request",
        "not_found",
        "unauthenticated",
        "forbidden",
        "cancelled",
        "rate_limited",
        ErrorCategory.CIRCUIT_OPEN,
    ],
)
def test_categories_that_say_nothing_about_the_target_are_refused(category: Any) -> None:
    """A caller's mistake or a refusal before the call must never open a breaker."""
    value = ErrorCategory(category).value
    with pytest.raises(
        ValueError,
        match=f"failure_categories must not include '{value}': it is .*, not a sign that the "
        "target is failing; choose from 'timeout', 'unavailable', 'tool_failed', 'internal'",
    ):
        CircuitBreakerInterceptor(failure_categories=("timeout", category))


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        ("timeout", TypeError, "must be a collection of error categories, e.g."),
        (5, TypeError, "got 5"),
        (("boom",), ValueError, "'boom' is not an error category; choose from 'timeout'"),
        ((3,), ValueError, "3 is not an error category"),
        ((), ValueError, "failure_categories is empty: the breaker could never open"),
    ],
)
def test_bad_failure_categories(value: Any, error: type[Exception], message: str) -> None:
    """A bare string, a non-collection, an unknown name and an empty set are refused."""
    with pytest.raises(error, match=message):
        CircuitBreakerInterceptor(failure_categories=value)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"key": "principal"}, "key must be a function or None, got 'principal'"),
        ({"on_state_change": 3}, "on_state_change must be a function or None, got 3"),
        ({"state": {}}, r"state must be a toolware.state StateStore \(MemoryState"),
        ({"clock": 1.0}, "clock must implement toolware.clock.Clock, got 1.0"),
    ],
)
def test_bad_collaborators_are_refused(options: dict[str, Any], message: str) -> None:
    """key, on_state_change, state and clock are type-checked."""
    with pytest.raises(TypeError, match=message):
        CircuitBreakerInterceptor(**options)


def test_a_clock_and_a_store_are_accepted() -> None:
    """A FakeClock and a MemoryState given explicitly are used as they are."""
    from toolware.state.memory import MemoryState

    store = MemoryState()
    breaker = CircuitBreakerInterceptor(state=store, clock=FakeClock())
    assert breaker.store is store
