"""Tests for toolware.trends: the recorder's rings, percentiles, and the interceptor."""

import asyncio
import logging
import math
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest

from toolware import LocalRegistry, Pipeline, PipelineBuilder, RequestContext, ResponseContext
from toolware.errors import ConcurrencyLimitedError, RateLimitedError, ToolFailedError
from toolware.interceptors.stats import UNKNOWN_TARGET
from toolware.stats import OVERFLOW_TARGET
from toolware.testing import FakeClock
from toolware.trends import TrendHistory, TrendPoint, TrendRecorder, TrendsInterceptor
from toolware.types import CallNext


def app(clock: FakeClock, recorder: TrendRecorder) -> tuple[Pipeline, LocalRegistry]:
    """A pipeline with a TrendsInterceptor in front of a registry of timed tools."""
    registry = LocalRegistry()

    @registry.tool
    async def work(seconds: float = 0.0) -> str:
        await clock.sleep(seconds)
        return "ok"

    @registry.tool
    async def broken(kind: str = "fail") -> str:
        raise ToolFailedError("boom")

    async def limiter(request: RequestContext, call_next: CallNext) -> ResponseContext:
        """Stands in for the rate and concurrency limiters: refuses on request."""
        kind = request.arguments.get("kind")
        if kind == "rate":
            return ResponseContext.failure(RateLimitedError("slow down", retry_after=1.0))
        if kind == "busy":
            return ResponseContext.failure(
                ConcurrencyLimitedError("full", limit=1, in_flight=1, waiting=0, max_waiting=0)
            )
        return await call_next(request)

    @registry.tool
    async def feed(n: int = 2, fail: bool = False) -> AsyncIterator[int]:
        for i in range(n):
            await clock.sleep(1.0)
            yield i
        if fail:
            raise RuntimeError("feed lost")

    pipeline = (
        PipelineBuilder(clock=clock)
        .use(TrendsInterceptor(recorder=recorder))
        .use(limiter)
        .route(registry)
        .build()
    )
    return pipeline, registry


def test_bad_options_are_refused_with_the_value() -> None:
    """Every option is validated at construction, naming itself and the bad value."""
    for option in ("horizon_seconds", "horizon_minutes", "max_targets"):
        for bad in (0, -1, 1.5, True):
            with pytest.raises(ValueError, match=f"{option} must be a positive integer, got"):
                TrendRecorder(**{option: bad})
    for buckets in ((), (0.2, 0.1), (0.1, 0.1), (0.0, 1.0), (math.nan,), (True,), "abc", 5):
        with pytest.raises(ValueError, match="buckets must be increasing positive finite"):
            TrendRecorder(buckets=buckets)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="clock must implement"):
        TrendRecorder(clock=object())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="recorder must be a TrendRecorder, got dict"):
        TrendsInterceptor(recorder={})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="clock must implement"):
        TrendsInterceptor(clock=3)  # type: ignore[arg-type]


def test_percentiles_of_known_inputs_are_exact() -> None:
    """Ten calls of 1..10 ms in buckets of 2 ms interpolate to exact p50, p95, p99."""
    clock = FakeClock(start=100.0)
    recorder = TrendRecorder(buckets=(0.002, 0.004, 0.006, 0.008, 0.010), clock=clock)
    for ms in range(1, 11):
        recorder.record("t", ms / 1000)
    (point,) = recorder.series("t", last=1)
    assert point == TrendPoint(
        time=100.0,
        calls=10,
        errors=0,
        refused=0,
        p50=pytest.approx(0.005),  # type: ignore[arg-type]
        p95=pytest.approx(0.0095),  # type: ignore[arg-type]
        p99=pytest.approx(0.0099),  # type: ignore[arg-type]
        peak_in_flight=0,
    )


def test_overflow_bucket_and_single_call_are_clamped_to_what_was_seen() -> None:
    """A call beyond the last bound reports its own latency; one call reports itself."""
    clock = FakeClock(start=0.0)
    recorder = TrendRecorder(buckets=(0.1, 1.0), clock=clock)
    recorder.record("t", 5.0)
    recorder.record("u", 0.5)
    assert recorder.series("t", last=1)[0].p50 == 5.0
    assert recorder.series("u", last=1)[0].p99 == 0.5


