"""Retries: a failed call is tried again, with backoff, within bounds.

A failure is retried when all of these hold, else it is the answer:

- its category is allowed: by default (``retry_on=None``) every category but
  ``invalid_request``, ``not_found``, ``unauthenticated``, ``forbidden`` and ``cancelled``
  (trying again cannot change those, and naming one in ``retry_on`` is refused);
  ``retry_on={...}`` narrows that to the categories listed;
- the error says it is ``retryable``;
- the handler may run again: the entry's ``may_repeat`` (idempotent, or registered with
  ``retry=True``), or ``retry_non_idempotent=True``, though never for an entry registered with
  ``retry=False`` (its own word wins); a request with no entry (a pipeline routed to a plain
  handler) counts as not idempotent. An error that proves the handler never ran
  (``rate_limited``, ``circuit_open``, ``ConcurrencyLimitedError``, a timeout with
  ``started=False``) needs none of this, and a never-started timeout is retried even when it
  says it is not retryable (its flag speaks of running the handler twice);
- fewer than ``attempts`` attempts were made;
- the wait ends before the request's deadline: the wait is full-jitter exponential backoff,
  ``uniform(0, min(max_delay, base_delay * 2 ** (n - 1)))`` before retry ``n`` (drawn from
  ``random``, a ``random.Random``), or the error's ``retry_after`` when longer. A wait that would
  end at or after the deadline is not started: the last failure is returned at once. The
  deadline passes unchanged to every attempt, so the last one gets what is left;
- the retry budget (:class:`~toolware.interceptors._retry_budget.RetryBudget`, shared by all
  calls through this interceptor; ``budget=None`` for none) allows one more retry.

Each retry runs with ``markers.ATTEMPT`` set on its request (2, 3, ...; the first attempt's
request is passed as it came: the marker's default is 1), and the final response's
``attempts`` is the number of attempts made. A caller cancelled during the wait gets
``asyncio.CancelledError``. A streamed response is returned as it is: its first chunk was read
when the call was made, so a stream that fails before it is an ordinary error response, and is
retried; a stream that fails later cannot take back the chunks delivered, and is never retried.

Place it inside the timeout (one deadline bounds all attempts and their waits) and outside the
circuit breaker, rate limit and concurrency limit (their refusals are retried after their
``retry_after``): stats, timeout, retry, circuit_breaker, rate_limit, concurrency_limit,
validation.

Events: ``retry.attempt`` (debug: target, attempt about to run, delay, category of the
failure), ``retry.gave_up`` (info: target, attempts, reason ``attempts``, ``deadline``,
``budget`` or ``not_retryable``, category; not logged for a failure that is not retryable on
the first attempt, the ordinary fate of a bad call), ``retry.budget_exhausted`` (warning, at
most once per second of clock time, with how many were not logged since).
"""

from __future__ import annotations

import logging
import math
import random as _random
from collections.abc import Iterable

from toolware.clock import Clock, system_clock
from toolware.context import RequestContext, ResponseContext
from toolware.errors import (
    CallTimeoutError,
    CircuitOpenError,
    ConcurrencyLimitedError,
    ErrorCategory,
    RateLimitedError,
    ToolwareError,
)
from toolware.interceptors._retry_budget import RetryBudget
from toolware.interceptors._retry_rules import (
    NEVER_RETRIED,
    RETRIED,
    Fresh,
    broken_random,
    checked_attempts,
    checked_budget,
    checked_categories,
    checked_delays,
    checked_random,
)
from toolware.markers import ATTEMPT
from toolware.registry.base import EntryDescription
from toolware.types import CallNext

__all__ = ["NEVER_RETRIED", "RetryBudget", "RetryInterceptor"]

logger = logging.getLogger("toolware.interceptors.retry")

_WAIT_AFTER = (RateLimitedError, CircuitOpenError)  # errors that say how long to wait
_NEVER_STARTED = (*_WAIT_AFTER, ConcurrencyLimitedError)
_WARN_EVERY = 1.0  # seconds of clock time between two retry.budget_exhausted warnings


