"""Tests for toolware.interceptors.fault_injection pinning what mutation testing found loose:
errors made outside a pipeline carry the request's id and target, exact texts and log fields."""

import asyncio
import logging
import re
from typing import Any

import pytest

from toolware import CallTimeoutError, InternalError, RequestContext, ToolwareError
from toolware.errors import ErrorCategory
from toolware.interceptors.fault_injection import (
    Failure,
    FaultInjectionInterceptor,
    Hang,
    Latency,
)
from toolware.testing import FakeClock, FakeHandler


@pytest.mark.parametrize("category", list(ErrorCategory))
def test_every_injected_error_names_its_request(category: ErrorCategory) -> None:
    """Made directly, each category's error carries the request's id and target."""
    request = RequestContext.create("lookup")
    error = Failure(category).error(request)
    assert isinstance(error, ToolwareError)
    assert error.category is category
    assert (error.request_id, error.target) == (request.id, "lookup")


async def test_a_hang_without_a_deadline_names_its_request_and_the_fix() -> None:
    """Called directly with no deadline: the internal error's id, target and hint."""
    injector = FaultInjectionInterceptor(Hang(), clock=FakeClock())
    request = RequestContext.create("lookup")
    response = await injector(request, FakeHandler())
    error = response.error
    assert isinstance(error, InternalError)
    assert (error.request_id, error.target, error.interceptor) == (
        request.id,
        "lookup",
        "fault_injection",
    )
    assert error.hint == (
        "put a TimeoutInterceptor outside the fault injector, or call with timeout="
    )


async def test_a_hang_that_times_out_names_its_request() -> None:
    """Called directly with a deadline: the timeout at the deadline carries the request's id."""
    clock = FakeClock()
    injector = FaultInjectionInterceptor(Hang(), clock=clock)
    request = RequestContext.create("lookup", deadline=1002.0)
    task = asyncio.create_task(injector(request, FakeHandler()))
    await clock.advance(2.0)
    error = task.result().error
    assert isinstance(error, CallTimeoutError)
    assert (error.request_id, error.target, error.limit) == (request.id, "lookup", 2.0)


async def test_the_injection_log_names_the_request(caplog: pytest.LogCaptureFixture) -> None:
    """fault_injection.injected: the request id in the text and in the fields."""
    clock = FakeClock()
    caplog.set_level(logging.DEBUG, "toolware.interceptors.fault_injection")
    injector = FaultInjectionInterceptor(Latency(1.0), clock=clock)
    request = RequestContext.create("lookup")
    task = asyncio.create_task(injector(request, FakeHandler(["ok"])))
    await clock.advance(1.0)
    assert task.result().value == "ok"
    [record] = caplog.records
    assert record.getMessage() == (
        f"fault_injection.injected target=lookup fault=Latency(seconds=1.0, rate=1.0) "
        f"request_id={request.id}"
    )
    assert record.request_id == request.id  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: FaultInjectionInterceptor(),
            "FaultInjectionInterceptor needs at least one fault, e.g. "
            "FaultInjectionInterceptor(Latency(0.5, rate=0.1), Failure('unavailable'))",
        ),
        (
            lambda: FaultInjectionInterceptor(Hang(), seed=1, random=object()),
            "give seed= or random=, not both: a random source has its own seed",
        ),
        (
            lambda: Latency(1.0, rate=2),
            "rate must be a probability from 0 (never) to 1 (always), got 2; "
            "e.g. rate=0.1 for one call in ten",
        ),
        (
            lambda: Failure("broken"),  # type: ignore[arg-type]
            "Failure category 'broken' is not an error category; use one of "
            + ", ".join(c.value for c in ErrorCategory),
        ),
    ],
)
def test_refusals_are_worded_exactly(make: Any, message: str) -> None:
    """The whole message of each refusal, fix included."""
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        make()


def test_a_different_clock_names_the_fix() -> None:
    """The refusal of a second clock ends with the fix, word for word."""
    injector = FaultInjectionInterceptor(Hang(), clock=FakeClock())
    ending = (
        "; pass the same clock to PipelineBuilder(clock=...) or leave the interceptor's clock unset"
    )
    with pytest.raises(ValueError, match=re.escape(ending) + "$"):
        injector.bind_clock(FakeClock())
