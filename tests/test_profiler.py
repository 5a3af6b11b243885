"""Tests for toolware.profiler: per-stage self time over N calls, live mode, the report."""

import asyncio
import os
from typing import Any

import pytest

from toolware.builder import PipelineBuilder
from toolware.context import Kind, RequestContext, ResponseContext
from toolware.errors import ToolFailedError
from toolware.pipeline import Pipeline
from toolware.profiler import Profiler, ProfileReport, ProfileRow, profile
from toolware.registry.local import LocalRegistry
from toolware.streams import ResponseStream
from toolware.testing import FakeClock, FakeHandler
from toolware.types import CallNext

# Under mutmut (MUTANT_UNDER_TEST set) the profiler's wrapper runs through mutmut's trampoline,
# whose frames are not the code the pipeline attributes crashes by: the attribution of a crash
# inside a profiled stage is pinned in `make test` only.
INSTRUMENTED = bool(os.environ.get("MUTANT_UNDER_TEST"))


def spending(clock: FakeClock, seconds: float, name: str) -> Any:
    """An interceptor that spends ``seconds`` of fake time before call_next (advanced at once)."""

    async def stage(request: RequestContext, call_next: CallNext) -> ResponseContext:
        clock.advance_now(seconds)
        return await call_next(request)

    stage.__name__ = name
    return stage


class Spend:
    """A handler that spends ``seconds`` of fake time and answers ``value``."""

    def __init__(self, clock: FakeClock, seconds: float, value: Any = "v") -> None:
        self.clock, self.seconds, self.value = clock, seconds, value

    async def __call__(self, request: RequestContext) -> ResponseContext:
        self.clock.advance_now(self.seconds)
        if isinstance(self.value, Exception):
            return ResponseContext.failure(self.value)
        return ResponseContext.success(self.value)


def pipeline_of(clock: FakeClock, terminal: Any, **when: Any) -> Pipeline:
    return (
        PipelineBuilder(clock=clock)
        .use(spending(clock, 0.001, "outer"))
        .use(spending(clock, 0.003, "inner"), **when)
        .route(terminal)
        .build()
    )


async def test_profile_reports_exact_self_time_per_stage() -> None:
    """Rows outermost first then the terminal; self, mean and share from the fake clock."""
    clock = FakeClock()
    report = await profile(pipeline_of(clock, Spend(clock, 0.006)), "t", {"a": 1}, calls=4)
    assert report.calls == 4
    assert report.failures == 0
    assert report.total_us == pytest.approx(40_000.0)
    assert [(r.stage, r.calls) for r in report.rows] == [("outer", 4), ("inner", 4), ("Spend", 4)]
    assert [r.total_self_us for r in report.rows] == pytest.approx([4000.0, 12000.0, 24000.0])
    assert [r.mean_self_us for r in report.rows] == pytest.approx([1000.0, 3000.0, 6000.0])
    assert [r.share_pct for r in report.rows] == pytest.approx([10.0, 30.0, 60.0])


async def test_a_skipped_stage_is_not_counted() -> None:
    """A stage whose when= does not match gets no call and no time."""
    clock = FakeClock()
    pipeline = pipeline_of(clock, Spend(clock, 0.002), when={Kind.RAG})
    report = await profile(pipeline, "t", calls=2)
    assert [(r.stage, r.calls) for r in report.rows] == [("outer", 2), ("inner", 0), ("Spend", 2)]
    assert report.rows[1].mean_self_us == 0.0
    assert report.rows[1].share_pct == 0.0


async def test_failures_are_counted() -> None:
    """Failed calls are profiled and counted as failures."""
    clock = FakeClock()
    pipeline = pipeline_of(clock, Spend(clock, 0.0, ToolFailedError("no")))
    report = await profile(pipeline, "t", calls=3)
    assert report.failures == 3
    assert report.rows[2].share_pct == 0.0


async def test_streams_are_read_to_the_end_and_failed_streams_counted() -> None:
    """A streamed answer is drained; one that fails part way is a failure."""
    clock = FakeClock()
    read: list[int] = []

    def chunks(fail: bool) -> Any:
        yield 1
        read.append(1)
        if fail:
            raise ToolFailedError("mid-stream")

    async def streaming(request: RequestContext) -> ResponseContext:
        return ResponseContext(stream=ResponseStream.of(chunks(request.target == "bad")))

    pipeline = PipelineBuilder(clock=clock).route(streaming).build()
    good = await profile(pipeline, "good", calls=2)
    bad = await profile(pipeline, "bad", calls=2)
    assert (good.failures, bad.failures, len(read)) == (0, 2, 4)
    assert [r.stage for r in good.rows] == [good.rows[0].stage]
    assert good.rows[0].stage.endswith("streaming")