class RetryInterceptor:
    """Tries a failed call again with full-jitter backoff; see the module docstring."""

    __slots__ = (
        "_categories",
        "_clock",
        "_now",
        "_suppressed",
        "_warned_at",
        "attempts",
        "base_delay",
        "budget",
        "max_delay",
        "name",
        "random",
        "retry_non_idempotent",
        "retry_on",
    )

    def __init__(
        self,
        *,
        attempts: int = 3,
        base_delay: float = 0.1,
        max_delay: float = 10.0,
        retry_on: Iterable[ErrorCategory | str] | None = None,
        retry_non_idempotent: bool = False,
        budget: RetryBudget | Fresh | None = Fresh.BUDGET,
        random: _random.Random | None = None,
        clock: Clock | None = None,
    ) -> None:
        """``attempts`` counts the first call (1: never retry); ``base_delay`` and
        ``max_delay`` shape the backoff in seconds; ``retry_on`` narrows the categories
        retried; ``budget`` bounds retries to a share of calls (``None``: no budget);
        ``random`` draws the jitter (``random.Random(seed)`` for repeatable waits)."""
        self.attempts = checked_attempts(attempts)
        self.base_delay, self.max_delay = checked_delays(base_delay, max_delay)
        if not isinstance(retry_non_idempotent, bool):
            raise TypeError(
                f"retry_non_idempotent must be True or False, got {retry_non_idempotent!r}"
            )
        self.budget = checked_budget(budget)
        self.random = checked_random(random)
        if clock is not None and not isinstance(clock, Clock):
            raise TypeError(f"clock must implement toolware.clock.Clock, got {clock!r}")
        self.retry_on = None if retry_on is None else checked_categories(retry_on)
        self._categories = RETRIED if self.retry_on is None else self.retry_on
        self.retry_non_idempotent = retry_non_idempotent
        self.name = "retry"
        self._clock = clock
        self._now = (system_clock if clock is None else clock).monotonic
        self._warned_at = -math.inf
        self._suppressed = 0

    @property
    def clock(self) -> Clock:
        """The clock waits and the budget are kept on: the pipeline's once built into one."""
        return system_clock if self._clock is None else self._clock

    def bind_clock(self, clock: Clock) -> None:
        """Adopt the pipeline's clock; refuse one that differs from a clock given explicitly."""
        if self._clock is None:
            self._clock = clock
            self._now = clock.monotonic
        elif self._clock is not clock:
            raise ValueError(
                f"RetryInterceptor was given clock {self._clock!r}, but its pipeline uses "
                f"{clock!r}; two timelines make deadlines meaningless: pass the same clock to "
                "PipelineBuilder(clock=...) or leave the interceptor's clock unset"
            )

    async def __call__(self, request: RequestContext, call_next: CallNext) -> ResponseContext:
        budget = self.budget
        if budget is not None:
            budget.deposit(self._now())
        response = await call_next(request)
        if response.error is None:  # a value, or a stream (never retried once it started)
            return response
        return await self._again(request, call_next, response)

    async def _again(
        self, request: RequestContext, call_next: CallNext, response: ResponseContext
    ) -> ResponseContext:
        """Retry ``request`` after its failed ``response`` while the rules allow it."""
        attempt, cap, entry, deadline = 1, self.base_delay, request.entry, request.deadline
        error = response.error
        while error is not None:
            if not self._may_retry(error, entry):
                if attempt > 1:
                    self._gave_up(request, attempt, "not_retryable", error)
                break
            if attempt >= self.attempts:
                self._gave_up(request, attempt, "attempts", error)
                break
            now = self._now()
            try:
                delay = self.random.uniform(0.0, cap)
            except Exception as exc:  # a Random subclass of the caller's: never lose the call
                return broken_random(request, exc, attempt)
            cap = min(cap * 2.0, self.max_delay)
            if isinstance(error, _WAIT_AFTER) and error.retry_after > delay:
                delay = error.retry_after
            if deadline is not None and now + delay >= deadline:
                self._gave_up(request, attempt, "deadline", error)
                break
            if self.budget is not None and not self.budget.withdraw(now):
                self._exhausted(request, now)
                self._gave_up(request, attempt, "budget", error)
                break
            attempt += 1
            if logger.isEnabledFor(logging.DEBUG):
                _log_attempt(request, attempt, delay, error)
            await self.clock.sleep(delay)
            response = await call_next(request.with_extra(ATTEMPT, attempt))
            error = response.error
        return response if attempt == 1 else response.with_attempts(attempt)

    def _may_retry(self, error: ToolwareError, entry: EntryDescription | None) -> bool:
        if error.category not in self._categories:
            return False
        if isinstance(error, CallTimeoutError) and not error.started:
            return True  # never ran: its retryable flag only speaks of running it twice
        if not error.retryable:
            return False
        if isinstance(error, _NEVER_STARTED):
            return True
        if entry is None:
            return self.retry_non_idempotent
        if entry.retry is False:
            return False
        return entry.may_repeat or self.retry_non_idempotent

    def _exhausted(self, request: RequestContext, now: float) -> None:
        # Rate-limited: in an outage every call finds the budget empty.
        if now - self._warned_at < _WARN_EVERY:
            self._suppressed += 1
            return
        suppressed, self._suppressed, self._warned_at = self._suppressed, 0, now
        name = request.qualified_name
        logger.warning(
            "retry.budget_exhausted target=%s suppressed=%s: retries are over their share of "
            "calls; the target is failing, or raise RetryBudget(ratio=...)",
            name,
            suppressed,
            extra={"target": name, "suppressed": suppressed},
        )

    @staticmethod
    def _gave_up(request: RequestContext, attempts: int, reason: str, error: ToolwareError) -> None:
        name, category = request.qualified_name, error.category.value
        logger.info(
            "retry.gave_up target=%s attempts=%s reason=%s category=%s",
            name,
            attempts,
            reason,
            category,
            extra={"target": name, "attempts": attempts, "reason": reason, "category": category},
        )


def _log_attempt(request: RequestContext, attempt: int, delay: float, error: ToolwareError) -> None:
    name, category = request.qualified_name, error.category.value
    logger.debug(
        "retry.attempt target=%s attempt=%s delay=%s category=%s",
        name,
        attempt,
        delay,
        category,
        extra={"target": name, "attempt": attempt, "delay": delay, "category": category},
    )
