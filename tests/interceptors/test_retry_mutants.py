"""Tests for toolware.interceptors.retry pinning what mutation testing found loose: the exact
texts and log fields, the budget's give-up, attempts passed through, a broken random source."""

import asyncio
import logging
import random
import re
from typing import Any

import pytest

from toolware import (
    InternalError,
    PipelineBuilder,
    RequestContext,
    ResponseContext,
    UnavailableError,
)
from toolware.interceptors.retry import RetryBudget, RetryInterceptor
from toolware.testing import FakeClock, FakeHandler
from toolware.types import CallNext


class Ceiling(random.Random):
    """Draws the top of each range; raises on the draw numbered ``broken`` (1-based)."""

    def __init__(self, broken: int = 0) -> None:
        super().__init__(0)
        self.draws = 0
        self.broken = broken

    def uniform(self, a: float, b: float) -> float:
        self.draws += 1
        if self.draws == self.broken:
            raise ArithmeticError("no entropy")
        return b


def test_a_different_clock_names_the_fix() -> None:
    """The refusal of a second clock ends with the fix, word for word."""
    interceptor = RetryInterceptor(clock=FakeClock())
    ending = (
        "two timelines make deadlines meaningless: pass the same clock to "
        "PipelineBuilder(clock=...) or leave the interceptor's clock unset"
    )
    with pytest.raises(ValueError, match=re.escape(ending) + "$"):
        interceptor.bind_clock(FakeClock())


async def test_the_budget_give_up_and_warning_are_logged_exactly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An empty budget: the warning's full text and fields, then gave_up reason=budget."""
    clock = FakeClock()
    caplog.set_level(logging.INFO, "toolware.interceptors.retry")
    budget = RetryBudget(ratio=0, min_per_second=0, window=10)
    interceptor = RetryInterceptor(budget=budget, retry_non_idempotent=True, random=Ceiling())
    handler = FakeHandler([UnavailableError("down")])
    pipeline = PipelineBuilder(clock=clock).use(interceptor).route(handler).build()
    response = await pipeline.invoke("fake")
    assert response.attempts == 1
    warning, gave_up = caplog.records
    assert warning.getMessage() == (
        "retry.budget_exhausted target=fake suppressed=0: retries are over their share of "
        "calls; the target is failing, or raise RetryBudget(ratio=...)"
    )
    assert (warning.target, warning.suppressed) == ("fake", 0)  # type: ignore[attr-defined]
    assert gave_up.getMessage() == (
        "retry.gave_up target=fake attempts=1 reason=budget category=unavailable"
    )
    assert (gave_up.attempts, gave_up.reason) == (1, "budget")  # type: ignore[attr-defined]


async def test_the_attempt_log_carries_target_and_category(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """retry.attempt's extra fields: target, attempt, delay and category."""
    clock = FakeClock()
    caplog.set_level(logging.DEBUG, "toolware.interceptors.retry")
    handler = FakeHandler([UnavailableError("down"), "up"])
    interceptor = RetryInterceptor(retry_non_idempotent=True, random=Ceiling())
    pipeline = PipelineBuilder(clock=clock).use(interceptor).route(handler).build()
    task = asyncio.create_task(pipeline.invoke("fake"))
    await clock.advance(0.1)
    assert task.result().unwrap() == "up"
    [record] = caplog.records
    assert record.levelno == logging.DEBUG
    fields = (record.target, record.attempt, record.delay, record.category)  # type: ignore[attr-defined]
    assert fields == ("fake", 2, 0.1, "unavailable")


async def test_an_answer_on_the_first_attempt_keeps_its_attempts() -> None:
    """A failure not retried is passed on as it came: the attempts counted below are kept."""
    clock = FakeClock()

    async def counted(request: RequestContext, call_next: CallNext) -> ResponseContext:
        return ResponseContext.failure(UnavailableError("down", retryable=False), attempts=4)

    interceptor = RetryInterceptor(random=Ceiling())
    pipeline = (
        PipelineBuilder(clock=clock).use(interceptor).use(counted).route(FakeHandler()).build()
    )
    response = await pipeline.invoke("fake")
    assert isinstance(response.error, UnavailableError)
    assert response.attempts == 4


async def test_a_broken_random_names_the_fix_and_the_request() -> None:
    """Called directly: the internal error carries the request's id and the hint."""
    interceptor = RetryInterceptor(
        retry_non_idempotent=True, random=Ceiling(broken=1), clock=FakeClock()
    )
    request = RequestContext.create("x")
    response = await interceptor(request, FakeHandler([UnavailableError("down")]))
    error = response.error
    assert isinstance(error, InternalError)
    assert (error.request_id, error.target, error.interceptor) == (request.id, "x", "retry")
    assert error.hint == "pass random=random.Random() or a subclass whose uniform() works"
    assert response.attempts == 1


async def test_a_random_broken_on_a_later_draw_counts_the_attempts_made() -> None:
    """The second draw raises after two attempts: the internal error says attempts 2."""
    clock = FakeClock()
    interceptor = RetryInterceptor(retry_non_idempotent=True, random=Ceiling(broken=2))
    handler = FakeHandler([UnavailableError("down")])
    pipeline = PipelineBuilder(clock=clock).use(interceptor).route(handler).build()
    task = asyncio.create_task(pipeline.invoke("fake"))
    await clock.advance(0.1)
    response = task.result()
    assert isinstance(response.error, InternalError)
    assert (handler.call_count, response.attempts) == (2, 2)


@pytest.mark.parametrize(
    ("options", "ending"),
    [
        ({"base_delay": 2, "max_delay": 1}, "; raise max_delay or lower base_delay"),
        (
            {"retry_on": ["not_found"]},
            "which is never retried: the same call cannot succeed by trying it again; leave it out",
        ),
        (
            {"retry_on": []},
            "retry_on is empty, so nothing would be retried; use attempts=1 to turn retries "
            "off, or None to retry every retryable error",
        ),
    ],
)
def test_refusals_end_with_their_fix(options: dict[str, Any], ending: str) -> None:
    """The messages of the refused options, to their last word."""
    with pytest.raises(ValueError, match=re.escape(ending) + "$"):
        RetryInterceptor(**options)
