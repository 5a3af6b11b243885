"""Tests for toolware.interceptors.stats: what each call adds to the statistics."""

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from toolware import (
    CallTimeoutError,
    ErrorCategory,
    ForbiddenError,
    Kind,
    LocalRegistry,
    NotFoundError,
    Pipeline,
    PipelineBuilder,
    RequestContext,
    ResponseContext,
    StatsInterceptor,
    StatsRecorder,
    ToolFailedError,
    ToolwareError,
)
from toolware.interceptors.stats import UNKNOWN_TARGET
from toolware.testing import FakeClock, FakeHandler
from toolware.types import CallNext


def with_stats(terminal: object, clock: FakeClock, stats: StatsInterceptor) -> Pipeline:
    return PipelineBuilder(clock=clock).use(stats).route(terminal).build()  # type: ignore[arg-type]


def sleeping_registry(clock: FakeClock) -> LocalRegistry:
    registry = LocalRegistry()

    @registry.tool
    async def work(seconds: float = 0.0, fail: bool = False) -> str:
        await clock.sleep(seconds)
        if fail:
            raise RuntimeError("failed")
        return "ok"

    return registry


class Notes:
    def add(self, text: str) -> str:
        return text


async def run_timed(pipeline: Pipeline, clock: FakeClock, seconds: float) -> ResponseContext:
    task = asyncio.create_task(pipeline.invoke("work", {"seconds": seconds}))
    await clock.advance(seconds)
    assert task.done()
    return await task


async def test_counts_calls_and_errors_by_category() -> None:
    """Successes count as calls; failures also count under their category."""
    clock = FakeClock()
    stats = StatsInterceptor(clock=clock)
    handler = FakeHandler(
        ["ok", ForbiddenError("no"), "ok", ToolFailedError("x"), ForbiddenError("n")]
    )
    pipeline = with_stats(handler, clock, stats)
    for _ in range(5):
        await pipeline.invoke("search")
    target = stats.snapshot().get("search")
    assert target.calls == 5
    assert target.errors == {ErrorCategory.FORBIDDEN: 2, ErrorCategory.TOOL_FAILED: 1}
    assert target.error_count == 3
    assert target.error_rate == pytest.approx(0.6)


async def test_targets_kinds_and_actions_are_kept_apart() -> None:
    """Each kind, target and action has its own statistics."""
    clock = FakeClock()
    stats = StatsInterceptor(clock=clock)
    pipeline = with_stats(FakeHandler(["ok"]), clock, stats)
    await pipeline.invoke("a")
    await pipeline.invoke("a", kind=Kind.RAG)
    await pipeline.invoke("notes", kind=Kind.PLUGIN, action="add")
    await pipeline.invoke("notes", kind=Kind.PLUGIN, action="add")
    snapshot = stats.snapshot()
    assert snapshot.calls == 4
    assert snapshot.get("a").calls == 1
    assert snapshot.get("a", kind=Kind.RAG).calls == 1
    assert snapshot.get("notes", kind=Kind.PLUGIN, action="add").calls == 2


async def test_elapsed_time_is_measured_on_the_injected_clock() -> None:
    """Latency comes from the clock given, covering everything below the interceptor."""
    clock = FakeClock()
    stats = StatsInterceptor(clock=clock)
    pipeline = with_stats(sleeping_registry(clock), clock, stats)
    await run_timed(pipeline, clock, 0.3)
    await run_timed(pipeline, clock, 0.1)
    target = stats.snapshot().get("work")
    assert target.total_seconds == pytest.approx(0.4)
    assert target.max_seconds == pytest.approx(0.3)
    assert target.mean_seconds == pytest.approx(0.2)


