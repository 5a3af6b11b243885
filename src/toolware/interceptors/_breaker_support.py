"""The circuit breaker's helpers off the call path: its failure categories, how an error is
judged, its refusal and key errors, and how a state change is announced (kept apart so that
``circuit_breaker.py`` stays about the call path)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from msgspec.structs import replace

from toolware.context import RequestContext, ResponseContext
from toolware.errors import (
    CallTimeoutError,
    CircuitOpenError,
    ConcurrencyLimitedError,
    ErrorCategory,
    InternalError,
    ToolwareError,
)
from toolware.interceptors._limit_options import MAX_KEY_CHARS, bounded_key
from toolware.state._memory_breakers import MemoryBreakers
from toolware.state.base import BreakerChange, BreakerDecision, BreakerPolicy, BreakerState

__all__ = [
    "DEFAULT_FAILURE_CATEGORIES",
    "PREFIX",
    "announce",
    "checked_key",
    "failure_categories_of",
    "key_failed",
    "refusal",
    "tell",
    "verdict",
]

logger = logging.getLogger("toolware.interceptors.circuit_breaker")

PREFIX = "cb:"
"""Before every key the breaker gives its store, so that one store serves all interceptors."""

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
_NO_OUTCOME = frozenset(
    {ErrorCategory.CANCELLED, ErrorCategory.RATE_LIMITED, ErrorCategory.CIRCUIT_OPEN}
)
_EVENTS = {
    BreakerState.OPEN: (logging.WARNING, "circuit_breaker.opened"),
    BreakerState.HALF_OPEN: (logging.INFO, "circuit_breaker.half_open"),
    BreakerState.CLOSED: (logging.INFO, "circuit_breaker.closed"),
    BreakerState.ISOLATED: (logging.WARNING, "circuit_breaker.isolated"),
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
    if state is BreakerState.OPEN:
        message = (
            f"circuit breaker {key!r} is open: calls are refused for {retry_after:.3f}s more, "
            "then a trial call goes through"
        )
        hint = None
    elif state is BreakerState.HALF_OPEN:
        message = (
            f"circuit breaker {key!r} is half-open: its {policy.half_open_probes} trial "
            "call(s) are in flight and the others are refused until they end"
        )
        hint = "call again shortly: the breaker closes once its trial calls succeed"
    else:
        message = f"circuit breaker {key!r} is isolated: every call is refused until reset"
        hint = "reset it with `await breaker.reset(key)` to let calls through again"
    return CircuitOpenError(
        message,
        retry_after=retry_after,
        hint=hint,
        retryable=state is not BreakerState.ISOLATED,  # only a person ends an isolation
        request_id=request.id,
        target=request.qualified_name,
    )


def verdict(error: ToolwareError, failing: frozenset[ErrorCategory]) -> bool | None:
    """True: a failure; False: a success (the target answered); None: the error says nothing
    about the target (the handler never ran, or the caller gave up)."""
    if (
        error.category in _NO_OUTCOME
        or isinstance(error, ConcurrencyLimitedError)
        or (isinstance(error, CallTimeoutError) and not error.started)
    ):
        return None
    return error.category in failing


def tell(
    breakers: MemoryBreakers,
    key: str,
    policy: BreakerPolicy,
    now: float,
    failed: bool | None,
    probe: bool,
) -> BreakerChange | None:
    """Report an outcome to in-memory breakers, which answer at once (None: give back the
    probe slot)."""
    if failed is None:
        if probe:
            breakers.release(key, now)
        return None
    return breakers.record(key, policy, now, failed=failed, probe=probe)


def announce(
    change: BreakerChange, callback: Callable[[BreakerChange], object] | None
) -> BreakerChange:
    """Log a change and hand it, keyed as the application knows it, to ``callback``."""
    change = replace(change, key=change.key.removeprefix(PREFIX))
    level, event = _EVENTS[change.current]
    if change.reason == "reset":
        event = "circuit_breaker.reset"
    fields = {
        "key": change.key,
        "previous": change.previous.value,
        "current": change.current.value,
        "reason": change.reason,
    }
    logger.log(
        level,
        "%s key=%s previous=%s reason=%s",
        event,
        change.key,
        change.previous.value,
        change.reason,
        extra=fields,
    )
    if callback is not None:
        try:
            callback(change)
        except Exception:
            logger.exception(
                "circuit_breaker.callback_failed key=%s current=%s",
                change.key,
                change.current.value,
                extra=fields,
            )
    return change


def key_failed(request: RequestContext, exc: Exception, interceptor: str) -> ResponseContext:
    """The answer to a call whose key function raised: an internal error; the call is not made."""
    name = request.qualified_name
    logger.error(
        "circuit_breaker.key_failed target=%s error=%s",
        name,
        type(exc).__name__,
        exc_info=exc,
        extra={"target": name, "request_id": request.id},
    )
    error = InternalError(
        f"the circuit breaker's key function raised {type(exc).__name__} for {name!r}; "
        "the call was not made",
        interceptor=interceptor,
        hint="make key= return a str for every request; the traceback is in the "
        "'circuit_breaker.key_failed' log record",
        request_id=request.id,
        target=name,
    )
    error.__cause__ = exc
    return ResponseContext.failure(error)


def checked_key(key: object) -> str:
    """``key`` with the prefix (a long one bounded as on the call path), for
    isolate/reset/state."""
    if not isinstance(key, str):
        raise TypeError(f"a breaker key is a str (the key function's answer), got {key!r}")
    return PREFIX + (key if len(key) <= MAX_KEY_CHARS else bounded_key(key))