def test_series_rolls_over_exactly_at_the_horizon() -> None:
    """With a 3 s horizon the fourth second reuses the first slot; minutes keep everything."""
    clock = FakeClock(start=10.0)
    recorder = TrendRecorder(horizon_seconds=3, horizon_minutes=2, clock=clock)
    for calls in (1, 2, 3, 4):
        for _ in range(calls):
            recorder.record("t", 0.001, error=calls == 2)
        clock.advance_now(1.0)
    seconds = recorder.series("t")
    assert [(p.time, p.calls) for p in seconds] == [(12.0, 3), (13.0, 4), (14.0, 0)]
    assert recorder.series("t", last=2)[0].time == 13.0
    minutes = recorder.series("t", "minute")
    assert [(p.time, p.calls, p.errors) for p in minutes] == [(0.0, 10, 2)]
    clock.advance_now(60.0)
    assert [(p.time, p.calls) for p in recorder.series("t", "minute")] == [(0.0, 10), (60.0, 0)]
    clock.advance_now(60.0)  # the minute horizon is 2: minute 0 has gone
    assert [(p.time, p.calls) for p in recorder.series("t", "minute")] == [(60.0, 0), (120.0, 0)]


def test_a_slot_reused_after_the_horizon_starts_from_zero() -> None:
    """Coming round to a slot, the ring forgets the interval it held before."""
    clock = FakeClock(start=0.0)
    recorder = TrendRecorder(horizon_seconds=2, clock=clock)
    recorder.record("t", 9.0, error=True, refused=True)
    clock.advance_now(2.0)
    recorder.record("t", 0.001)
    point = recorder.series("t", last=1)[0]
    assert (point.time, point.calls, point.errors, point.refused) == (2.0, 1, 0, 0)
    assert point.p99 == 0.001


def test_series_arguments_are_checked() -> None:
    """Unknown targets, resolutions and a ``last`` beyond the horizon are refused."""
    recorder = TrendRecorder(horizon_seconds=5, horizon_minutes=2, clock=FakeClock())
    recorder.record("t", 0.1)
    with pytest.raises(KeyError, match="no trends for 'x'; recorded: 't'"):
        recorder.series("x")
    with pytest.raises(ValueError, match="resolution must be 'second' or 'minute', got 'hour'"):
        recorder.series("t", "hour")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="last=6 is beyond the second horizon of 5"):
        recorder.series("t", last=6)
    with pytest.raises(ValueError, match="last=3 is beyond the minute horizon of 2"):
        recorder.series("t", "minute", last=3)
    with pytest.raises(ValueError, match="last must be a positive integer, got 0"):
        recorder.series("t", last=0)
    assert len(recorder.series("t", last=5)) == 1  # nothing before the first call


def test_targets_are_capped_into_the_overflow_series(caplog: pytest.LogCaptureFixture) -> None:
    """Past ``max_targets`` calls go to OVERFLOW_TARGET, logged once."""
    recorder = TrendRecorder(max_targets=2, clock=FakeClock())
    with caplog.at_level(logging.WARNING, logger="toolware.trends"):
        for name in ("a", "b", "c", "d", "a"):
            recorder.record(name, 0.1)
    assert recorder.targets() == (OVERFLOW_TARGET, "a", "b")
    assert recorder.series(OVERFLOW_TARGET)[-1].calls == 2
    assert recorder.series("a")[-1].calls == 2
    assert [r.getMessage() for r in caplog.records] == ["trends.targets_capped max_targets=2"]


def test_window_merges_complete_seconds_of_all_targets() -> None:
    """A window is the complete seconds before now; ``None`` merges every target."""
    clock = FakeClock(start=0.0)
    recorder = TrendRecorder(horizon_seconds=10, buckets=(1.0, 2.0), clock=clock)
    recorder.record("a", 0.5, error=True)
    clock.advance_now(1.0)
    recorder.record("b", 1.5, refused=True)
    recorder.record("a", 0.5)
    clock.advance_now(1.0)
    recorder.record("a", 0.5)  # the current second: not in the window
    both = recorder.window(None, 2, fraction=1.0)
    assert (both.end, both.seconds, both.calls, both.errors, both.refused) == (2.0, 2, 3, 1, 1)
    assert (both.latency, both.error_rate, both.rate) == (1.5, 1 / 3, 1.5)
    one = recorder.window("a", 1, fraction=0.5)
    assert (one.calls, one.latency) == (1, 0.5)
    empty = recorder.window("nobody", 2)
    assert (empty.calls, empty.latency, empty.error_rate, empty.rate) == (0, None, None, 0.0)


def test_long_windows_read_the_minute_ring() -> None:
    """A window beyond the second horizon counts whole minutes."""
    clock = FakeClock(start=0.0)
    recorder = TrendRecorder(horizon_seconds=10, horizon_minutes=5, clock=clock)
    recorder.record("a", 0.1)
    clock.advance_now(61.0)
    recorder.record("a", 0.1)
    clock.advance_now(60.0)
    stats = recorder.window("a", 90)  # two complete minutes before minute 2
    assert (stats.end, stats.seconds, stats.calls) == (120.0, 120.0, 2)


