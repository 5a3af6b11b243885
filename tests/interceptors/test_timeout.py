"""Tests for toolware.interceptors.timeout: limits, deadlines, cancellation and sync handlers."""

import asyncio
import contextlib
import logging
import math
import threading
from typing import Any

import msgspec
import pytest

from toolware import (
    CallCancelledError,
    CallTimeoutError,
    ErrorCategory,
    Kind,
    LocalRegistry,
    Pipeline,
    PipelineBuilder,
    RequestContext,
    ResponseContext,
    TimeoutInterceptor,
)
from toolware.testing import FakeClock, FakeHandler, settle


def timed(terminal: Any, clock: FakeClock, **options: Any) -> Pipeline:
    """A pipeline with only a TimeoutInterceptor in front of ``terminal``."""
    builder = PipelineBuilder(clock=clock).use(TimeoutInterceptor(clock=clock, **options))
    return builder.route(terminal).build()


def sleeper(clock: FakeClock, **options: Any) -> tuple[LocalRegistry, list[float | None]]:
    """A registry with 'sleep(seconds)', which records the deadline it was given."""
    registry = LocalRegistry()
    deadlines: list[float | None] = []

    @registry.tool(**options)
    async def sleep(ctx: RequestContext, seconds: float = 10.0) -> str:
        deadlines.append(ctx.deadline)
        await clock.sleep(seconds)
        return "done"

    return registry, deadlines


async def test_times_out_when_fake_time_passes_the_limit() -> None:
    """At the limit, and not a moment before, the call becomes a timeout with that limit."""
    clock = FakeClock()
    handler = FakeHandler(["late"], delay=5.0, clock=clock)
    task = asyncio.create_task(timed(handler, clock, timeout=1.0).invoke("slow"))
    await clock.advance(0.999)
    assert not task.done()
    await clock.advance(0.001)
    assert task.done()
    response = task.result()
    error = response.error
    assert isinstance(error, CallTimeoutError)
    assert error.category is ErrorCategory.TIMEOUT
    assert error.limit == 1.0
    assert error.retryable is False
    assert error.target == "slow"
    assert "within the allowed timeout of 1.000s" in error.message
    assert (response.started_at, response.finished_at) == (1000.0, 1001.0)
    assert clock.pending == 0


async def test_call_finishing_before_the_limit_is_untouched() -> None:
    """A handler done just before the limit returns its value; the deadline is forgotten."""
    clock = FakeClock()
    handler = FakeHandler(["value"], delay=0.999, clock=clock)
    task = asyncio.create_task(timed(handler, clock, timeout=1.0).invoke("quick"))
    await clock.advance(0.999)
    assert task.done()
    response = await task
    assert response.unwrap() == "value"
    # The shared deadline timer stays armed (re-arming per call is what it saves); when it
    # wakes it finds the deadline forgotten and does not arm again.
    assert clock.pending == 1
    await clock.advance(0.001)
    assert clock.pending == 0


async def test_error_responses_pass_through() -> None:
    """The interceptor does not touch a failure that arrives in time."""
    clock = FakeClock()
    response = await timed(FakeHandler([KeyError("k")]), clock, timeout=1.0).invoke("x")
    assert response.error is not None
    assert response.error.category is ErrorCategory.TOOL_FAILED


async def test_request_deadline_narrower_than_the_timeout_wins() -> None:
    """A caller's deadline earlier than now + timeout is the one enforced and passed on."""
    clock = FakeClock()
    registry, deadlines = sleeper(clock)
    pipeline = timed(registry, clock, timeout=10.0)
    task = asyncio.create_task(pipeline.invoke("sleep", timeout=0.5))
    await clock.advance(0.5)
    assert task.done()
    error = (await task).error
    assert isinstance(error, CallTimeoutError)
    assert error.limit == pytest.approx(0.5)
    assert deadlines == [1000.5]


