"""Tests for toolware.interceptors.fault_injection: draws, each fault, hangs and options."""

import asyncio
import logging
import math
import random
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest

from toolware import (
    CallTimeoutError,
    CircuitOpenError,
    ErrorCategory,
    InternalError,
    LocalRegistry,
    Pipeline,
    PipelineBuilder,
    RateLimitedError,
    RequestContext,
    TimeoutInterceptor,
    ToolwareError,
)
from toolware.errors import (
    CallCancelledError,
    ForbiddenError,
    InvalidRequestError,
    NotFoundError,
    ToolFailedError,
    UnauthenticatedError,
    UnavailableError,
)
from toolware.interceptors.fault_injection import (
    Failure,
    FaultInjectionInterceptor,
    Hang,
    Latency,
)
from toolware.markers import FAULT
from toolware.testing import FakeClock, FakeHandler


class Scripted:
    """A random source that returns the given draws in order."""

    def __init__(self, *draws: float) -> None:
        self.draws = list(draws)

    def random(self) -> float:
        return self.draws.pop(0)


def faulty(
    route: Any, clock: FakeClock, *faults: Any, when: Any = None, **options: Any
) -> Pipeline:
    injector = FaultInjectionInterceptor(*faults, **options)
    return PipelineBuilder(clock=clock).use(injector, when=when).route(route).build()


def tools(clock: FakeClock, log: list[float], **entry: Any) -> LocalRegistry:
    """'lookup' records when it ran and answers 'ok'; 'words' streams two words."""
    registry = LocalRegistry()

    @registry.tool(**entry)
    async def lookup() -> str:
        log.append(clock.monotonic())
        return "ok"

    @registry.tool
    async def words() -> AsyncIterator[str]:
        log.append(clock.monotonic())
        yield "a"
        yield "b"

    return registry


async def test_a_seed_gives_a_reproducible_sequence() -> None:
    """Seed 42 at rate 0.5: the exact sequence of failures, the same on every run."""
    expected = ["ok", "error", "error", "error", "ok", "ok", "ok", "error", "error", "error"]
    for _ in range(2):
        handler = FakeHandler(["ok"])
        pipeline = faulty(handler, FakeClock(), Failure("unavailable", rate=0.5), seed=42)
        outcomes = [(await pipeline.invoke("x")).get(FAULT) or "ok" for _ in range(10)]
        assert outcomes == expected
        assert handler.call_count == 4


async def test_a_random_source_can_be_given() -> None:
    """random= takes any object with random(); the seed's own generator is not used."""
    pipeline = faulty(
        FakeHandler(["ok"]), FakeClock(), Failure("unavailable", rate=0.5), random=random.Random(42)
    )
    assert (await pipeline.invoke("x")).ok
    assert not (await pipeline.invoke("x")).ok


async def test_every_fault_draws_in_order_whether_or_not_an_earlier_one_hit() -> None:
    """Two faults draw two numbers per call, in order; a hit is a draw below the rate."""
    clock = FakeClock()
    draws = Scripted(0.6, 0.4, 0.2, 0.9, 0.5, 0.49)
    handler = FakeHandler(["ok"])
    pipeline = faulty(
        handler, clock, Latency(1.0, rate=0.5), Failure("unavailable", rate=0.5), random=draws
    )
    first = await pipeline.invoke("x")  # latency missed (0.6), failure hit (0.4)
    assert (first.get(FAULT), clock.monotonic(), handler.call_count) == ("error", 1000.0, 0)
    task = asyncio.create_task(pipeline.invoke("x"))  # latency hit (0.2), failure missed
    await clock.advance(0.999)
    assert not task.done()
    await clock.advance(0.001)
    second = await task
    assert (second.value, second.get(FAULT), handler.call_count) == ("ok", "latency", 1)
    third = await pipeline.invoke("x")  # 0.5 is not below 0.5: a miss; 0.49 hits
    assert third.get(FAULT) == "error"
    assert draws.draws == []


