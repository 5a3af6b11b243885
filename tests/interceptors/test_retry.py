"""Tests for toolware.interceptors.retry: backoff, bounds, what is retried, and streams."""

import asyncio
import inspect
import logging
import random
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from toolware import (
    CallTimeoutError,
    CircuitOpenError,
    ErrorCategory,
    InternalError,
    InvalidRequestError,
    LocalRegistry,
    Pipeline,
    PipelineBuilder,
    RateLimitedError,
    RequestContext,
    ResponseContext,
    ToolFailedError,
    ToolwareError,
    UnavailableError,
)
from toolware.errors import ConcurrencyLimitedError
from toolware.interceptors.retry import NEVER_RETRIED, RetryBudget, RetryInterceptor
from toolware.markers import ATTEMPT
from toolware.testing import FakeClock, FakeHandler
from toolware.types import CallNext


class Ceiling(random.Random):
    """Draws the top of each range, and records the ranges: waits are the backoff caps."""

    def __init__(self) -> None:
        super().__init__(0)
        self.ranges: list[tuple[float, float]] = []

    def uniform(self, a: float, b: float) -> float:
        self.ranges.append((a, b))
        return b


def retrying(terminal: Any, clock: FakeClock, *stages: Any, **options: Any) -> Pipeline:
    """A pipeline: a RetryInterceptor, then ``stages``, in front of ``terminal``."""
    options.setdefault("random", Ceiling())
    builder = PipelineBuilder(clock=clock).use(RetryInterceptor(**options))
    for stage in stages:
        builder = builder.use(stage)
    return builder.route(terminal).build()


class Flaky:
    """A registry with 'flaky', which fails with ConnectionError ``failures`` times and
    records, for each run, its ATTEMPT marker, its deadline and the time."""

    def __init__(self, clock: FakeClock, failures: int = 1_000, **options: Any) -> None:
        self.registry = LocalRegistry()
        self.runs: list[tuple[int | None, float | None, float]] = []
        options.setdefault("retryable_on", (ConnectionError,))

        @self.registry.tool(name="flaky", **options)
        async def flaky(ctx: RequestContext) -> str:
            self.runs.append((ctx.get(ATTEMPT), ctx.deadline, clock.monotonic()))
            if len(self.runs) <= failures:
                raise ConnectionError("down")
            return "ok"

    @property
    def times(self) -> list[float]:
        return [when for _, _, when in self.runs]


def refuse(*errors: ToolwareError) -> Callable[..., Any]:
    """An interceptor answering the first calls with ``errors`` (one each), then passing on."""
    left = list(errors)

    async def refuser(request: RequestContext, call_next: CallNext) -> ResponseContext:
        if left:
            return ResponseContext.failure(left.pop(0))
        return await call_next(request)

    return refuser


async def run(pipeline: Pipeline, clock: FakeClock, seconds: float = 100.0, **kw: Any) -> Any:
    """Invoke 'flaky' and let ``seconds`` of fake time pass; the response."""
    task = asyncio.create_task(pipeline.invoke("flaky", **kw))
    await clock.advance(seconds)
    assert task.done()
    return task.result()


async def test_first_success_passes_through_untouched() -> None:
    """No failure: one run, the request as it came (ATTEMPT 1), attempts 1, one deposit."""
    clock = FakeClock()
    flaky = Flaky(clock, failures=0, idempotent=True)
    interceptor = RetryInterceptor()
    pipeline = PipelineBuilder(clock=clock).use(interceptor).route(flaky.registry).build()
    response = await pipeline.invoke("flaky")
    assert (response.unwrap(), response.attempts) == ("ok", 1)
    assert flaky.runs == [(1, None, 1000.0)]
    assert interceptor.budget is not None
    assert (interceptor.budget.calls, interceptor.budget.retries) == (1, 0)