async def test_timeout_narrower_than_the_request_deadline_is_passed_on() -> None:
    """The handler sees the interceptor's earlier deadline in its request."""
    clock = FakeClock()
    registry, deadlines = sleeper(clock)
    task = asyncio.create_task(timed(registry, clock, timeout=1.0).invoke("sleep", deadline=5e3))
    await clock.advance(1.0)
    assert task.done()
    assert isinstance((await task).error, CallTimeoutError)
    assert deadlines == [1001.0]


@pytest.mark.parametrize(("outer", "inner"), [(2.0, 5.0), (5.0, 2.0)])
async def test_nested_deadlines_earliest_wins(outer: float, inner: float) -> None:
    """An outer pipeline's timeout and an inner one's: the handler gets the earliest."""
    clock = FakeClock()
    registry, deadlines = sleeper(clock)
    inner_pipeline = timed(registry, clock, timeout=inner)
    outer_pipeline = timed(inner_pipeline, clock, timeout=outer)

    async def run() -> tuple[ResponseContext, int]:
        response = await outer_pipeline.invoke("sleep")
        task = asyncio.current_task()
        assert task is not None
        return response, task.cancelling()

    task = asyncio.create_task(run())
    await clock.advance(1.999)
    assert not task.done()
    await clock.advance(0.001)
    assert task.done()
    response, cancelling = await task
    assert deadlines == [1002.0]
    assert isinstance(response.error, CallTimeoutError)
    assert response.error.limit == 2.0
    assert cancelling == 0  # every cancellation the timers made was taken back


async def test_entry_default_timeout_narrows_the_interceptors() -> None:
    """The entry's own timeout=0.5 (read from request.entry) narrows the interceptor's 10 s."""
    clock = FakeClock()
    registry, _ = sleeper(clock, timeout=0.5)
    task = asyncio.create_task(timed(registry, clock, timeout=10.0).invoke("sleep", {"seconds": 1}))
    await clock.advance(0.499)
    assert not task.done()
    await clock.advance(0.001)
    assert task.done()
    error = (await task).error
    assert isinstance(error, CallTimeoutError)
    assert error.limit == 0.5


async def test_interceptor_timeout_narrower_than_the_entry_timeout_wins() -> None:
    """The entry's timeout can only narrow: 1 s from the interceptor beats 5 s on the entry."""
    clock = FakeClock()
    registry, _ = sleeper(clock, timeout=5.0)
    task = asyncio.create_task(timed(registry, clock, timeout=1.0).invoke("sleep"))
    await clock.advance(1.0)
    assert task.done()
    error = (await task).error
    assert isinstance(error, CallTimeoutError)
    assert error.limit == 1.0


async def test_entry_timeout_applies_when_the_interceptor_has_none() -> None:
    """timeout=None with registry=: the entry's own timeout is the limit."""
    clock = FakeClock()
    registry, _ = sleeper(clock, timeout=2.0)
    task = asyncio.create_task(timed(registry, clock, timeout=None).invoke("sleep"))
    await clock.advance(2.0)
    assert task.done()
    error = (await task).error
    assert isinstance(error, CallTimeoutError)
    assert error.limit == 2.0


@pytest.mark.parametrize(("idempotent", "retryable"), [(True, True), (False, False)])
async def test_timeout_is_retryable_only_for_idempotent_entries(
    idempotent: bool, retryable: bool
) -> None:
    """A timed-out call may be retried only if the entry says repeating it is safe."""
    clock = FakeClock()
    registry, _ = sleeper(clock, idempotent=idempotent)
    task = asyncio.create_task(timed(registry, clock, timeout=1.0).invoke("sleep"))
    await clock.advance(1.0)
    assert task.done()
    error = (await task).error
    assert isinstance(error, CallTimeoutError)
    assert error.retryable is retryable