async def test_latency_before_a_failure_is_waited_then_the_failure_answers() -> None:
    """Both hit: the latency is slept first, then the error answers (no handler call)."""
    clock = FakeClock()
    handler = FakeHandler(["ok"])
    pipeline = faulty(handler, clock, Latency(2.0), Failure("tool_failed"))
    task = asyncio.create_task(pipeline.invoke("x"))
    await clock.advance(2.0)
    response = await task
    assert (response.get(FAULT), response.error.category) == ("error", "tool_failed")  # type: ignore[union-attr]
    assert handler.call_count == 0


async def test_a_failure_first_ends_the_call_before_a_later_latency() -> None:
    """Faults apply in order: a failure before a latency answers at once."""
    clock = FakeClock()
    pipeline = faulty(FakeHandler(["ok"]), clock, Failure("unavailable"), Latency(2.0))
    response = await pipeline.invoke("x")
    assert (response.get(FAULT), clock.monotonic()) == ("error", 1000.0)


async def test_rate_zero_never_and_rate_one_always_hit() -> None:
    """Rates 0 and 1 are exact, over many draws."""
    clock = FakeClock()
    handler = FakeHandler(["ok"])
    never = faulty(handler, clock, Failure("unavailable", rate=0), seed=1)
    assert all([(await never.invoke("x")).ok for _ in range(200)])
    always = faulty(handler, clock, Failure("unavailable", rate=1), seed=1)
    assert not any([(await always.invoke("x")).ok for _ in range(200)])
    assert handler.call_count == 200


async def test_latency_delays_the_handler_exactly() -> None:
    """The handler runs exactly `seconds` later; the response says latency."""
    clock, log = FakeClock(), []
    pipeline = faulty(tools(clock, log), clock, Latency(1.5))
    task = asyncio.create_task(pipeline.invoke("lookup"))
    await clock.advance(1.5)
    response = await task
    assert (response.value, response.get(FAULT), log) == ("ok", "latency", [1001.5])


async def test_latency_delays_a_stream_and_a_failure_answers_before_it() -> None:
    """A streamed call is delayed as a whole; a failure is an ordinary error response."""
    clock, log = FakeClock(), []
    pipeline = faulty(tools(clock, log), clock, Latency(0.5))
    task = asyncio.create_task(pipeline.invoke("words"))
    await clock.advance(0.5)
    assert (await (await task).collect()).value == ["a", "b"]
    assert log == [1000.5]
    failing = faulty(tools(clock, log), clock, Failure("unavailable"))
    response = await failing.invoke("words")
    assert (response.stream, response.get(FAULT)) == (None, "error")


PLAIN = [
    ("invalid_request", InvalidRequestError),
    ("not_found", NotFoundError),
    ("unauthenticated", UnauthenticatedError),
    ("forbidden", ForbiddenError),
    ("unavailable", UnavailableError),
    ("tool_failed", ToolFailedError),
    ("cancelled", CallCancelledError),
]


@pytest.mark.parametrize(("category", "cls"), PLAIN)
async def test_each_category_is_answered_with_its_own_error_class(
    category: str, cls: type[ToolwareError]
) -> None:
    """The error is of the category's class, names the call, and the handler never ran."""
    handler = FakeHandler(["ok"])
    response = await faulty(handler, FakeClock(), Failure(category)).invoke("x")
    error = response.error
    assert type(error) is cls
    assert error.category == category
    assert error.message == f"injected fault: {category} for 'x'"
    assert (error.target, error.request_id) == ("x", response.error.request_id)
    assert error.request_id is not None
    assert handler.call_count == 0


@pytest.mark.parametrize(
    ("category", "cls", "given", "expected"),
    [
        ("rate_limited", RateLimitedError, None, 1.0),
        ("rate_limited", RateLimitedError, 2.5, 2.5),
        ("circuit_open", CircuitOpenError, None, 1.0),
        ("circuit_open", CircuitOpenError, 0.25, 0.25),
    ],
)
async def test_waiting_errors_carry_retry_after(
    category: str, cls: type[ToolwareError], given: float | None, expected: float
) -> None:
    """rate_limited and circuit_open say when to come back: 1.0 s unless given."""
    fault = Failure(category, retry_after=given, message="slow down")
    error = (await faulty(FakeHandler(), FakeClock(), fault).invoke("x")).error
    assert type(error) is cls
    assert error.retry_after == expected  # type: ignore[attr-defined]
    assert error.message == "slow down"