async def test_backoff_is_full_jitter_from_the_seeded_random() -> None:
    """Waits are uniform(0, base_delay * 2**(n-1)) drawn from the given Random, in order."""
    clock = FakeClock()
    flaky = Flaky(clock, failures=3, idempotent=True)
    pipeline = retrying(flaky.registry, clock, attempts=4, random=random.Random(7))
    response = await run(pipeline, clock)
    expected = random.Random(7)
    waits = [expected.uniform(0, 0.1), expected.uniform(0, 0.2), expected.uniform(0, 0.4)]
    assert flaky.times == [
        1000.0,
        1000.0 + waits[0],
        1000.0 + waits[0] + waits[1],
        1000.0 + waits[0] + waits[1] + waits[2],
    ]
    assert [attempt for attempt, _, _ in flaky.runs] == [1, 2, 3, 4]
    assert (response.unwrap(), response.attempts) == ("ok", 4)


async def test_backoff_doubles_from_base_delay_up_to_max_delay() -> None:
    """The ranges are base, 2x base, 4x base... capped at max_delay."""
    clock = FakeClock()
    draws = Ceiling()
    flaky = Flaky(clock, idempotent=True)
    pipeline = retrying(
        flaky.registry, clock, attempts=5, base_delay=1, max_delay=3.5, random=draws
    )
    response = await run(pipeline, clock)
    assert draws.ranges == [(0.0, 1.0), (0.0, 2.0), (0.0, 3.5), (0.0, 3.5)]
    assert flaky.times == [1000.0, 1001.0, 1003.0, 1006.5, 1010.0]
    assert isinstance(response.error, ToolFailedError)
    assert response.attempts == 5


async def test_equal_base_and_max_delay_wait_the_same_each_time() -> None:
    """base_delay == max_delay is allowed: every range is the same."""
    clock = FakeClock()
    draws = Ceiling()
    flaky = Flaky(clock, idempotent=True)
    await run(retrying(flaky.registry, clock, base_delay=2, max_delay=2, random=draws), clock)
    assert draws.ranges == [(0.0, 2.0), (0.0, 2.0)]
    assert flaky.times == [1000.0, 1002.0, 1004.0]


async def test_default_backoff_starts_at_a_tenth_of_a_second() -> None:
    """base_delay 0.1 and max_delay 10 by default: 0.1, 0.2, 0.4, ... 6.4, 10, 10."""
    clock = FakeClock()
    draws = Ceiling()
    flaky = Flaky(clock, idempotent=True)
    await run(retrying(flaky.registry, clock, attempts=10, random=draws), clock)
    assert [b for _, b in draws.ranges] == [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 10.0, 10.0]


async def test_attempts_bound_the_runs(caplog: pytest.LogCaptureFixture) -> None:
    """attempts=3: three runs, then the last failure, attempts 3, and retry.gave_up."""
    clock = FakeClock()
    flaky = Flaky(clock, idempotent=True)
    caplog.set_level(logging.INFO, "toolware.interceptors.retry")
    response = await run(retrying(flaky.registry, clock, attempts=3), clock)
    assert flaky.times == [1000.0, 1000.1, 1000.1 + 0.2]
    assert isinstance(response.error, ToolFailedError)
    assert response.attempts == 3
    [record] = caplog.records
    assert record.getMessage() == (
        "retry.gave_up target=flaky attempts=3 reason=attempts category=tool_failed"
    )
    assert record.levelno == logging.INFO
    assert (record.target, record.attempts, record.reason, record.category) == (  # type: ignore[attr-defined]
        "flaky",
        3,
        "attempts",
        "tool_failed",
    )


async def test_one_attempt_never_retries(caplog: pytest.LogCaptureFixture) -> None:
    """attempts=1 turns retries off; the give-up says so."""
    clock = FakeClock()
    flaky = Flaky(clock, idempotent=True)
    caplog.set_level(logging.INFO, "toolware.interceptors.retry")
    response = await run(retrying(flaky.registry, clock, attempts=1), clock, 0.0)
    assert len(flaky.runs) == 1
    assert response.attempts == 1
    assert [r.getMessage() for r in caplog.records] == [
        "retry.gave_up target=flaky attempts=1 reason=attempts category=tool_failed"
    ]