async def test_the_original_pipeline_is_untouched() -> None:
    """Profiling makes a copy; the original keeps its stages and terminal."""
    clock = FakeClock()
    pipeline = pipeline_of(clock, Spend(clock, 0.0))
    stages, entry = pipeline.stages, pipeline._entry
    with Profiler().attach(pipeline) as profiled:
        assert profiled is not pipeline
        assert profiled.terminal is pipeline.terminal
        assert profiled.name == pipeline.name
        assert profiled.clock is clock
    assert pipeline.stages is stages
    assert pipeline._entry is entry


async def test_live_mode_records_only_while_attached() -> None:
    """report() reads the figures at any moment; after the block the copy records nothing."""
    clock = FakeClock()
    profiler = Profiler()
    with profiler.attach(pipeline_of(clock, Spend(clock, 0.002))) as profiled:
        await profiled.invoke("t")
        assert profiler.report().calls == 1
        await asyncio.gather(profiled.invoke("t"), profiled.invoke("t"))
    await profiled.invoke("t")
    report = profiler.report()
    assert report.calls == 3
    assert [r.calls for r in report.rows] == [3, 3, 3]
    assert report.rows[0].total_self_us == pytest.approx(3000.0)


async def test_a_crash_still_records_and_is_attributed() -> None:
    """A stage that raises is timed, and the crash still names the stage."""
    clock = FakeClock()

    async def broken(request: RequestContext, call_next: CallNext) -> ResponseContext:
        clock.advance_now(0.002)
        raise KeyError("x")

    pipeline = PipelineBuilder(clock=clock).use(broken).route(FakeHandler()).build()
    profiler = Profiler()
    with profiler.attach(pipeline) as profiled:
        response = await profiled.invoke("t")
    assert response.error is not None
    if not INSTRUMENTED:
        assert response.error.interceptor == "broken"  # type: ignore[attr-defined]
    assert profiler.report().rows[0].total_self_us == pytest.approx(2000.0)


async def test_profile_through_a_registry_keeps_entry_resolution() -> None:
    """The copy still resolves request.entry for its stages."""
    registry = LocalRegistry()
    seen: list[bool] = []

    @registry.tool(idempotent=True)
    async def echo(text: str) -> str:
        return text

    async def look(request: RequestContext, call_next: CallNext) -> ResponseContext:
        seen.append(request.entry is not None and request.entry.idempotent)
        return await call_next(request)

    pipeline = PipelineBuilder().use(look).route(registry).build()
    report = await profile(pipeline, "echo", {"text": "x"}, calls=2)
    assert seen == [True, True]
    assert report.failures == 0
    assert [r.stage for r in report.rows] == ["look", "router"]


def test_table_and_dict() -> None:
    """table() aligns the rows; to_dict() gives plain data."""
    report = ProfileReport(
        rows=(ProfileRow("timeout", 2, 10.0, 5.0, 25.0), ProfileRow("h", 2, 30.0, 15.0, 75.0)),
        calls=2,
        total_us=40.0,
    )
    assert report.table().splitlines() == [
        "stage       calls       self µs     mean µs   share",
        "timeout         2          10.0        5.00   25.0%",
        "h               2          30.0       15.00   75.0%",
        "2 calls, 40.0 µs in the stages and terminal",
    ]
    assert report.to_dict()["rows"][0] == {
        "stage": "timeout",
        "calls": 2,
        "total_self_us": 10.0,
        "mean_self_us": 5.0,
        "share_pct": 25.0,
    }


async def test_bad_arguments_are_refused() -> None:
    """calls= is an int >= 1; a Profiler takes one built Pipeline."""
    clock = FakeClock()
    pipeline = pipeline_of(clock, Spend(clock, 0.0))
    for calls, error in ((0, ValueError), (True, TypeError), (2.0, TypeError)):
        with pytest.raises(error, match="calls="):
            await profile(pipeline, "t", calls=calls)  # type: ignore[arg-type]
    assert (await profile(pipeline, "t", calls=1)).calls == 1
    with pytest.raises(TypeError, match="needs a built toolware Pipeline, got str"):
        Profiler().instrument("p")  # type: ignore[arg-type]
    profiler = Profiler()
    profiler.instrument(pipeline)
    with pytest.raises(ValueError, match="one Profiler per pipeline"):
        profiler.instrument(pipeline)


async def test_overlapping_call_next_counts_once() -> None:
    """Two call_next running at once (a hedge) count as the wall time either one ran."""
    clock = FakeClock()

    async def hedge(request: RequestContext, call_next: CallNext) -> ResponseContext:
        first = asyncio.ensure_future(call_next(request))
        await clock.sleep(1.0)
        second = asyncio.ensure_future(call_next(request))
        await asyncio.gather(first, second)
        return first.result()

    pipeline = PipelineBuilder(clock=clock).use(hedge).route(FakeHandler(delay=2.0, clock=clock))
    profiler = Profiler()
    with profiler.attach(pipeline.build()) as profiled:
        task = asyncio.ensure_future(profiled.invoke("t"))
        await clock.advance(10)
        await task
    report = profiler.report()
    assert report.rows[0].total_self_us == 0.0
    assert report.rows[1].calls == 2
    assert report.total_us == pytest.approx(3_000_000.0)
