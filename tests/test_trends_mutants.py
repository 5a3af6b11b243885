"""Boundaries of the trend recorder, its rings and its interceptor, pinned by exact values."""

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest

from toolware import LocalRegistry, PipelineBuilder, RequestContext, ResponseContext
from toolware.errors import RateLimitedError
from toolware.interceptors.stats import UNKNOWN_TARGET
from toolware.stats import OVERFLOW_TARGET
from toolware.testing import FakeClock
from toolware.trends import TrendPoint, TrendRecorder, TrendsInterceptor
from toolware.types import CallNext


def empty(time: float) -> TrendPoint:
    return TrendPoint(
        time=time, calls=0, errors=0, refused=0, p50=0.0, p95=0.0, p99=0.0, peak_in_flight=0
    )


def test_defaults() -> None:
    """600 seconds, 120 minutes and 100 targets unless told otherwise."""
    recorder = TrendRecorder()
    assert (recorder.horizon_seconds, recorder.horizon_minutes, recorder.max_targets) == (
        600,
        120,
        100,
    )


def test_a_second_clock_is_refused_with_the_fix() -> None:
    """The refusal says what to do."""
    recorder = TrendRecorder(clock=FakeClock())
    with pytest.raises(
        ValueError, match=r"give the recorder, its interceptors and their pipelines the same clock$"
    ):
        recorder.bind_clock(FakeClock())
    with pytest.raises(
        TypeError, match=r"got int; create one with TrendRecorder\(horizon_seconds=\.\.\."
    ):
        TrendsInterceptor(recorder=1)  # type: ignore[arg-type]


def test_capped_log_carries_the_limit(caplog: pytest.LogCaptureFixture) -> None:
    """trends.targets_capped has max_targets in its extra fields."""
    recorder = TrendRecorder(max_targets=1, clock=FakeClock())
    with caplog.at_level(logging.WARNING, logger="toolware.trends"):
        recorder.record("a", 0.1)
        recorder.record("b", 0.1)
    (record,) = caplog.records
    assert record.__dict__["max_targets"] == 1


def test_unknown_target_message_lists_what_was_recorded() -> None:
    """The KeyError names the recorded targets, or says there are none."""
    recorder = TrendRecorder(clock=FakeClock())
    with pytest.raises(KeyError, match=r"recorded: \(none\)"):
        recorder.series("x")
    recorder.record("b", 0.1)
    recorder.record("a", 0.1)
    with pytest.raises(KeyError, match="recorded: 'a', 'b'"):
        recorder.series("x")


def test_end_feeds_both_rings_and_keeps_the_target() -> None:
    """end() counts in the minute ring too (errors, refusals, latency, peak); refused defaults
    to False; an ended target survives forget()."""
    clock = FakeClock(start=120.0)
    recorder = TrendRecorder(buckets=(1.0, 2.0), clock=clock)
    recorder.begin("t")
    recorder.end("t", 0.5, error=True, refused=True)
    recorder.begin("t")
    recorder.end("t", 0.5)
    recorder.forget("t")
    assert recorder.targets() == ("t",)
    minute = recorder.series("t", "minute", last=1)[0]
    assert minute == TrendPoint(
        time=120.0, calls=2, errors=1, refused=1, p50=0.5, p95=0.5, p99=0.5, peak_in_flight=1
    )
    assert recorder.series("t", last=1)[0].refused == 1


def test_forget_of_a_capped_name_forgets_it_in_the_overflow_series() -> None:
    """A name begun past max_targets leaves the overflow series when forgotten."""
    recorder = TrendRecorder(max_targets=1, clock=FakeClock())
    recorder.record("a", 0.1)
    recorder.begin("b")
    recorder.forget("b")
    assert recorder.targets() == ("a",)
    recorder.begin("c")
    assert recorder.series(OVERFLOW_TARGET, last=1)[0].peak_in_flight == 1