@pytest.mark.parametrize(("deadline", "runs"), [(1003.0, 2), (1003.000001, 3)])
async def test_a_wait_ending_at_the_deadline_is_not_started(
    deadline: float, runs: int, caplog: pytest.LogCaptureFixture
) -> None:
    """Waits 1 then 2 s: with the deadline at 1003 exactly the second wait is not begun; every
    attempt gets the request's deadline unchanged."""
    clock = FakeClock()
    flaky = Flaky(clock, idempotent=True)
    caplog.set_level(logging.INFO, "toolware.interceptors.retry")
    pipeline = retrying(flaky.registry, clock, attempts=9, base_delay=1.0)
    task = asyncio.create_task(pipeline.invoke("flaky", deadline=deadline))
    await clock.advance(1.0)
    assert task.done() is (runs == 2)
    await clock.advance(2.0)
    response = task.result()
    assert (
        flaky.runs == [(1, deadline, 1000.0), (2, deadline, 1001.0), (3, deadline, 1003.0)][:runs]
    )
    assert response.attempts == runs
    assert caplog.records[-1].getMessage() == (
        f"retry.gave_up target=flaky attempts={runs} reason=deadline category=tool_failed"
    )


async def test_an_overdue_deadline_gives_up_at_once() -> None:
    """A zero wait still ends at or after a deadline already reached: no retry."""
    clock = FakeClock()
    flaky = Flaky(clock, idempotent=True)
    response = await run(
        retrying(flaky.registry, clock, base_delay=0.0), clock, 0.0, deadline=1000.0
    )
    assert len(flaky.runs) == 1
    assert response.attempts == 1


async def test_zero_delay_retries_without_waiting() -> None:
    """base_delay=0: retries at once, one after the other."""
    clock = FakeClock()
    flaky = Flaky(clock, failures=2, idempotent=True)
    response = await run(retrying(flaky.registry, clock, base_delay=0.0), clock, 0.0)
    assert flaky.times == [1000.0, 1000.0, 1000.0]
    assert response.unwrap() == "ok"


@pytest.mark.parametrize(
    ("entry", "options", "runs"),
    [
        ({}, {}, 1),  # not idempotent: never run twice
        ({}, {"retry_non_idempotent": True}, 3),
        ({"retry": True}, {}, 3),  # the entry says a repeat is harmless
        ({"idempotent": True}, {}, 3),
        ({"idempotent": True, "retry": False}, {}, 1),  # the entry's word wins
        ({"retry": False}, {"retry_non_idempotent": True}, 1),
    ],
)
async def test_only_entries_that_may_repeat_run_again(
    entry: dict[str, Any], options: dict[str, Any], runs: int
) -> None:
    """A started, retryable failure is retried only if the handler may run twice."""
    clock = FakeClock()
    flaky = Flaky(clock, **entry)
    response = await run(retrying(flaky.registry, clock, **options), clock)
    assert len(flaky.runs) == runs
    assert response.attempts == runs


@pytest.mark.parametrize("retry_non_idempotent", [False, True])
async def test_a_plain_handler_counts_as_not_idempotent(retry_non_idempotent: bool) -> None:
    """No entry (a pipeline routed to a function): retried only with retry_non_idempotent."""
    clock = FakeClock()
    handler = FakeHandler([UnavailableError("down"), "up"])
    pipeline = retrying(handler, clock, retry_non_idempotent=retry_non_idempotent)
    task = asyncio.create_task(pipeline.invoke("fake"))
    await clock.advance(1.0)
    response = task.result()
    assert handler.call_count == (2 if retry_non_idempotent else 1)
    assert response.ok is retry_non_idempotent


@pytest.mark.parametrize(
    ("error", "wait"),
    [
        (RateLimitedError("slow down", retry_after=2.5), 2.5),
        (CircuitOpenError("resting", retry_after=7.0), 7.0),
        (RateLimitedError("slow down", retry_after=0.05), 0.1),  # the backoff is longer
        (ConcurrencyLimitedError("full", limit=1, in_flight=1, waiting=0, max_waiting=0), 0.1),
        (CallTimeoutError("queued", limit=1.0, started=False, retryable=False), 0.1),
    ],
)
async def test_errors_proving_the_handler_never_ran_are_retried_for_any_entry(
    error: ToolwareError, wait: float
) -> None:
    """Even for an entry with retry=False, after max(backoff, retry_after) exactly."""
    clock = FakeClock()
    flaky = Flaky(clock, failures=0, retry=False)
    response = await run(retrying(flaky.registry, clock, refuse(error)), clock)
    assert flaky.times == [1000.0 + wait]
    assert flaky.runs[0][0] == 2
    assert (response.unwrap(), response.attempts) == ("ok", 2)


