"""The faults :class:`~toolware.interceptors.fault_injection.FaultInjectionInterceptor` injects.

Frozen structs, validated when made: a bad rate or duration is refused at setup, never found
during a chaos run.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, ClassVar

import msgspec

from toolware.errors import (
    CallCancelledError,
    CallTimeoutError,
    CircuitOpenError,
    ErrorCategory,
    ForbiddenError,
    InternalError,
    InvalidRequestError,
    NotFoundError,
    RateLimitedError,
    ToolFailedError,
    ToolwareError,
    UnauthenticatedError,
    UnavailableError,
)

if TYPE_CHECKING:
    from toolware.context import RequestContext

__all__ = ["Failure", "Hang", "Latency"]

_PLAIN: dict[ErrorCategory, type[ToolwareError]] = {
    ErrorCategory.INVALID_REQUEST: InvalidRequestError,
    ErrorCategory.NOT_FOUND: NotFoundError,
    ErrorCategory.UNAUTHENTICATED: UnauthenticatedError,
    ErrorCategory.FORBIDDEN: ForbiddenError,
    ErrorCategory.UNAVAILABLE: UnavailableError,
    ErrorCategory.TOOL_FAILED: ToolFailedError,
    ErrorCategory.CANCELLED: CallCancelledError,
}
_WAITING = (ErrorCategory.RATE_LIMITED, ErrorCategory.CIRCUIT_OPEN)


def _check_rate(rate: float) -> None:
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
        raise ValueError(
            f"rate must be a probability from 0 (never) to 1 (always), got {rate!r}; "
            "e.g. rate=0.1 for one call in ten"
        )


def _check_seconds(option: str, seconds: float) -> None:
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, int | float)
        or not (math.isfinite(seconds) and seconds > 0)
    ):
        raise ValueError(f"{option} must be a positive, finite number of seconds, got {seconds!r}")


class Latency(msgspec.Struct, frozen=True):
    """Wait ``seconds`` on the clock before calling on, in ``rate`` of the calls."""

    seconds: float
    rate: float = 1.0
    kind: ClassVar[str] = "latency"

    def __post_init__(self) -> None:
        _check_seconds("Latency seconds", self.seconds)
        _check_rate(self.rate)


class Hang(msgspec.Struct, frozen=True):
    """Never answer (until the request's deadline), in ``rate`` of the calls."""

    rate: float = 1.0
    kind: ClassVar[str] = "hang"

    def __post_init__(self) -> None:
        _check_rate(self.rate)


class Failure(msgspec.Struct, frozen=True):
    """Answer with an error of ``category`` without calling the handler, in ``rate`` of the
    calls. ``message`` replaces the default text; ``retry_after`` (seconds, default 1.0) is for
    ``rate_limited`` and ``circuit_open`` only. A ``timeout`` has ``limit`` 0.0 and is
    retryable if the entry is idempotent; an ``internal`` one names the fault injector."""

    category: ErrorCategory
    rate: float = 1.0
    message: str | None = None
    retry_after: float | None = None
    kind: ClassVar[str] = "error"

    def __post_init__(self) -> None:
        try:
            category = ErrorCategory(self.category)
        except ValueError:
            raise ValueError(
                f"Failure category {self.category!r} is not an error category; use one of "
                f"{', '.join(c.value for c in ErrorCategory)}"
            ) from None
        msgspec.structs.force_setattr(self, "category", category)
        _check_rate(self.rate)
        if self.message is not None and not isinstance(self.message, str):
            raise TypeError(f"Failure message must be a str, got {self.message!r}")
        if self.retry_after is not None:
            if category not in _WAITING:
                raise ValueError(
                    f"retry_after only applies to rate_limited and circuit_open failures, not "
                    f"{category.value}; drop retry_after={self.retry_after!r}"
                )
            _check_seconds("Failure retry_after", self.retry_after)

    def error(self, request: RequestContext) -> ToolwareError:
        """A new error of this category for ``request``."""
        category = self.category
        name = request.qualified_name
        message = self.message or f"injected fault: {category.value} for {name!r}"
        rid = request.id
        if category in _WAITING:
            waiting = (
                RateLimitedError if category is ErrorCategory.RATE_LIMITED else CircuitOpenError
            )
            retry_after = 1.0 if self.retry_after is None else self.retry_after
            return waiting(message, retry_after=retry_after, request_id=rid, target=name)
        if category is ErrorCategory.TIMEOUT:
            entry = request.entry
            retryable = entry is not None and entry.idempotent
            return CallTimeoutError(
                message, limit=0.0, retryable=retryable, request_id=rid, target=name
            )
        if category is ErrorCategory.INTERNAL:
            return InternalError(
                message, interceptor="fault_injection", request_id=rid, target=name
            )
        return _PLAIN[category](message, request_id=rid, target=name)