async def test_cancelled_call_is_counted_and_the_cancellation_propagates() -> None:
    """A cancelled call is recorded as 'cancelled' with its time, then re-raised."""
    clock = FakeClock()
    stats = StatsInterceptor(clock=clock)
    pipeline = with_stats(FakeHandler(["late"], delay=5.0, clock=clock), clock, stats)
    task = asyncio.create_task(pipeline.invoke("slow"))
    await clock.advance(2.0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    target = stats.snapshot().get("slow")
    assert target.calls == 1
    assert target.errors == {ErrorCategory.CANCELLED: 1}
    assert target.max_seconds == 2.0


async def test_crash_below_is_counted_as_internal() -> None:
    """An interceptor below that raises is counted as an internal error."""
    clock = FakeClock()
    stats = StatsInterceptor(clock=clock)

    async def crasher(request: RequestContext, call_next: CallNext) -> ResponseContext:
        raise RuntimeError("bug")

    handler = FakeHandler(["ok"])
    pipeline = PipelineBuilder(clock=clock).use(stats).use(crasher).route(handler).build()
    response = await pipeline.invoke("search")
    assert response.error is not None
    assert response.error.category is ErrorCategory.INTERNAL
    assert stats.snapshot().get("search").errors == {ErrorCategory.INTERNAL: 1}
    assert handler.call_count == 0


async def test_not_found_is_counted_under_one_unknown_target() -> None:
    """Invented names share one UNKNOWN_TARGET entry; they never become targets."""
    clock = FakeClock()
    stats = StatsInterceptor(clock=clock)
    registry = sleeping_registry(clock)
    registry.plugin(Notes)
    pipeline = with_stats(registry, clock, stats)
    await pipeline.invoke("made_up_1")
    await pipeline.invoke("made_up_2")
    await pipeline.invoke("notes", kind=Kind.PLUGIN, action="nope")
    await pipeline.invoke("work")
    snapshot = stats.snapshot()
    names = {(s.key.kind, s.key.target, s.key.action) for s in snapshot.targets}
    assert names == {
        (Kind.TOOL, UNKNOWN_TARGET, None),
        (Kind.PLUGIN, UNKNOWN_TARGET, None),
        (Kind.TOOL, "work", None),
    }
    unknown = snapshot.get(UNKNOWN_TARGET)
    assert (unknown.calls, unknown.errors) == (2, {ErrorCategory.NOT_FOUND: 2})


async def test_a_handlers_own_not_found_stays_with_its_target() -> None:
    """A handler reporting a missing document is counted under its own name, not as unknown."""
    clock = FakeClock()
    stats = StatsInterceptor(clock=clock)
    registry = LocalRegistry()

    @registry.tool
    def fetch(doc_id: int) -> str:
        raise NotFoundError(f"document {doc_id} does not exist")

    await with_stats(registry, clock, stats).invoke("fetch", {"doc_id": 42})
    snapshot = stats.snapshot()
    assert [s.key.target for s in snapshot.targets] == ["fetch"]
    assert snapshot.get("fetch").errors == {ErrorCategory.NOT_FOUND: 1}


async def test_a_single_call_reports_its_own_latency_as_every_percentile() -> None:
    """With one 0.2 s call, p50 and p99 are 0.2 s, not a point inside the 0.1-0.5 s bucket."""
    clock = FakeClock()
    stats = StatsInterceptor(recorder=StatsRecorder(buckets=(0.1, 0.5, 1.0)), clock=clock)
    pipeline = with_stats(sleeping_registry(clock), clock, stats)
    await run_timed(pipeline, clock, 0.2)
    work = stats.snapshot().get("work")
    assert work.min_seconds == pytest.approx(0.2)
    assert work.percentile(0.5) == pytest.approx(0.2)
    assert work.percentile(0.99) == pytest.approx(0.2)


async def test_percentiles_fall_within_the_right_bucket() -> None:
    """p50/p90/p100 estimates lie inside the buckets that hold the true values."""
    clock = FakeClock()
    stats = StatsInterceptor(recorder=StatsRecorder(buckets=(0.1, 0.2, 0.5, 1.0)), clock=clock)
    pipeline = with_stats(sleeping_registry(clock), clock, stats)
    for seconds in [0.05] * 5 + [0.15] * 4 + [0.7]:
        assert (await run_timed(pipeline, clock, seconds)).ok
    target = stats.snapshot().get("work")
    assert target.bucket_counts == (5, 4, 0, 1, 0)
    assert 0.0 <= target.percentile(0.5) <= 0.1
    assert 0.1 < target.percentile(0.9) <= 0.2
    assert target.percentile(1.0) == pytest.approx(0.7)  # capped at the real maximum


async def test_shared_recorder_collects_from_several_pipelines() -> None:
    """recorder= lets several interceptors feed one set of statistics."""
    clock = FakeClock()
    recorder = StatsRecorder()
    first = with_stats(FakeHandler(["ok"]), clock, StatsInterceptor(recorder=recorder))
    second = with_stats(FakeHandler(["ok"]), clock, StatsInterceptor(recorder=recorder))
    await first.invoke("x")
    await second.invoke("x")
    assert recorder.snapshot().get("x").calls == 2


def test_each_interceptor_gets_its_own_recorder_by_default() -> None:
    """Without recorder= interceptors do not share statistics."""
    assert StatsInterceptor().recorder is not StatsInterceptor().recorder


async def test_reset_clears_and_snapshot_is_a_copy() -> None:
    """reset() forgets everything; a snapshot taken before keeps its numbers."""
    clock = FakeClock()
    stats = StatsInterceptor(clock=clock)
    pipeline = with_stats(FakeHandler(["ok"]), clock, stats)
    await pipeline.invoke("x")
    before = stats.snapshot()
    stats.reset()
    assert stats.snapshot().targets == ()
    assert before.get("x").calls == 1


async def test_a_typed_error_raised_below_keeps_its_category() -> None:
    """An interceptor raising ForbiddenError is counted as forbidden, like the response says."""
    clock = FakeClock()
    stats = StatsInterceptor(clock=clock)

    async def refuse(request: RequestContext, call_next: CallNext) -> ResponseContext:
        raise ForbiddenError("not for you")

    pipeline = PipelineBuilder(clock=clock).use(stats).use(refuse).route(FakeHandler()).build()
    response = await pipeline.invoke("search")
    assert response.error is not None
    assert response.error.category is ErrorCategory.FORBIDDEN
    assert stats.snapshot().get("search").errors == {ErrorCategory.FORBIDDEN: 1}


def timeout_error(*, started: bool | None) -> CallTimeoutError:
    error = CallTimeoutError("late", limit=1.0)
    if started is not None:
        error.started = started  # type: ignore[attr-defined]
    return error


async def test_timeouts_that_never_started_are_counted_apart() -> None:
    """A timeout with started=False counts in not_started too, returned or raised."""
    clock = FakeClock()
    stats = StatsInterceptor(clock=clock)
    never = timeout_error(started=False)
    handler = FakeHandler(
        ["ok", never, timeout_error(started=True), timeout_error(started=None), never]
    )
    pipeline = with_stats(handler, clock, stats)
    for _ in range(4):
        await pipeline.invoke("search")

    async def raising(request: RequestContext, call_next: CallNext) -> ResponseContext:
        raise timeout_error(started=False)

    raised = PipelineBuilder(clock=clock).use(stats).use(raising).route(handler).build()
    await raised.invoke("search")
    target = stats.snapshot().get("search")
    assert target.errors == {ErrorCategory.TIMEOUT: 4}
    assert target.not_started == 2


async def test_without_a_clock_it_adopts_the_pipelines_and_keeps_it() -> None:
    """Unbound, it takes its pipeline's clock at build(); another clock later is refused."""
    stats = StatsInterceptor()
    assert stats.clock is None
    clock = FakeClock()
    task = asyncio.create_task(
        with_stats(FakeHandler(["ok"], delay=2.0, clock=clock), clock, stats).invoke("later")
    )
    await clock.advance(2.0)
    await task
    assert stats.clock is clock
    assert stats.snapshot().get("later").total_seconds == 2.0
    stats.bind_clock(clock)  # the same clock again is fine
    with pytest.raises(ValueError, match="one clock"):
        PipelineBuilder().use(stats).route(FakeHandler(["ok"])).build()


def test_bind_clock_accepts_the_clock_it_was_given() -> None:
    """An explicit clock that is the pipeline's clock is fine."""
    clock = FakeClock()
    stats = StatsInterceptor(clock=clock)
    stats.bind_clock(clock)
    assert stats.clock is clock


def test_bind_clock_refuses_a_different_explicit_clock() -> None:
    """Two clocks for one pipeline: refused, naming both and the fix."""
    mine, theirs = FakeClock(), FakeClock()
    stats = StatsInterceptor(clock=mine)
    with pytest.raises(ValueError, match="StatsInterceptor was given clock=") as caught:
        stats.bind_clock(theirs)
    message = str(caught.value)
    assert repr(mine) in message
    assert repr(theirs) in message
    assert "pass the same clock to PipelineBuilder(clock=...) and StatsInterceptor" in message
    assert "or leave the interceptor's clock unset" in message
    assert stats.clock is mine


def test_bind_clock_refuses_a_second_pipelines_different_clock() -> None:
    """An interceptor bound to one pipeline's clock cannot be bound to another clock."""
    stats = StatsInterceptor()
    first, second = FakeClock(), FakeClock()
    stats.bind_clock(first)
    with pytest.raises(ValueError, match="already times calls on"):
        stats.bind_clock(second)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"clock": object()}, "clock must be a toolware Clock or None, got object"),
        ({"recorder": object()}, "recorder must be a StatsRecorder, got object"),
    ],
)
def test_bad_options_are_refused(options: dict[str, object], message: str) -> None:
    """clock and recorder are type-checked at construction."""
    with pytest.raises(TypeError) as caught:
        StatsInterceptor(**options)  # type: ignore[arg-type]
    assert str(caught.value) == message