@pytest.mark.parametrize(
    ("make", "idempotent", "runs"),
    [
        (lambda: RateLimitedError("quota gone", retry_after=1.0, retryable=False), True, 0),
        (lambda: CallTimeoutError("slow", limit=1.0, started=True, retryable=True), False, 0),
        (lambda: CallTimeoutError("slow", limit=1.0, started=True, retryable=True), True, 1),
        (lambda: CallTimeoutError("slow", limit=1.0, started=True, retryable=False), True, 0),
        (lambda: UnavailableError("down"), True, 1),
        (lambda: UnavailableError("down", retryable=False), True, 0),
        (lambda: InvalidRequestError("bad", retryable=True), True, 0),  # a bad call stays bad
    ],
)
async def test_what_is_retried(
    make: Callable[[], ToolwareError], idempotent: bool, runs: int
) -> None:
    """Started errors need retryable and an entry that may repeat; some categories never."""
    clock = FakeClock()
    error = make()  # a fresh error each run: a bound error is copied when reused
    flaky = Flaky(clock, failures=0, idempotent=idempotent)
    response = await run(retrying(flaky.registry, clock, refuse(error)), clock)
    assert len(flaky.runs) == runs
    if runs:
        assert (response.ok, response.attempts) == (True, 2)
    else:
        assert (response.error, response.attempts) == (error, 1)


async def test_retry_after_past_the_deadline_gives_up_at_once() -> None:
    """A retry_after that would end after the deadline is not waited for."""
    clock = FakeClock()
    flaky = Flaky(clock, failures=0, idempotent=True)
    error = RateLimitedError("slow down", retry_after=5.0)
    task = asyncio.create_task(
        retrying(flaky.registry, clock, refuse(error)).invoke("flaky", timeout=4.0)
    )
    await clock.advance(0.0)
    assert task.done()
    assert task.result().error is error
    assert flaky.runs == []


async def test_retry_on_narrows_the_categories() -> None:
    """retry_on={timeout}: an unavailable error is the answer, a timeout is retried."""
    clock = FakeClock()
    flaky = Flaky(clock, failures=0, idempotent=True)
    timeout = CallTimeoutError("slow", limit=1.0, retryable=True)
    unavailable = UnavailableError("down")
    pipeline = retrying(flaky.registry, clock, refuse(timeout, unavailable), retry_on=["timeout"])
    response = await run(pipeline, clock)
    assert response.error is unavailable
    assert response.attempts == 2
    assert flaky.runs == []


def test_retry_on_is_kept_as_a_set_of_categories() -> None:
    """Strings become categories; None stays None (every category that can be retried)."""
    assert RetryInterceptor(retry_on=("timeout", ErrorCategory.UNAVAILABLE)).retry_on == {
        ErrorCategory.TIMEOUT,
        ErrorCategory.UNAVAILABLE,
    }
    assert RetryInterceptor().retry_on is None
    never = {"invalid_request", "not_found", "unauthenticated", "forbidden", "cancelled"}
    assert never == NEVER_RETRIED


async def test_not_retryable_after_a_retry_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    """A retry answered by an error that cannot be retried: given up, said so; the first
    attempt's own non-retryable failure is not logged."""
    clock = FakeClock()
    caplog.set_level(logging.DEBUG, "toolware.interceptors.retry")
    flaky = Flaky(clock, failures=0, idempotent=True)
    bad = InvalidRequestError("bad")
    response = await run(retrying(flaky.registry, clock, refuse(UnavailableError("x"), bad)), clock)
    assert (response.error, response.attempts) == (bad, 2)
    assert [r.getMessage() for r in caplog.records] == [
        "retry.attempt target=flaky attempt=2 delay=0.1 category=unavailable",
        "retry.gave_up target=flaky attempts=2 reason=not_retryable category=invalid_request",
    ]
    assert caplog.records[0].levelno == logging.DEBUG
    assert (caplog.records[0].attempt, caplog.records[0].delay) == (2, 0.1)  # type: ignore[attr-defined]
    caplog.clear()
    await run(retrying(flaky.registry, clock, refuse(bad)), clock)
    assert caplog.records == []


