"""Tests for toolware.defaults: the default pipeline and what each of its options does."""

import asyncio
import threading
from typing import Any

import pytest

from toolware import (
    CallTimeoutError,
    ErrorCategory,
    InvalidRequestError,
    LocalRegistry,
    RequestContext,
    ResponseContext,
    Router,
    StatsInterceptor,
    StatsRecorder,
    TimeoutInterceptor,
    ValidationInterceptor,
    default_builder,
    default_pipeline,
)
from toolware.testing import FakeClock, settle
from toolware.types import CallNext


def make_registry(clock: FakeClock) -> LocalRegistry:
    registry = LocalRegistry()

    @registry.tool
    async def wait(seconds: float) -> str:
        await clock.sleep(seconds)
        return "done"

    @registry.tool(timeout=2.0)
    async def capped(seconds: float) -> str:
        await clock.sleep(seconds)
        return "done"

    @registry.tool
    def count(n: int) -> str:
        return repr(n)

    return registry


def test_stage_order_is_stats_timeout_validation_router() -> None:
    """Stats outermost, then timeout, then validation, then the registry's router."""
    registry = make_registry(FakeClock())
    pipeline = default_pipeline(registry)
    assert pipeline.describe() == ("stats", "timeout", "validation", "router")
    stats, timeout, validation = (stage.interceptor for stage in pipeline.stages)
    assert isinstance(stats, StatsInterceptor)
    assert isinstance(timeout, TimeoutInterceptor)
    assert isinstance(validation, ValidationInterceptor)
    assert timeout.clock is pipeline.clock
    assert isinstance(pipeline.terminal, Router)
    assert pipeline.terminal.registry is registry
    assert pipeline.name == "default"


async def test_default_timeout_is_thirty_seconds() -> None:
    """Without timeout= a slow call is cut at 30 s of pipeline time."""
    clock = FakeClock()
    pipeline = default_pipeline(make_registry(clock), clock=clock)
    task = asyncio.create_task(pipeline.invoke("wait", {"seconds": 100}))
    await clock.advance(29.9)
    assert not task.done()
    await clock.advance(0.1)
    assert task.done()
    error = (await task).error
    assert isinstance(error, CallTimeoutError)
    assert error.limit == 30.0


async def test_timeout_option_sets_the_limit() -> None:
    """timeout=1 cuts the call at 1 s."""
    clock = FakeClock()
    pipeline = default_pipeline(make_registry(clock), timeout=1.0, clock=clock)
    task = asyncio.create_task(pipeline.invoke("wait", {"seconds": 100}))
    await clock.advance(1.0)
    assert task.done()
    error = (await task).error
    assert isinstance(error, CallTimeoutError)
    assert error.limit == 1.0


async def test_timeout_none_sets_no_limit() -> None:
    """timeout=None leaves a call without a deadline unbounded."""
    clock = FakeClock()
    pipeline = default_pipeline(make_registry(clock), timeout=None, clock=clock)
    task = asyncio.create_task(pipeline.invoke("wait", {"seconds": 100}))
    await settle()
    assert clock.pending == 1  # only the tool's own sleep, no timeout timer
    await clock.advance(100)
    assert task.done()
    assert (await task).unwrap() == "done"


async def test_entry_timeout_from_the_registry_applies() -> None:
    """The registry is handed to the timeout interceptor, so an entry's timeout counts."""
    clock = FakeClock()
    pipeline = default_pipeline(make_registry(clock), clock=clock)
    task = asyncio.create_task(pipeline.invoke("capped", {"seconds": 5}))
    await clock.advance(2.0)
    assert task.done()
    error = (await task).error
    assert isinstance(error, CallTimeoutError)
    assert error.limit == 2.0


async def test_strict_option() -> None:
    """strict=True refuses "3" for an int; the default converts it."""
    clock = FakeClock()
    registry = make_registry(clock)
    lax = await default_pipeline(registry, clock=clock).invoke("count", {"n": "3"})
    assert lax.unwrap() == "3"
    strict = await default_pipeline(registry, strict=True, clock=clock).invoke("count", {"n": "3"})
    assert isinstance(strict.error, InvalidRequestError)