async def test_interceptor_records_calls_errors_refusals_and_in_flight() -> None:
    """Through a real pipeline: durations, errors, refusals and the peak in flight."""
    clock = FakeClock(start=0.0)
    recorder = TrendRecorder(buckets=(0.5, 1.0, 2.0), clock=clock)
    pipeline, _ = app(clock, recorder)
    tasks = [asyncio.create_task(pipeline.invoke("work", {"seconds": 0.5})) for _ in range(3)]
    await clock.advance(0.5)
    assert all(t.result().ok for t in tasks)
    for kind in ("fail", "rate", "busy"):
        await pipeline.invoke("broken", {"kind": kind})
    work = recorder.series("work", last=1)[0]
    assert (work.calls, work.errors, work.p99, work.peak_in_flight) == (3, 0, 0.5, 3)
    broken = recorder.series("broken", last=1)[0]
    assert (broken.calls, broken.errors, broken.refused) == (3, 3, 2)


async def test_unknown_targets_are_counted_under_one_name() -> None:
    """An invented name leaves no series of its own."""
    clock = FakeClock(start=0.0)
    recorder = TrendRecorder(clock=clock)
    pipeline, _ = app(clock, recorder)
    await pipeline.invoke("invented", {})
    assert recorder.targets() == (UNKNOWN_TARGET,)
    assert recorder.series(UNKNOWN_TARGET)[-1].errors == 1


async def test_streams_are_recorded_when_they_end() -> None:
    """A streamed call counts at its end, with the whole duration, failed or not."""
    clock = FakeClock(start=0.0)
    recorder = TrendRecorder(buckets=(1.0, 2.0, 4.0), clock=clock)
    pipeline, _ = app(clock, recorder)

    async def drain(fail: bool) -> None:
        response = await pipeline.invoke("feed", {"n": 2, "fail": fail})
        assert response.stream is not None
        async with response.stream as chunks:
            async for _ in chunks:
                pass

    await _finish(clock, drain(False))
    with pytest.raises(Exception, match="feed lost"):
        await _finish(clock, drain(True))
    points = [p for p in recorder.series("feed") if p.calls]
    assert [(p.time, p.calls, p.errors, p.p50) for p in points] == [
        (2.0, 1, 0, 2.0),
        (4.0, 1, 1, 2.0),
    ]


async def test_cancelled_calls_are_errors_and_leave_flight() -> None:
    """A call cancelled below the interceptor is recorded as an error."""
    clock = FakeClock(start=0.0)
    recorder = TrendRecorder(clock=clock)
    pipeline, _ = app(clock, recorder)
    task = asyncio.create_task(pipeline.invoke("work", {"seconds": 5.0}))
    await clock.advance(1.0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert [(p.calls, p.errors) for p in recorder.series("work") if p.calls] == [(1, 1)]
    recorder.begin("work")
    clock.advance_now(1.0)
    recorder.end("work", 0.1)
    assert recorder.series("work", last=1)[0].peak_in_flight == 1


async def _finish(clock: FakeClock, work: Any) -> None:
    task = asyncio.create_task(work)
    while not task.done():
        await clock.advance(1.0)
    await task


def test_clocks_are_bound_once() -> None:
    """The interceptor binds its clock to the recorder, which refuses a second one."""
    clock, other = FakeClock(), FakeClock()
    recorder = TrendRecorder()
    interceptor = TrendsInterceptor(recorder=recorder, clock=clock)
    assert recorder.clock is clock
    interceptor.bind_clock(clock)
    with pytest.raises(ValueError, match="TrendRecorder keeps time on"):
        interceptor.bind_clock(other)
    with pytest.raises(ValueError, match="TrendRecorder keeps time on"):
        TrendsInterceptor(recorder=recorder, clock=other)
    assert TrendsInterceptor(clock=clock).recorder.clock is clock
    assert TrendsInterceptor().name == "trends"


def test_forget_without_a_series_is_harmless() -> None:
    """Forgetting a name never begun does nothing; a recorded target is kept."""
    recorder = TrendRecorder(clock=FakeClock())
    recorder.forget("x")
    recorder.end("z", 0.1)  # never begun: nothing goes below zero in flight
    recorder.begin("z")
    assert recorder.series("z", last=1)[0].peak_in_flight == 1
    recorder.record("w", 0.1)
    recorder.forget("w")  # recorded, none in flight: kept
    recorder.begin("y")
    recorder.record("y", 0.1)
    recorder.forget("y")
    assert recorder.targets() == ("w", "y", "z")


def test_history_round_trips_through_json() -> None:
    """history() holds every target's series and survives msgspec JSON."""
    clock = FakeClock(start=0.0)
    recorder = TrendRecorder(horizon_seconds=3, horizon_minutes=1, clock=clock)
    recorder.record("t", 0.1)
    history = recorder.history()
    assert history.at == 0.0
    assert [(t.target, len(t.seconds), len(t.minutes)) for t in history.targets] == [("t", 1, 1)]
    assert msgspec.json.decode(msgspec.json.encode(history), type=TrendHistory) == history