def test_empty_intervals_and_begun_only_intervals_are_all_zero() -> None:
    """A second without calls is all zeros; one with only a call in flight has zero latency."""
    clock = FakeClock(start=0.0)
    recorder = TrendRecorder(clock=clock)
    recorder.record("t", 0.1)
    clock.advance_now(2.0)
    recorder.begin("t")
    first, gap, now = recorder.series("t")
    assert first.calls == 1
    assert gap == empty(1.0)
    assert now == TrendPoint(
        time=2.0, calls=0, errors=0, refused=0, p50=0.0, p95=0.0, p99=0.0, peak_in_flight=1
    )


def test_negative_clock_times_fall_in_negative_intervals() -> None:
    """At -0.5 s the interval is -1 (floor), the ring starts from zero there."""
    clock = FakeClock(start=-0.5)
    recorder = TrendRecorder(buckets=(1.0, 2.0), clock=clock)
    recorder.begin("t")
    recorder.end("t", 1.5)
    assert recorder.series("t") == (
        TrendPoint(
            time=-1.0, calls=1, errors=0, refused=0, p50=1.5, p95=1.5, p99=1.5, peak_in_flight=1
        ),
    )
    clock.advance_now(1.0)  # now 0.5: interval -1 is complete
    stats = recorder.window("t", 1)
    assert (stats.end, stats.calls, stats.latency) == (0.0, 1, 1.5)
    assert recorder.window("t", 1, now=-0.5).calls == 0  # interval -2 had none


def test_a_fresh_negative_interval_starts_from_zero() -> None:
    """Interval -1 sits in a slot never used: its counts, peak and extremes start at zero."""
    clock = FakeClock(start=-0.5)
    recorder = TrendRecorder(buckets=(1.0, 2.0), clock=clock)
    recorder.record("r", 0.2)
    recorder.record("r", 0.8)
    recorder.begin("b")
    assert recorder.series("r") == (
        TrendPoint(
            time=-1.0,
            calls=2,
            errors=0,
            refused=0,
            p50=pytest.approx(0.5),  # type: ignore[arg-type]
            p95=pytest.approx(0.77),  # type: ignore[arg-type]
            p99=pytest.approx(0.794),  # type: ignore[arg-type]
            peak_in_flight=0,
        ),
    )
    assert [(p.time, p.peak_in_flight) for p in recorder.series("b")] == [(-1.0, 1)]


def test_a_call_begun_in_an_earlier_minute_is_in_flight_in_the_minute_it_ends() -> None:
    """end() passes the calls in flight to the minute ring too."""
    clock = FakeClock(start=59.5)
    recorder = TrendRecorder(clock=clock)
    recorder.begin("t")
    clock.advance_now(1.0)
    recorder.end("t", 1.0)
    assert recorder.series("t", "minute", last=1)[0].peak_in_flight == 1


def test_percentiles_interpolate_in_the_first_bucket_and_stop_at_the_rank() -> None:
    """Bucket 0 starts at the fastest call; a rank that fills a bucket stays in it; counts add."""
    clock = FakeClock(start=0.0)
    recorder = TrendRecorder(buckets=(1.0, 2.0, 3.0), clock=clock)
    for seconds in (0.2, 0.8):
        recorder.record("first", seconds)
    for seconds in (0.5, 0.5, 2.5, 2.5):
        recorder.record("rank", seconds)
    for seconds in (0.5, 0.5, 0.5, 1.5):
        recorder.record("counts", seconds)
    assert recorder.series("first", last=1)[0].p50 == pytest.approx(0.5)
    assert recorder.series("rank", last=1)[0].p50 == 1.0
    assert recorder.series("counts", last=1)[0].p50 == pytest.approx(0.5 + 0.5 * 2 / 3)


def test_minute_points_are_timed_at_their_start() -> None:
    """A minute with calls starts at number * 60."""
    clock = FakeClock(start=130.0)
    recorder = TrendRecorder(clock=clock)
    recorder.record("t", 0.1)
    assert recorder.series("t", "minute", last=1)[0].time == 120.0