async def test_the_budget_bounds_retries_in_an_outage(caplog: pytest.LogCaptureFixture) -> None:
    """100 calls at once, all failing: ratio 0.1 x 100 + a floor of 5 = 15 retries, no more;
    the budget refills as the calls leave its window."""
    clock = FakeClock()
    caplog.set_level(logging.WARNING, "toolware.interceptors.retry")
    handler = FakeHandler([UnavailableError("down")], delay=0.01, clock=clock)
    budget = RetryBudget(ratio=0.1, min_per_second=0.5, window=10)
    pipeline = retrying(handler, clock, budget=budget, retry_non_idempotent=True)
    tasks = [asyncio.create_task(pipeline.invoke("fake")) for _ in range(100)]
    await clock.advance(1.0)
    attempts = [task.result().attempts for task in tasks]
    assert handler.call_count == 115
    assert sorted(attempts) == [1] * 85 + [2] * 15
    assert (budget.calls, budget.retries) == (100, 15)
    [warning] = caplog.records
    assert warning.getMessage().startswith("retry.budget_exhausted target=fake suppressed=0: ")
    assert warning.levelno == logging.WARNING
    # 1009.5: still in the window, still exhausted; the warning waits for its second.
    caplog.clear()
    await clock.advance(8.5)
    late = asyncio.create_task(pipeline.invoke("fake"))
    await clock.advance(1.0)
    assert late.result().attempts == 1
    assert [r.suppressed for r in caplog.records] == [99]  # type: ignore[attr-defined]
    # 1010.5: the calls of 1000 left the window; 2 calls in it allow 5.2 retries.
    again = asyncio.create_task(pipeline.invoke("fake"))
    await clock.advance(1.0)
    assert again.result().attempts == 3
    assert handler.call_count == 119


async def test_budget_warnings_are_one_a_second(caplog: pytest.LogCaptureFixture) -> None:
    """Exhausted at 1000.0 (warned), at 1000.999 (counted), at 1001.0 (warned, 1 suppressed)."""
    clock = FakeClock()
    caplog.set_level(logging.WARNING, "toolware.interceptors.retry")
    budget = RetryBudget(ratio=0, min_per_second=0, window=10)
    pipeline = retrying(
        FakeHandler([UnavailableError("down")]), clock, budget=budget, retry_non_idempotent=True
    )
    for step in (0.0, 0.999, 0.001):
        await clock.advance(step)
        await pipeline.invoke("fake")
    assert [r.suppressed for r in caplog.records] == [0, 1]  # type: ignore[attr-defined]


async def test_without_a_budget_every_call_retries() -> None:
    """budget=None: 100 failing calls at once all make their 3 attempts."""
    clock = FakeClock()
    handler = FakeHandler([UnavailableError("down")], delay=0.01, clock=clock)
    pipeline = retrying(handler, clock, budget=None, retry_non_idempotent=True)
    tasks = [asyncio.create_task(pipeline.invoke("fake")) for _ in range(100)]
    await clock.advance(1.0)
    assert [task.result().attempts for task in tasks] == [3] * 100
    assert handler.call_count == 300


def test_each_interceptor_gets_a_budget_of_its_own() -> None:
    """The default budget is a new RetryBudget() per interceptor, not one shared by all."""
    first, second = RetryInterceptor(), RetryInterceptor()
    assert isinstance(first.budget, RetryBudget)
    assert repr(first.budget) == "RetryBudget(ratio=0.2, min_per_second=10.0, window=10.0)"
    assert first.budget is not second.budget
    default = inspect.signature(RetryInterceptor).parameters["budget"].default
    assert repr(default) == "RetryBudget()"  # what help() shows: a budget, made per interceptor
    shared = RetryBudget()
    assert RetryInterceptor(budget=shared).budget is shared