@pytest.mark.parametrize("idempotent", [False, True])
async def test_an_injected_timeout_is_retryable_only_for_an_idempotent_entry(
    idempotent: bool,
) -> None:
    """Like the timeout interceptor's: limit 0.0, started, retryable per the entry."""
    clock, log = FakeClock(), []
    pipeline = faulty(tools(clock, log, idempotent=idempotent), clock, Failure("timeout"))
    error = (await pipeline.invoke("lookup")).error
    assert isinstance(error, CallTimeoutError)
    assert (error.limit, error.started, error.retryable) == (0.0, True, idempotent)


async def test_an_injected_internal_error_names_the_fault_injector() -> None:
    """An internal error says which interceptor made it."""
    error = (await faulty(FakeHandler(), FakeClock(), Failure("internal")).invoke("x")).error
    assert isinstance(error, InternalError)
    assert error.interceptor == "fault_injection"


async def test_a_hang_is_ended_by_the_timeout_interceptor_at_the_exact_deadline() -> None:
    """With a TimeoutInterceptor outside, the call answers timeout at its deadline."""
    clock = FakeClock()
    handler = FakeHandler(["ok"])
    builder = PipelineBuilder(clock=clock).use(TimeoutInterceptor(timeout=2.0))
    pipeline = builder.use(FaultInjectionInterceptor(Hang())).route(handler).build()
    task = asyncio.create_task(pipeline.invoke("x"))
    await clock.advance(1.999)
    assert not task.done()
    await clock.advance(0.001)
    response = await task
    assert isinstance(response.error, CallTimeoutError)
    assert (response.error.limit, response.finished_at) == (2.0, 1002.0)
    assert handler.call_count == 0


async def test_a_hang_with_a_deadline_alone_answers_timeout_there() -> None:
    """No timeout stage: the hang itself answers timeout at the request's deadline."""
    clock, log = FakeClock(), []
    pipeline = faulty(tools(clock, log, idempotent=True), clock, Hang())
    task = asyncio.create_task(pipeline.invoke("lookup", timeout=3.0))
    await clock.advance(2.999)
    assert not task.done()
    await clock.advance(0.001)
    response = await task
    error = response.error
    assert isinstance(error, CallTimeoutError)
    assert (error.limit, error.retryable, error.target) == (3.0, True, "lookup")
    assert "within the allowed timeout of 3.000s (an injected hang)" in error.message
    assert (response.started_at, response.finished_at, response.get(FAULT)) == (
        1000.0,
        1003.0,
        "hang",
    )
    assert (log, clock.pending) == ([], 0)


async def test_a_hang_without_any_deadline_answers_internal_at_once() -> None:
    """Rather than hang forever, a deadline-less hang says what it needs."""
    response = await faulty(FakeHandler(), FakeClock(), Hang()).invoke("x")
    error = response.error
    assert isinstance(error, InternalError)
    assert error.interceptor == "fault_injection"
    assert "has no deadline to end it" in error.message
    assert "put a TimeoutInterceptor outside" in error.hint
    assert response.get(FAULT) == "hang"