async def test_call_without_an_entry_gets_the_interceptors_own_limit() -> None:
    """Routed to a plain handler (no entry to read), the interceptor's own limit applies."""
    clock = FakeClock()
    handler = FakeHandler(["late"], delay=5.0, clock=clock)
    task = asyncio.create_task(timed(handler, clock, timeout=1.0).invoke("x"))
    await clock.advance(1.0)
    assert task.done()
    error = (await task).error
    assert isinstance(error, CallTimeoutError)
    assert (error.limit, error.retryable) == (1.0, False)


@pytest.mark.parametrize("late_by", [1.0, 0.0])
async def test_expired_deadline_returns_timeout_without_calling_the_handler(
    late_by: float,
) -> None:
    """A request whose deadline has already come is refused at once, handler untouched."""
    clock = FakeClock()
    handler = FakeHandler(["value"])
    request = RequestContext.create("x", deadline=clock.monotonic() - late_by, clock=clock)
    response = await timed(handler, clock, timeout=30.0)(request)
    error = response.error
    assert isinstance(error, CallTimeoutError)
    assert error.limit == 0.0
    assert f"its deadline passed {late_by:.3f}s before" in error.message
    assert handler.call_count == 0
    assert clock.pending == 0


async def test_external_cancellation_propagates() -> None:
    """Cancelling the caller raises CancelledError; it is not turned into a timeout."""
    clock = FakeClock()
    handler = FakeHandler(["late"], delay=5.0, clock=clock)
    task = asyncio.create_task(timed(handler, clock, timeout=1.0).invoke("x"))
    await clock.advance(0.5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await clock.advance(0.5)  # past the deadline: the forgotten watch cancels nothing
    assert clock.pending == 0


async def test_external_cancellation_at_the_deadline_still_propagates() -> None:
    """If the caller cancels in the same instant the timer fires, the cancel wins."""
    clock = FakeClock()
    handler = FakeHandler(["late"], delay=5.0, clock=clock)
    task = asyncio.create_task(timed(handler, clock, timeout=1.0).invoke("x"))
    await settle()
    task.cancel()
    clock.advance_now(1.0)  # our timer fires too, before the task runs again
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_handler_that_swallows_the_cancellation_is_answered_with_a_timeout() -> None:
    """The deadline is the answer: a late 'partial' value is replaced by the timeout error."""
    clock = FakeClock()
    registry = LocalRegistry()

    @registry.tool
    async def stubborn() -> str:
        try:
            await clock.sleep(10.0)
        except asyncio.CancelledError:
            return "partial"
        return "full"

    async def run() -> tuple[ResponseContext, int]:
        response = await timed(registry, clock, timeout=1.0).invoke("stubborn")
        task = asyncio.current_task()
        assert task is not None
        return response, task.cancelling()

    task = asyncio.create_task(run())
    await clock.advance(1.0)
    assert task.done()
    response, cancelling = await task
    assert isinstance(response.error, CallTimeoutError)
    assert response.error.limit == 1.0
    assert cancelling == 0


async def test_timed_out_sync_handler_does_not_block_the_caller() -> None:
    """With a real 50 ms limit the caller gets its timeout while the thread is still stuck."""
    registry = LocalRegistry()
    entered, release, finished = threading.Event(), threading.Event(), threading.Event()

    @registry.tool
    def stuck() -> str:
        entered.set()
        release.wait(5)
        finished.set()
        return "late"

    pipeline = PipelineBuilder().use(TimeoutInterceptor(timeout=0.05)).route(registry).build()
    try:
        response = await pipeline.invoke("stuck")
        assert isinstance(response.error, CallTimeoutError)
        assert response.error.limit == 0.05
        assert entered.is_set()
        assert not finished.is_set()
    finally:
        release.set()
        await asyncio.to_thread(finished.wait, 5)
        pipeline.terminal.close()  # type: ignore[attr-defined]


async def test_no_timeout_and_no_deadline_passes_through() -> None:
    """timeout=None and no deadline: no timer, no deadline added, the call just runs."""
    clock = FakeClock()
    registry, deadlines = sleeper(clock)
    task = asyncio.create_task(timed(registry, clock, timeout=None).invoke("sleep"))
    await settle()
    assert clock.pending == 1  # only the handler's own sleep
    await clock.advance(10.0)
    assert task.done()
    assert (await task).unwrap() == "done"
    assert deadlines == [None]


async def test_no_timeout_still_enforces_the_request_deadline() -> None:
    """timeout=None does not drop a deadline the caller set."""
    clock = FakeClock()
    registry, _ = sleeper(clock)
    task = asyncio.create_task(timed(registry, clock, timeout=None).invoke("sleep", timeout=3.0))
    await clock.advance(3.0)
    assert task.done()
    error = (await task).error
    assert isinstance(error, CallTimeoutError)
    assert error.limit == 3.0


@pytest.mark.parametrize("timeout", [0, -1.0, True, float("nan"), float("inf"), "1"])
def test_bad_timeout_is_refused(timeout: Any) -> None:
    """timeout must be a positive finite number of seconds, or None."""
    with pytest.raises(ValueError, match="timeout must be"):
        TimeoutInterceptor(timeout=timeout)


def test_default_timeout_is_thirty_seconds() -> None:
    """The safe default bounds every call."""
    interceptor = TimeoutInterceptor()
    assert (interceptor.name, interceptor.timeout) == ("timeout", 30.0)


async def test_cancellation_turned_into_another_error_is_answered_with_a_timeout() -> None:
    """An inner interceptor raising its own error on our cancel: timeout, task uncancelled."""
    clock = FakeClock()
    handler = FakeHandler(["late"], delay=5.0, clock=clock)

    async def cancel_to_error(request: RequestContext, call_next: Any) -> ResponseContext:
        try:
            return await call_next(request)
        except asyncio.CancelledError:
            raise CallCancelledError("the call was cancelled") from None

    pipeline = (
        PipelineBuilder(clock=clock)
        .use(TimeoutInterceptor(timeout=1.0, clock=clock))
        .use(cancel_to_error)
        .route(handler)
        .build()
    )

    async def call_and_report() -> tuple[ResponseContext, int]:
        response = await pipeline.invoke("slow")
        task = asyncio.current_task()
        assert task is not None
        return response, task.cancelling()

    task = asyncio.create_task(call_and_report())
    await clock.advance(1.0)
    response, cancelling = await task
    assert response.error is not None
    assert response.error.category is ErrorCategory.TIMEOUT
    assert cancelling == 0


async def test_a_nan_deadline_does_not_switch_the_limit_off() -> None:
    """A request built directly with a NaN deadline still gets this interceptor's limit."""
    clock = FakeClock()
    handler = FakeHandler(["late"], delay=5.0, clock=clock)
    request = RequestContext(
        id="r1", kind=Kind.TOOL, target="slow", arguments={}, deadline=math.nan
    )
    task = asyncio.create_task(timed(handler, clock, timeout=1.0)(request))
    await clock.advance(1.0)
    assert task.done()
    assert isinstance((await task).error, CallTimeoutError)


async def test_a_deadline_over_on_arrival_keeps_the_entrys_retry_policy() -> None:
    """Refused at once: retryable for an idempotent entry, timed, bound, never started."""
    clock = FakeClock()
    registry, _ = sleeper(clock, idempotent=True)
    pipeline = timed(registry, clock, timeout=30.0)
    request = RequestContext.create("sleep", deadline=clock.monotonic() - 1.0, clock=clock)
    response = await pipeline(request)
    error = response.error
    assert isinstance(error, CallTimeoutError)
    assert (error.retryable, error.started, error.request_id) == (True, False, request.id)
    assert response.started_at == clock.monotonic() == response.finished_at


async def test_a_tool_that_turns_the_cancellation_into_its_own_error_times_out() -> None:
    """A tool catching BaseException and raising after the deadline is answered 'timeout'."""
    clock = FakeClock()
    registry = LocalRegistry()

    @registry.tool(idempotent=True)
    async def hostile() -> str:
        try:
            await clock.sleep(10.0)
        except BaseException:
            raise RuntimeError("my own error") from None
        return "full"

    task = asyncio.create_task(timed(registry, clock, timeout=1.0).invoke("hostile"))
    await clock.advance(1.0)
    assert task.done()
    error = (await task).error
    assert isinstance(error, CallTimeoutError)
    assert (error.limit, error.retryable, error.started) == (1.0, True, True)


async def test_a_nan_deadline_built_by_hand_is_an_invalid_request() -> None:
    """A request bypassing create()'s check gets invalid_request, not an internal error."""
    clock = FakeClock()
    request = RequestContext(id="r", kind=Kind.TOOL, target="x", arguments={}, deadline=math.nan)
    response = await timed(FakeHandler(["v"]), clock, timeout=None)(request)
    assert response.error is not None
    assert response.error.category is ErrorCategory.INVALID_REQUEST
    assert "deadline is nan" in response.error.message


async def test_a_call_that_waited_for_a_worker_the_whole_time_never_started() -> None:
    """With every worker stuck, the timed-out call says it never started (started=False)."""
    registry = LocalRegistry()
    entered, release = threading.Event(), threading.Event()

    @registry.tool
    def hog() -> str:
        entered.set()
        release.wait(10)
        return "hog"

    @registry.tool
    def quick() -> str:
        return "quick"

    pipeline = PipelineBuilder().use(TimeoutInterceptor(timeout=5.0)).route(registry, workers=1)
    built = pipeline.build()
    hogging = asyncio.create_task(built.invoke("hog"))
    await asyncio.to_thread(entered.wait, 5)
    response = await built.invoke("quick", timeout=0.05)
    release.set()
    assert (await hogging).unwrap() == "hog"
    error = response.error
    assert isinstance(error, CallTimeoutError)
    assert error.started is False
    assert "was never started within the allowed timeout of" in error.message
    assert "it waited for capacity (all 1 workers busy" in error.message
    assert error.hint.startswith("add capacity (workers= on the pipeline")
    ran = await built.invoke("quick", timeout=5)  # the flag was consumed with the answer
    assert ran.unwrap() == "quick"
    await built.aclose()


async def test_a_tool_that_swallows_the_cancel_and_goes_on_is_cancelled_again() -> None:
    """Swallowing the first cancel buys RECANCEL_AFTER, not the tool's whole remaining time."""
    from toolware._deadlines import RECANCEL_AFTER

    clock = FakeClock()
    registry = LocalRegistry()
    cleaned: list[str] = []

    @registry.tool
    async def stubborn() -> str:
        try:
            await clock.sleep(10.0)
        except asyncio.CancelledError:
            cleaned.append("swallowed")
        try:
            await clock.sleep(10.0)  # keeps going: interrupted by the second cancel
        finally:
            cleaned.append("interrupted")
        return "late"

    async def run() -> tuple[ResponseContext, int]:
        response = await timed(registry, clock, timeout=1.0).invoke("stubborn")
        task = asyncio.current_task()
        assert task is not None
        return response, task.cancelling()

    task = asyncio.create_task(run())
    await clock.advance(1.0)
    assert not task.done()
    assert cleaned == ["swallowed"]
    await clock.advance(RECANCEL_AFTER)
    assert task.done()
    response, cancelling = await task
    assert isinstance(response.error, CallTimeoutError)
    assert cleaned == ["swallowed", "interrupted"]
    assert cancelling == 0  # both cancel requests were withdrawn
    assert clock.pending == 0


async def test_a_tool_that_never_stops_swallowing_is_given_up_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """After RECANCEL_TIMES more cancels the watcher stops and says so; the call still ends."""
    from toolware._deadlines import RECANCEL_AFTER, RECANCEL_TIMES

    clock = FakeClock()
    registry = LocalRegistry()
    swallowed: list[int] = []

    @registry.tool
    async def immortal() -> str:
        for attempt in range(RECANCEL_TIMES + 1):
            try:
                await clock.sleep(100.0)
            except asyncio.CancelledError:
                swallowed.append(attempt)
        await clock.sleep(1.0)
        return "finally"

    task = asyncio.create_task(timed(registry, clock, timeout=1.0).invoke("immortal"))
    caplog.set_level(logging.ERROR, logger="toolware.interceptors.timeout")
    await clock.advance(1.0)
    assert swallowed == [0]
    # Each further cancel comes RECANCEL_AFTER times its number after the one before, no sooner.
    for times in range(1, RECANCEL_TIMES + 1):
        await clock.advance(RECANCEL_AFTER * times - 0.001)
        assert len(swallowed) == times
        await clock.advance(0.001)
        assert len(swallowed) == times + 1
    assert caplog.records == []
    await clock.advance(RECANCEL_AFTER * (RECANCEL_TIMES + 1))
    assert swallowed == list(range(RECANCEL_TIMES + 1))
    (record,) = caplog.records
    assert record.getMessage() == (
        f"timeout.abandon_failed task={record.task} cancels={RECANCEL_TIMES + 1}: the call "  # type: ignore[attr-defined]
        "keeps swallowing cancellations; its caller waits until it returns"
    )
    assert record.cancels == RECANCEL_TIMES + 1  # type: ignore[attr-defined]
    assert record.task.startswith("Task-")  # type: ignore[attr-defined]
    await clock.advance(1.0)
    error = (await task).error
    assert isinstance(error, CallTimeoutError)


def refused(action: Any) -> str:
    with pytest.raises(ValueError, match="clock") as caught:
        action()
    return str(caught.value)


async def test_clock_refusals_say_why_and_what_to_do() -> None:
    """A second clock, or a new clock after running on the system clock, is refused."""
    mine, other = FakeClock(), FakeClock()
    given = TimeoutInterceptor(clock=mine)
    assert refused(lambda: given.bind_clock(other)) == (
        f"TimeoutInterceptor was given clock {mine!r}, but its pipeline uses {other!r}; two "
        "timelines make deadlines meaningless: pass the same clock to "
        "PipelineBuilder(clock=...) or leave the interceptor's clock unset"
    )
    used = TimeoutInterceptor(timeout=5.0)
    response = await used(RequestContext.create("x"), FakeHandler(["v"]))
    assert response.unwrap() == "v"  # runs on the system clock when used on its own
    assert refused(lambda: used.bind_clock(other)) == (
        "this TimeoutInterceptor already ran calls on the system clock; create a new one for a "
        "pipeline with another clock"
    )


async def test_it_must_run_inside_an_asyncio_task() -> None:
    """Driven outside a task (a loop callback), it refuses with a RuntimeError saying so."""
    interceptor = TimeoutInterceptor(timeout=5.0)
    coroutine = interceptor(RequestContext.create("x"), FakeHandler(["v"]))
    outcome: asyncio.Future[BaseException] = asyncio.get_running_loop().create_future()

    def drive() -> None:
        try:
            coroutine.send(None)
        except BaseException as exc:
            outcome.set_result(exc)

    asyncio.get_running_loop().call_soon(drive)
    error = await asyncio.wait_for(outcome, 5)
    assert isinstance(error, RuntimeError)
    assert str(error) == "TimeoutInterceptor must run inside an asyncio task"


async def test_a_plain_timeout_is_started_has_no_hint_and_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Called directly: the error is bound to the call; a debug record names target and limit."""
    clock = FakeClock()
    handler = FakeHandler(["late"], delay=5.0, clock=clock)
    request = RequestContext.create("notes", kind=Kind.PLUGIN, action="add", clock=clock)
    with caplog.at_level(logging.DEBUG, logger="toolware.interceptors.timeout"):
        task = asyncio.create_task(TimeoutInterceptor(timeout=1.5, clock=clock)(request, handler))
        await clock.advance(1.5)
        response = await task
    error = response.error
    assert isinstance(error, CallTimeoutError)
    assert error.message == "'notes.add' did not complete within the allowed timeout of 1.500s"
    assert (error.hint, error.started, error.request_id, error.target) == (
        "raise the timeout or make the call cheaper",
        True,
        request.id,
        "notes.add",
    )
    (record,) = caplog.records
    assert record.getMessage() == (
        f"timeout.expired target=notes.add limit=1.5 request_id={request.id}"
    )
    fields = {key: getattr(record, key) for key in ("target", "limit", "request_id")}
    assert fields == {"target": "notes.add", "limit": 1.5, "request_id": request.id}


async def test_a_deadline_over_on_arrival_says_by_how_much_and_what_to_do() -> None:
    """Called directly: message, hint, call id and target of a call that arrived too late."""
    clock = FakeClock()
    request = RequestContext.create("x", deadline=clock.monotonic() - 0.25, clock=clock)
    response = await TimeoutInterceptor(clock=clock)(request, FakeHandler(["v"]))
    error = response.error
    assert isinstance(error, CallTimeoutError)
    assert error.message == (
        "'x' was not started: its deadline passed 0.250s before the call reached the timeout "
        "interceptor"
    )
    assert error.hint == "the caller's deadline was already over; give the call more time"
    assert (error.request_id, error.target, error.limit) == (request.id, "x", 0.0)


async def test_a_nan_deadline_error_is_bound_and_says_how_to_build_requests() -> None:
    """Called directly: the invalid_request names the call and the fix."""
    request = RequestContext(id="r", kind=Kind.TOOL, target="x", arguments={}, deadline=math.nan)
    response = await TimeoutInterceptor(timeout=None)(request, FakeHandler(["v"]))
    error = response.error
    assert error is not None
    assert (error.request_id, error.target) == ("r", "x")
    assert error.hint == (
        "build requests with RequestContext.create() or pipeline.invoke(), which check the "
        "deadline; or pass deadline=None for none"
    )


async def test_a_handler_raising_its_own_error_at_the_deadline_times_out_with_the_policy(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A handler that turns the cancellation into an exception: a timeout, retryable for an
    idempotent entry, timed from the start, with a warning naming the call."""
    clock = FakeClock()
    registry, _ = sleeper(clock, idempotent=True)

    async def hostile(request: RequestContext) -> ResponseContext:
        try:
            await clock.sleep(10.0)
        except asyncio.CancelledError:
            raise RuntimeError("my own error") from None
        return ResponseContext.success("full")

    entry = registry.resolve(Kind.TOOL, "sleep")
    request = msgspec.structs.replace(RequestContext.create("sleep", clock=clock), resolution=entry)
    start = clock.monotonic()
    with caplog.at_level(logging.WARNING, logger="toolware.interceptors.timeout"):
        task = asyncio.create_task(TimeoutInterceptor(timeout=1.0, clock=clock)(request, hostile))
        await clock.advance(1.0)
        response = await task
    error = response.error
    assert isinstance(error, CallTimeoutError)
    assert (error.retryable, response.started_at, response.finished_at) == (True, start, start + 1)
    (record,) = caplog.records
    assert record.getMessage() == (
        f"timeout.cancel_ignored target=sleep request_id={request.id}: the call went on after "
        "its deadline cancelled it; make the tool let asyncio.CancelledError through"
    )
    fields = {key: getattr(record, key) for key in ("target", "request_id")}
    assert fields == {"target": "sleep", "request_id": request.id}


async def test_a_late_answer_after_a_swallowed_cancellation_is_timed_from_the_start() -> None:
    """A handler that swallows the cancellation and answers late: timed start to answer."""
    clock = FakeClock()

    async def stubborn(request: RequestContext) -> ResponseContext:
        with contextlib.suppress(asyncio.CancelledError):
            await clock.sleep(10.0)
        return ResponseContext.success("late")

    start = clock.monotonic()
    task = asyncio.create_task(
        TimeoutInterceptor(timeout=1.0, clock=clock)(RequestContext.create("x"), stubborn)
    )
    await clock.advance(1.0)
    response = await task
    assert isinstance(response.error, CallTimeoutError)
    assert (response.started_at, response.finished_at) == (start, start + 1)


async def test_a_base_exception_after_the_deadline_propagates_and_withdraws_the_cancel() -> None:
    """A handler raising a BaseException of its own once cancelled: it propagates, and the
    task is no longer marked as being cancelled."""
    clock = FakeClock()

    class Stop(BaseException):
        pass

    async def stopping(request: RequestContext) -> ResponseContext:
        try:
            await clock.sleep(10.0)
        except asyncio.CancelledError:
            raise Stop from None
        return ResponseContext.success("v")

    async def call() -> int:
        with pytest.raises(Stop):
            await TimeoutInterceptor(timeout=1.0, clock=clock)(RequestContext.create("x"), stopping)
        task = asyncio.current_task()
        assert task is not None
        return task.cancelling()

    task = asyncio.create_task(call())
    await clock.advance(1.0)
    assert await task == 0


async def test_a_caller_deadline_equal_to_the_limit_reports_the_exact_limit() -> None:
    """A deadline at exactly now + timeout: the error's limit is the timeout, not a rounded
    difference of two clock readings."""
    clock = FakeClock()
    handler = FakeHandler(["late"], delay=5.0, clock=clock)
    pipeline = timed(handler, clock, timeout=0.2)
    task = asyncio.create_task(pipeline.invoke("x", deadline=clock.monotonic() + 0.2))
    await clock.advance(0.2)
    error = (await task).error
    assert isinstance(error, CallTimeoutError)
    assert error.limit == 0.2


async def test_a_call_the_caller_gave_up_on_does_not_mark_a_later_timeout_never_started() -> None:
    """The caller cancels a call waiting for a worker; a later call in the same task that runs
    and times out is reported as started, not as "never started"."""
    clock = FakeClock()
    registry, _ = sleeper(clock)
    entered, release = threading.Event(), threading.Event()

    @registry.tool
    def hog() -> str:
        entered.set()
        release.wait(10)
        return "hog"

    @registry.tool
    def quick() -> str:
        return "quick"

    builder = PipelineBuilder(clock=clock).use(TimeoutInterceptor(timeout=5.0))
    built = builder.route(registry, workers=1).build()
    hogging = asyncio.create_task(built.invoke("hog"))
    await asyncio.to_thread(entered.wait, 5)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):  # the caller's own limit, while 'quick' waits
            await built.invoke("quick")
    release.set()
    assert (await hogging).unwrap() == "hog"
    task = asyncio.create_task(built.invoke("sleep"))
    await clock.advance(5.0)
    error = (await task).error
    assert isinstance(error, CallTimeoutError)
    assert error.started is True
    assert error.message == "'sleep' did not complete within the allowed timeout of 5.000s"
    await built.aclose()


async def test_a_stale_not_started_reason_does_not_describe_a_later_call() -> None:
    """A reason left in the task by an earlier, unrelated cancelled call is not reported."""
    from toolware._workers import _NOT_STARTED

    clock = FakeClock()
    handler = FakeHandler(["late"], delay=5.0, clock=clock)
    _NOT_STARTED.set("all 1 workers busy, 0 calls queued; waited 9.000s for a worker")
    task = asyncio.create_task(timed(handler, clock, timeout=1.0).invoke("x"))
    await clock.advance(1.0)
    error = (await task).error
    assert isinstance(error, CallTimeoutError)
    assert error.started is True
    assert "never started" not in error.message