def test_it_is_named_stats() -> None:
    assert StatsInterceptor().name == "stats"


async def test_used_on_its_own_it_times_calls_on_the_system_clock() -> None:
    """Outside a pipeline (no clock bound) a call is still recorded."""
    stats = StatsInterceptor()

    async def answer(request: RequestContext) -> ResponseContext:
        return ResponseContext.success("ok")

    response = await stats(RequestContext.create("alone"), answer)
    assert response.value == "ok"
    alone = stats.snapshot().get("alone")
    assert (alone.calls, alone.errors) == (1, {})
    assert 0.0 <= alone.total_seconds < 60.0


class GatewayTimeout(ToolwareError):
    """A timeout of the caller's own, without CallTimeoutError's ``started``."""

    category = ErrorCategory.TIMEOUT


async def test_not_started_counts_only_timeouts_that_say_so() -> None:
    """started=False counts; started=True and timeouts without ``started`` do not."""
    clock = FakeClock()
    stats = StatsInterceptor(clock=clock)
    never = timeout_error(started=False)
    handler = FakeHandler([never, never, never, timeout_error(started=True), GatewayTimeout("x")])
    pipeline = with_stats(handler, clock, stats)
    for _ in range(5):
        response = await pipeline.invoke("search")
        assert response.error is not None
        assert response.error.category is ErrorCategory.TIMEOUT
    target = stats.snapshot().get("search")
    assert target.errors == {ErrorCategory.TIMEOUT: 5}
    assert target.not_started == 3


