"""The circuit breaker's failure categories and its refusal error (kept apart so that
``circuit_breaker.py`` stays about the call path)."""

from __future__ import annotations

from collections.abc import Iterable

from toolware.context import RequestContext
from toolware.errors import CircuitOpenError, ErrorCategory
from toolware.state.base import BreakerDecision, BreakerPolicy, BreakerState

__all__ = ["DEFAULT_FAILURE_CATEGORIES", "failure_categories_of", "refusal"]

DEFAULT_FAILURE_CATEGORIES: tuple[ErrorCategory, ...] = (
    ErrorCategory.TIMEOUT,
    ErrorCategory.UNAVAILABLE,
    ErrorCategory.TOOL_FAILED,
    ErrorCategory.INTERNAL,
)
"""What counts as a failure unless told otherwise: every category that may mean the target is
unwell. Also the only ones allowed."""

_WHY_NOT = {
    ErrorCategory.INVALID_REQUEST: "the caller's mistake",
    ErrorCategory.NOT_FOUND: "the caller's mistake",
    ErrorCategory.UNAUTHENTICATED: "the caller's credentials",
    ErrorCategory.FORBIDDEN: "the caller's permissions",
    ErrorCategory.CANCELLED: "the caller giving up",
    ErrorCategory.RATE_LIMITED: "a limit refusing the call before it ran",
    ErrorCategory.CIRCUIT_OPEN: "a breaker refusing the call before it ran",
}
_CHOICES = ", ".join(repr(category.value) for category in DEFAULT_FAILURE_CATEGORIES)


def failure_categories_of(value: object) -> frozenset[ErrorCategory]:
    """The categories in ``value``, checked: known, allowed, at least one."""
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise TypeError(
            f"failure_categories must be a collection of error categories, e.g. "
            f"('timeout', 'unavailable'), got {value!r}"
        )
    chosen: set[ErrorCategory] = set()
    for item in value:
        try:
            category = ErrorCategory(item)
        except ValueError:
            raise ValueError(
                f"failure_categories: {item!r} is not an error category; choose from {_CHOICES}"
            ) from None
        why = _WHY_NOT.get(category)
        if why is not None:
            raise ValueError(
                f"failure_categories must not include {category.value!r}: it is {why}, not a "
                f"sign that the target is failing; choose from {_CHOICES}"
            )
        chosen.add(category)
    if not chosen:
        raise ValueError(
            f"failure_categories is empty: the breaker could never open; choose from {_CHOICES}"
        )
    return frozenset(chosen)


def refusal(
    request: RequestContext, key: str, decision: BreakerDecision, policy: BreakerPolicy
) -> CircuitOpenError:
    """The error for a call the breaker of ``key`` refused."""
    retry_after = decision.retry_after
    state = decision.state
    retryable = True
    if state is BreakerState.OPEN:
        message = (
            f"circuit breaker {key!r} is open: calls are refused for {retry_after:.3f}s more, "
            "then a trial call goes through"
        )
        hint = None
    elif state is BreakerState.HALF_OPEN:
        message = (
            f"circuit breaker {key!r} is half-open: its {policy.half_open_probes} trial "
            "call(s) are in flight and the others are refused (0.000s left to tell)"
        )
        hint = "call again shortly: the breaker closes once its trial calls succeed"
    else:
        message = f"circuit breaker {key!r} is isolated: every call is refused until reset"
        hint = "reset it with `await breaker.reset(key)` to let calls through again"
        retryable = False
    return CircuitOpenError(
        message,
        retry_after=retry_after,
        hint=hint,
        retryable=retryable,
        request_id=request.id,
        target=request.qualified_name,
    )