async def test_when_limits_faults_to_some_targets(caplog: pytest.LogCaptureFixture) -> None:
    """The builder's when= applies: only 'lookup' fails; the event is logged at debug."""
    clock, log = FakeClock(), []
    pipeline = faulty(tools(clock, log), clock, Failure("unavailable"), when={"lookup"})
    with caplog.at_level(logging.DEBUG, logger="toolware.interceptors.fault_injection"):
        assert not (await pipeline.invoke("lookup")).ok
        assert (await (await pipeline.invoke("words")).collect()).value == ["a", "b"]
    [record] = caplog.records
    assert record.getMessage().startswith(
        "fault_injection.injected target=lookup fault=Failure(category=<ErrorCategory."
    )
    assert (record.target, record.fault) == ("lookup", "error")


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: FaultInjectionInterceptor(), ValueError, "needs at least one fault"),
        (lambda: FaultInjectionInterceptor("slow"), TypeError, "got 'slow'"),
        (
            lambda: FaultInjectionInterceptor(Hang(), seed=1, random=random.Random()),
            ValueError,
            "give seed= or random=, not both",
        ),
        (lambda: FaultInjectionInterceptor(Hang(), seed=True), TypeError, "seed must be an int"),
        (lambda: FaultInjectionInterceptor(Hang(), seed="1"), TypeError, "got '1'"),
        (lambda: FaultInjectionInterceptor(Hang(), random=3), TypeError, "random must have"),
        (lambda: FaultInjectionInterceptor(Hang(), clock=3), TypeError, "clock must implement"),
        (lambda: Latency(0), ValueError, "Latency seconds must be a positive, finite number"),
        (lambda: Latency(-1.0), ValueError, "got -1.0"),
        (lambda: Latency(math.inf), ValueError, "got inf"),
        (lambda: Latency(math.nan), ValueError, "got nan"),
        (lambda: Latency(True), ValueError, "got True"),
        (lambda: Latency(1.0, rate=-0.1), ValueError, "rate must be a probability"),
        (lambda: Latency(1.0, rate=1.1), ValueError, "got 1.1"),
        (lambda: Hang(rate=math.nan), ValueError, "got nan"),
        (lambda: Hang(rate=True), ValueError, "got True"),
        (lambda: Hang(rate="0.5"), ValueError, "got '0.5'"),
        (lambda: Failure("broken"), ValueError, "'broken' is not an error category"),
        (lambda: Failure("timeout", rate=2), ValueError, "got 2"),
        (lambda: Failure("timeout", message=3), TypeError, "message must be a str, got 3"),
        (
            lambda: Failure("timeout", retry_after=1.0),
            ValueError,
            "retry_after only applies to rate_limited and circuit_open failures, not timeout",
        ),
        (
            lambda: Failure("rate_limited", retry_after=0),
            ValueError,
            "Failure retry_after must be a positive, finite number of seconds, got 0",
        ),
    ],
)
def test_bad_options_are_refused(make: Any, error: type[Exception], message: str) -> None:
    """Every option is checked when made; the message names it and the value."""
    with pytest.raises(error, match=re.escape(message)):
        make()


def test_faults_keep_their_options_and_the_clock_is_bound_once() -> None:
    """Categories given by name become members; a different explicit clock is refused."""
    assert Failure("unavailable").category is ErrorCategory.UNAVAILABLE
    assert (Latency(1).rate, Hang().rate, Latency(1, rate=0).rate) == (1.0, 1.0, 0)
    clock = FakeClock()
    injector = FaultInjectionInterceptor(Hang(), clock=clock)
    assert (injector.clock, injector.name, injector.faults) == (clock, "fault_injection", (Hang(),))
    injector.bind_clock(clock)
    with pytest.raises(ValueError, match="FaultInjectionInterceptor was given clock"):
        injector.bind_clock(FakeClock())
    loose = FaultInjectionInterceptor(Hang())
    loose.bind_clock(clock)
    assert loose.clock is clock
    assert FaultInjectionInterceptor(Hang()).clock is not clock


async def test_a_request_is_untouched_when_nothing_hits() -> None:
    """No hit: the response is the handler's own, with no FAULT marker."""
    handler = FakeHandler(["ok"])
    response = await faulty(handler, FakeClock(), Latency(1.0, rate=0.0)).invoke("x")
    assert response.value == "ok"
    assert FAULT not in response.extras
    assert isinstance(handler.calls[0], RequestContext)


async def test_a_hang_past_its_deadline_answers_timeout_with_no_time_left() -> None:
    """A deadline already over: the hang answers at once, with a limit of 0.0, not less."""
    clock = FakeClock()
    pipeline = faulty(FakeHandler(), clock, Hang())
    task = asyncio.create_task(pipeline.invoke("x", deadline=999.0))
    await clock.advance(0)
    error = (await task).error
    assert isinstance(error, CallTimeoutError)
    assert (error.limit, error.retryable) == (0.0, False)
