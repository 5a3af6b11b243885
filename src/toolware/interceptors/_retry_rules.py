"""The retry interceptor's option checks and fixed rules, kept apart so that
:mod:`toolware.interceptors.retry` reads as what happens to a call.

Each ``checked_*`` function returns the option as the interceptor keeps it, or raises the
``ValueError``/``TypeError`` that names the option, the value and the fix.
"""

from __future__ import annotations

import enum
import math
import random
from collections.abc import Iterable

from toolware.context import RequestContext, ResponseContext
from toolware.errors import ErrorCategory, InternalError, describe_exception
from toolware.interceptors._retry_budget import RetryBudget

__all__ = [
    "NEVER_RETRIED",
    "RETRIED",
    "Fresh",
    "broken_random",
    "checked_attempts",
    "checked_budget",
    "checked_categories",
    "checked_delays",
    "checked_random",
]

NEVER_RETRIED = frozenset(
    {
        ErrorCategory.INVALID_REQUEST,
        ErrorCategory.NOT_FOUND,
        ErrorCategory.UNAUTHENTICATED,
        ErrorCategory.FORBIDDEN,
        ErrorCategory.CANCELLED,
    }
)
"""Categories never retried: trying the same call again cannot change the answer."""

RETRIED = frozenset(ErrorCategory) - NEVER_RETRIED
"""The categories retried by default (``retry_on=None``)."""


class Fresh(enum.Enum):
    """The default of ``budget=``: a new :class:`RetryBudget` for each interceptor (one
    instance as the default would be shared by every interceptor in the process)."""

    BUDGET = "RetryBudget()"

    def __repr__(self) -> str:
        return self.value


def checked_attempts(attempts: object) -> int:
    if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
        raise ValueError(
            f"attempts must be a whole number >= 1 (the first call included; 1 never "
            f"retries), got {attempts!r}"
        )
    return attempts


def checked_delays(base_delay: object, max_delay: object) -> tuple[float, float]:
    """``(base_delay, max_delay)`` as floats: finite, >= 0, and base <= max."""
    delays = []
    for option, value in (("base_delay", base_delay), ("max_delay", max_delay)):
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not (math.isfinite(value) and value >= 0)
        ):
            raise ValueError(f"{option} must be a finite number of seconds >= 0, got {value!r}")
        delays.append(float(value))
    if delays[0] > delays[1]:
        raise ValueError(
            f"base_delay ({base_delay!r}) must not exceed max_delay ({max_delay!r}); "
            "raise max_delay or lower base_delay"
        )
    return delays[0], delays[1]


def checked_budget(budget: RetryBudget | Fresh | None) -> RetryBudget | None:
    if budget is Fresh.BUDGET:
        return RetryBudget()
    if budget is not None and not isinstance(budget, RetryBudget):
        raise TypeError(
            f"budget must be a RetryBudget(ratio=..., min_per_second=..., window=...) or "
            f"None for no budget, got {budget!r}"
        )
    return budget


def checked_random(source: random.Random | None) -> random.Random:
    if source is None:
        return random.Random()
    if not isinstance(source, random.Random):
        raise TypeError(
            f"random must be a random.Random (e.g. random.Random(42) for repeatable "
            f"waits), got {source!r}"
        )
    return source


def checked_categories(retry_on: Iterable[ErrorCategory | str]) -> frozenset[ErrorCategory]:
    """``retry_on`` as a set of categories, or the error that says what is wrong with it."""
    if isinstance(retry_on, str) or not isinstance(retry_on, Iterable):
        raise TypeError(
            f"retry_on must be a collection of categories, e.g. {{ErrorCategory.TIMEOUT}}, or "
            f"None for every retryable error, got {retry_on!r}"
        )
    chosen: set[ErrorCategory] = set()
    for value in retry_on:
        try:
            category = ErrorCategory(value)
        except ValueError:
            known = ", ".join(sorted(c.value for c in RETRIED))
            raise ValueError(
                f"retry_on has {value!r}, which is not an error category; use some of: {known}"
            ) from None
        if category in NEVER_RETRIED:
            raise ValueError(
                f"retry_on has {category.value!r}, which is never retried: the same call "
                "cannot succeed by trying it again; leave it out"
            )
        chosen.add(category)
    if not chosen:
        raise ValueError(
            "retry_on is empty, so nothing would be retried; use attempts=1 to turn retries "
            "off, or None to retry every retryable error"
        )
    return frozenset(chosen)


def broken_random(request: RequestContext, exc: Exception, attempts: int) -> ResponseContext:
    """The answer when the caller's random source raised: an internal error naming retry."""
    error = InternalError(
        f"the retry interceptor's random source failed: {describe_exception(exc)}",
        interceptor="retry",
        hint="pass random=random.Random() or a subclass whose uniform() works",
        request_id=request.id,
        target=request.qualified_name,
    )
    error.__cause__ = exc
    return ResponseContext.failure(error, attempts=attempts)