def failing_below(clock: FakeClock, error: Exception) -> Callable[..., Any]:
    async def fail(request: RequestContext, call_next: CallNext) -> ResponseContext:
        await clock.sleep(2.0)
        raise error

    return fail


@pytest.mark.parametrize(
    ("error", "category"),
    [
        (ForbiddenError("not for you"), ErrorCategory.FORBIDDEN),
        (RuntimeError("bug"), ErrorCategory.INTERNAL),
    ],
)
async def test_a_raise_below_is_timed_and_kept_with_its_action(
    error: Exception, category: ErrorCategory
) -> None:
    """Raised or crashed below: the time until then, under the call's kind, target, action."""
    clock = FakeClock()
    stats = StatsInterceptor(clock=clock)
    pipeline = (
        PipelineBuilder(clock=clock)
        .use(stats)
        .use(failing_below(clock, error))
        .route(FakeHandler())
        .build()
    )
    task = asyncio.create_task(pipeline.invoke("notes", kind=Kind.PLUGIN, action="add"))
    await clock.advance(2.0)
    response = await task
    assert response.error is not None
    assert response.error.category is category
    notes = stats.snapshot().get("notes", kind=Kind.PLUGIN, action="add")
    assert notes.errors == {category: 1}
    assert notes.total_seconds == 2.0


async def test_a_returned_error_is_kept_with_its_action() -> None:
    clock = FakeClock()
    stats = StatsInterceptor(clock=clock)
    pipeline = with_stats(FakeHandler([ForbiddenError("no")]), clock, stats)
    await pipeline.invoke("notes", kind=Kind.PLUGIN, action="add")
    notes = stats.snapshot().get("notes", kind=Kind.PLUGIN, action="add")
    assert notes.errors == {ErrorCategory.FORBIDDEN: 1}