async def test_recorder_option_collects_every_call_refused_ones_included() -> None:
    """recorder= receives the statistics, including calls refused by validation."""
    clock = FakeClock()
    recorder = StatsRecorder()
    pipeline = default_pipeline(make_registry(clock), recorder=recorder, clock=clock)
    await pipeline.invoke("count", {"n": 1})
    await pipeline.invoke("count", {"n": "x"})
    await pipeline.invoke("nope")
    snapshot = recorder.snapshot()
    assert snapshot.get("count").calls == 2
    assert snapshot.get("count").errors == {ErrorCategory.INVALID_REQUEST: 1}
    assert snapshot.get("(unknown)").errors == {ErrorCategory.NOT_FOUND: 1}


async def test_workers_option_bounds_the_thread_pool() -> None:
    """workers= is passed to the router; sync tools run in that pool."""
    registry = LocalRegistry()

    @registry.tool
    def where() -> str:
        return threading.current_thread().name

    pipeline = default_pipeline(registry, workers=3)
    router = pipeline.terminal
    assert isinstance(router, Router)
    assert router.workers == 3
    assert (await pipeline.invoke("where")).unwrap().startswith("toolware-worker")
    router.close()


async def test_clock_option_drives_timings_and_statistics() -> None:
    """clock= is the time source for statistics, timeouts and response timings."""
    clock = FakeClock()
    recorder = StatsRecorder()
    pipeline = default_pipeline(make_registry(clock), recorder=recorder, clock=clock)
    task = asyncio.create_task(pipeline.invoke("wait", {"seconds": 4}))
    await clock.advance(4)
    assert task.done()
    response = await task
    assert (response.started_at, response.finished_at) == (1000.0, 1004.0)
    assert recorder.snapshot().get("wait").total_seconds == 4.0
    assert pipeline.clock is clock


async def test_default_builder_can_be_extended_before_routing() -> None:
    """default_builder returns an unrouted builder; added interceptors run innermost."""
    clock = FakeClock()
    registry = make_registry(clock)
    seen: list[dict[str, Any]] = []

    async def spy(request: RequestContext, call_next: CallNext) -> ResponseContext:
        seen.append(dict(request.arguments))
        return await call_next(request)

    pipeline = default_builder(registry, clock=clock).use(spy, name="spy").route(registry).build()
    assert pipeline.describe() == ("stats", "timeout", "validation", "spy", "router")
    assert (await pipeline.invoke("count", {"n": "7"})).unwrap() == "7"
    assert seen == [{"n": 7}]  # after validation: converted


def test_default_builder_passes_its_options_on() -> None:
    """timeout, strict and recorder given to default_builder reach the interceptors."""
    registry = LocalRegistry()
    recorder = StatsRecorder()
    builder = default_builder(registry, timeout=5.0, strict=True, recorder=recorder)
    stats, timeout, validation = (s.interceptor for s in builder.route(registry).build().stages)
    assert stats.recorder is recorder  # type: ignore[attr-defined]
    assert timeout.timeout == 5.0  # type: ignore[attr-defined]
    assert validation.strict is True  # type: ignore[attr-defined]


@pytest.mark.parametrize("timeout", [0, -5.0])
def test_bad_timeout_is_refused(timeout: float) -> None:
    """An invalid timeout fails when the pipeline is made, not on the first call."""
    with pytest.raises(ValueError, match="timeout must be"):
        default_pipeline(LocalRegistry(), timeout=timeout)


async def test_max_queued_bounds_the_calls_waiting_for_a_worker() -> None:
    """With one worker busy and max_queued=1, a third sync call is refused at once."""
    import threading

    registry = LocalRegistry()
    started, release = threading.Event(), threading.Event()

    @registry.tool
    def hold() -> str:
        started.set()
        release.wait(10)
        return "held"

    pipeline = default_pipeline(registry, workers=1, max_queued=1)
    first = asyncio.create_task(pipeline.invoke("hold"))
    await asyncio.to_thread(started.wait, 5)
    second = asyncio.create_task(pipeline.invoke("hold"))
    await asyncio.sleep(0.01)
    refused = await pipeline.invoke("hold")
    release.set()
    assert [r.unwrap() for r in await asyncio.gather(first, second)] == ["held", "held"]
    assert refused.error is not None
    assert refused.error.category == "unavailable"
    assert "no worker free: all 1 workers busy and 1 calls queued" in refused.error.message
    await pipeline.aclose()