async def test_a_stream_failing_before_its_first_chunk_is_retried() -> None:
    """The first chunk is read at call time: failing before it is an error, and retried."""
    clock = FakeClock()
    registry = LocalRegistry()
    runs: list[int | None] = []

    @registry.tool(idempotent=True, retryable_on=(ConnectionError,))
    async def words(ctx: RequestContext) -> AsyncIterator[str]:
        runs.append(ctx.get(ATTEMPT))
        if len(runs) == 1:
            raise ConnectionError("not yet")
        yield "a"
        yield "b"

    task = asyncio.create_task(retrying(registry, clock).invoke("words"))
    await clock.advance(0.1)
    response = task.result()
    assert runs == [1, 2]
    assert response.attempts == 2
    assert (await response.collect()).value == ["a", "b"]


async def test_a_stream_failing_after_its_first_chunk_is_not_retried() -> None:
    """Chunks delivered cannot be taken back: the stream is the answer, its error raised."""
    clock = FakeClock()
    registry = LocalRegistry()
    runs: list[int] = []

    @registry.tool(idempotent=True, retryable_on=(ConnectionError,))
    async def words() -> AsyncIterator[str]:
        runs.append(1)
        yield "a"
        raise ConnectionError("peer reset")

    response = await retrying(registry, clock).invoke("words")
    assert response.stream is not None
    assert response.attempts == 1
    collected = await response.collect()
    assert isinstance(collected.error, ToolFailedError)
    assert runs == [1]


async def test_a_caller_cancelled_during_the_wait_is_cancelled() -> None:
    """CancelledError during the backoff reaches the caller; no second run, no timer left."""
    clock = FakeClock()
    flaky = Flaky(clock, idempotent=True)
    task = asyncio.create_task(retrying(flaky.registry, clock).invoke("flaky"))
    await clock.advance(0.05)
    assert clock.pending == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(flaky.runs) == 1
    assert clock.pending == 0


async def test_a_broken_random_is_an_internal_error() -> None:
    """A random source that raises: the call ends with an internal error naming retry."""

    class Broken(random.Random):
        def uniform(self, a: float, b: float) -> float:
            raise ArithmeticError("no entropy")

    clock = FakeClock()
    flaky = Flaky(clock, idempotent=True)
    response = await run(retrying(flaky.registry, clock, random=Broken()), clock, 0.0)
    error = response.error
    assert isinstance(error, InternalError)
    assert (error.interceptor, error.target, response.attempts) == ("retry", "flaky", 1)
    assert "random source failed: ArithmeticError: no entropy" in error.message
    assert isinstance(error.__cause__, ArithmeticError)
    assert len(flaky.runs) == 1


async def test_the_pipeline_clock_is_adopted() -> None:
    """Without a clock the interceptor takes the pipeline's at build(), for waits and budget."""
    clock = FakeClock()
    interceptor = RetryInterceptor(random=Ceiling())
    assert interceptor.clock.monotonic is not clock.monotonic
    flaky = Flaky(clock, failures=1, idempotent=True)
    pipeline = PipelineBuilder(clock=clock).use(interceptor).route(flaky.registry).build()
    assert interceptor.clock is clock
    interceptor.bind_clock(clock)  # the same clock again is fine
    await run(pipeline, clock)
    assert flaky.times == [1000.0, 1000.1]


async def test_a_clock_given_keeps_the_budget() -> None:
    """With clock= given, the budget counts on that clock: a floor of one retry per 10 s
    refills when fake time passes the window."""
    clock = FakeClock()
    handler = FakeHandler([UnavailableError("down")])
    budget = RetryBudget(ratio=0, min_per_second=0.1, window=10)
    interceptor = RetryInterceptor(
        budget=budget, retry_non_idempotent=True, clock=clock, random=Ceiling()
    )
    pipeline = PipelineBuilder(clock=clock).use(interceptor).route(handler).build()
    attempts = []
    for start in (1000.0, 1000.5, 1010.0):  # the retry of 1000.0 counts until 1010.0
        await clock.advance(start - clock.monotonic())
        task = asyncio.create_task(pipeline.invoke("fake"))
        await clock.advance(0.5)
        attempts.append(task.result().attempts)
    assert attempts == [2, 1, 2]


