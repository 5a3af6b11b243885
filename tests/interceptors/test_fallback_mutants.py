"""Tests for toolware.interceptors.fallback pinning what mutation testing found loose: exact
refusal texts, the log fields, and the timing an answer keeps from the failure it replaces."""

import logging
import re
from typing import Any

import pytest

from toolware import (
    ErrorCategory,
    RequestContext,
    ResponseContext,
    ResponseStream,
    ToolwareError,
    UnavailableError,
)
from toolware.interceptors.fallback import FallbackInterceptor
from toolware.types import CallNext

CATEGORIES = ", ".join(c.value for c in ErrorCategory)


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        (
            {"on": "unavailable", "value": 1},
            TypeError,
            "on must be a set of error categories, got 'unavailable'; e.g. "
            "on={ErrorCategory.UNAVAILABLE, ErrorCategory.CIRCUIT_OPEN}",
        ),
        (
            {"on": {"down"}, "value": 1},
            ValueError,
            f"on: 'down' is not an error category; use one of {CATEGORIES}",
        ),
        (
            {"on": set(), "value": 1},
            ValueError,
            "on must name at least one error category: which failures a fallback may hide "
            "is a choice to make explicitly",
        ),
        (
            {"on": {"timeout"}},
            ValueError,
            "FallbackInterceptor takes exactly one of target= (another entry), handler= "
            "(a function (request, error) -> value) and value= (a static value); got 0",
        ),
        (
            {"on": {"timeout"}, "handler": lambda r: r},
            TypeError,
            "FallbackInterceptor(handler=...) must accept 2 positional argument(s), but "
            "<lambda>(r) does not; e.g. def h(request, error)",
        ),
    ],
)
def test_refusals_are_worded_exactly(
    options: dict[str, Any], error: type[Exception], message: str
) -> None:
    """The whole message of each refusal."""
    with pytest.raises(error, match="^" + re.escape(message) + "$"):
        FallbackInterceptor(**options)


def failing(request: RequestContext, call_next: CallNext) -> Any:
    """A call_next answering a failure timed 5.0 to 7.0 after 3 attempts."""

    async def answer(request: RequestContext) -> ResponseContext:
        error = UnavailableError("down")
        return ResponseContext.failure(error, started_at=5.0, finished_at=7.0, attempts=3)

    return answer


async def answer_of(fallback: FallbackInterceptor) -> ResponseContext:
    """The fallback called directly (no pipeline restamps the times) on a failing call."""
    request = RequestContext.create("search")
    return await fallback(request, failing(request, None))  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["stale", ResponseStream.of(["a"])])
async def test_the_answer_keeps_the_failures_timing_and_attempts(value: Any) -> None:
    """A value or a stream answers timed like the failure it replaces."""
    response = await answer_of(FallbackInterceptor(on={"unavailable"}, value=value))
    assert (response.started_at, response.finished_at, response.attempts) == (5.0, 7.0, 3)
    assert response.error is None


async def test_the_served_log_names_the_source(caplog: pytest.LogCaptureFixture) -> None:
    """fallback.served carries target, source, category and request id as fields."""
    caplog.set_level(logging.INFO, "toolware.interceptors.fallback")
    await answer_of(FallbackInterceptor(on={"unavailable"}, value=1))
    [record] = caplog.records
    fields = (record.target, record.source, record.category)  # type: ignore[attr-defined]
    assert fields == ("search", "static value", "unavailable")


async def test_the_failed_log_has_every_field(caplog: pytest.LogCaptureFixture) -> None:
    """fallback.failed carries target, source, category and problem as fields."""

    def broken(request: RequestContext, error: ToolwareError) -> str:
        raise KeyError("no cache")

    caplog.set_level(logging.INFO, "toolware.interceptors.fallback")
    response = await answer_of(FallbackInterceptor(on={"unavailable"}, handler=broken))
    assert isinstance(response.error, UnavailableError)
    [record] = caplog.records
    fields = (record.target, record.source, record.category, record.problem)  # type: ignore[attr-defined]
    assert fields == (
        "search",
        "test_the_failed_log_has_every_field.<locals>.broken",
        "unavailable",
        "KeyError",
    )