def test_window_options_and_merging() -> None:
    """now= is used as given; the horizon itself still reads seconds; 61 s is two minutes;
    empty seconds are skipped, not the end; refusals and histograms add up; p99 by default."""
    clock = FakeClock(start=0.0)
    recorder = TrendRecorder(horizon_seconds=10, buckets=(1.0, 2.0), clock=clock)
    clock.advance_now(1.0)
    recorder.record("t", 0.2, refused=True)
    clock.advance_now(1.0)
    recorder.record("t", 0.6, refused=True)
    recorder.record("t", 1.5)
    clock.advance_now(1.0)
    stats = recorder.window("t", 3, fraction=0.5)  # seconds 0 (empty), 1 and 2
    assert (stats.calls, stats.refused) == (3, 2)
    assert stats.latency == pytest.approx(0.8)
    assert recorder.window("t", 1).latency == pytest.approx(1.0 + 0.5 * 0.98)
    assert recorder.window("t", 10).seconds == 10.0
    assert recorder.window("t", 61).seconds == 120.0
    assert recorder.window("t", 1, now=2.5).calls == 1  # second 1 only, whatever the clock says


async def test_interceptor_durations_do_not_depend_on_the_start_time() -> None:
    """At a clock far from zero each path records the call's own duration."""
    clock = FakeClock(start=100.0)
    recorder = TrendRecorder(buckets=(1.0, 2.0, 4.0), clock=clock)
    registry = LocalRegistry()

    @registry.tool
    async def work(seconds: float = 0.0, fail: bool = False) -> str:
        await clock.sleep(seconds)
        if fail:
            raise RuntimeError("no")
        return "ok"

    async def limiter(request: RequestContext, call_next: CallNext) -> ResponseContext:
        if request.arguments.get("seconds") == 3.0:
            await clock.sleep(3.0)
            return ResponseContext.failure(RateLimitedError("slow", retry_after=1.0))
        return await call_next(request)

    pipeline = (
        PipelineBuilder(clock=clock)
        .use(TrendsInterceptor(recorder=recorder))
        .use(limiter)
        .route(registry)
        .build()
    )

    async def run(name: str, arguments: dict[str, object], seconds: float) -> None:
        task = asyncio.create_task(pipeline.invoke(name, arguments))
        await clock.advance(seconds)
        await task

    await run("work", {"seconds": 0.5}, 0.5)
    await run("work", {"seconds": 1.5, "fail": True}, 1.5)
    await run("work", {"seconds": 3.0}, 3.0)
    await run("nothing", {}, 0.0)
    cancelled = asyncio.create_task(pipeline.invoke("work", {"seconds": 9.0}))
    await clock.advance(2.5)
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    minute = recorder.series("work", "minute", last=1)[0]
    assert (minute.calls, minute.errors, minute.refused) == (4, 3, 1)
    assert (minute.p50, minute.p99) == (pytest.approx(2.0), pytest.approx(2.98))
    assert recorder.series(UNKNOWN_TARGET, "minute", last=1)[0].p99 == 0.0


async def test_a_failing_recorder_is_logged_under_the_trends_observer(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stream observer is labelled 'trends' in stream.observer_failed."""
    clock = FakeClock(start=0.0)
    registry = LocalRegistry()

    @registry.tool
    async def feed() -> AsyncIterator[int]:
        yield 1

    recorder = TrendRecorder(clock=clock)
    pipeline = PipelineBuilder(clock=clock).use(TrendsInterceptor(recorder=recorder))
    built = pipeline.route(registry).build()
    response = await built.invoke("feed", {})
    assert response.stream is not None

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("recorder down")

    monkeypatch.setattr(TrendRecorder, "end", broken)
    with caplog.at_level(logging.ERROR, logger="toolware.streams"):
        async with response.stream as chunks:
            assert [chunk async for chunk in chunks] == [1]
        await asyncio.sleep(0)
    failed = [r for r in caplog.records if r.getMessage().startswith("stream.observer_failed")]
    assert [r.__dict__["observer"] for r in failed] == ["trends"]