def test_a_different_clock_is_refused() -> None:
    """An interceptor given one clock refuses a pipeline on another."""
    mine, theirs = FakeClock(), FakeClock()
    interceptor = RetryInterceptor(clock=mine)
    assert interceptor.clock is mine
    with pytest.raises(ValueError, match=r"RetryInterceptor was given clock .* two timelines"):
        PipelineBuilder(clock=theirs).use(interceptor).route(FakeHandler()).build()


async def test_outside_a_pipeline_it_runs_on_the_system_clock() -> None:
    """Called directly, it still works: the budget counts on the system clock."""
    interceptor = RetryInterceptor()
    request = RequestContext.create("x")
    response = await interceptor(request, FakeHandler(["fine"]))
    assert response.unwrap() == "fine"
    assert interceptor.budget is not None
    assert interceptor.budget.calls == 1


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"attempts": 0}, ValueError, "attempts must be a whole number >= 1 .*got 0"),
        ({"attempts": True}, ValueError, "attempts must be .*got True"),
        ({"attempts": 2.0}, ValueError, "attempts must be .*got 2.0"),
        ({"base_delay": -0.1}, ValueError, "base_delay must be a finite number of .*got -0.1"),
        ({"base_delay": float("nan")}, ValueError, "base_delay must be .*got nan"),
        ({"base_delay": True}, ValueError, "base_delay must be .*got True"),
        ({"max_delay": float("inf")}, ValueError, "max_delay must be .*got inf"),
        ({"max_delay": "10"}, ValueError, "max_delay must be .*got '10'"),
        ({"base_delay": 2, "max_delay": 1}, ValueError, r"base_delay \(2\) must not exceed"),
        ({"retry_on": "timeout"}, TypeError, "retry_on must be a collection of categories"),
        ({"retry_on": 5}, TypeError, "retry_on must be a collection .*got 5"),
        ({"retry_on": ["timeuot"]}, ValueError, "'timeuot', which is not an error category"),
        ({"retry_on": [ErrorCategory.NOT_FOUND]}, ValueError, "'not_found', which is never"),
        ({"retry_on": ["cancelled"]}, ValueError, "'cancelled', which is never retried"),
        ({"retry_on": []}, ValueError, "retry_on is empty, .*attempts=1"),
        ({"retry_non_idempotent": 1}, TypeError, "retry_non_idempotent must be True or False"),
        ({"budget": 0.2}, TypeError, "budget must be a RetryBudget.*got 0.2"),
        ({"random": 42}, TypeError, r"random must be a random.Random .*got 42"),
        ({"clock": "now"}, TypeError, "clock must implement toolware.clock.Clock, got 'now'"),
    ],
)
def test_bad_options_are_refused(options: dict[str, Any], error: type, message: str) -> None:
    """Each bad option is refused at construction, naming the option and the value."""
    with pytest.raises(error, match=message):
        RetryInterceptor(**options)


def test_the_lists_of_valid_categories_are_offered() -> None:
    """An unknown category lists the ones that can be retried, not the ones refused."""
    with pytest.raises(ValueError, match="not an error category") as info:
        RetryInterceptor(retry_on=["nope"])
    assert str(info.value).endswith(
        "use some of: circuit_open, internal, rate_limited, timeout, tool_failed, unavailable"
    )


def test_options_are_kept() -> None:
    """The options are readable back, delays as floats; the stage is called 'retry'."""
    draws = random.Random(1)
    interceptor = RetryInterceptor(
        attempts=5, base_delay=1, max_delay=2, random=draws, retry_non_idempotent=True
    )
    assert (interceptor.attempts, interceptor.base_delay, interceptor.max_delay) == (5, 1.0, 2.0)
    assert type(interceptor.base_delay) is float
    assert type(interceptor.max_delay) is float
    assert interceptor.random is draws
    assert interceptor.retry_non_idempotent is True
    assert interceptor.name == "retry"
    assert isinstance(RetryInterceptor().random, random.Random)
    assert RetryInterceptor().retry_non_idempotent is False
