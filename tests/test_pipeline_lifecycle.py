"""Tests for toolware.pipeline: aclose(), async with, what a pipeline owns, bound failures."""

from __future__ import annotations

import asyncio
import logging
import math
import threading
from typing import Any

import pytest

from toolware import (
    ForbiddenError,
    LocalRegistry,
    PipelineBuilder,
    RequestContext,
    ResponseContext,
    Router,
    default_pipeline,
)
from toolware.testing import FakeHandler
from toolware.types import CallNext, ClockUser, Closable, Named


def sync_registry(started: threading.Event, release: threading.Event) -> LocalRegistry:
    registry = LocalRegistry()

    @registry.tool
    def stuck() -> str:
        started.set()
        release.wait(10)
        return "late"

    @registry.tool
    def quick() -> str:
        return "quick"

    return registry


async def test_async_with_closes_the_worker_pool() -> None:
    """After `async with pipeline:` sync handlers are refused as unavailable."""
    registry = sync_registry(threading.Event(), threading.Event())
    async with default_pipeline(registry) as pipeline:
        assert (await pipeline.invoke("quick")).unwrap() == "quick"
    response = await pipeline.invoke("quick")
    assert response.error is not None
    assert response.error.category == "unavailable"
    await pipeline.aclose()  # twice is a no-op


async def test_aclose_does_not_wait_for_a_stuck_sync_tool() -> None:
    """A stuck tool must not block a reload: aclose() returns while the thread still runs."""
    started, release = threading.Event(), threading.Event()
    pipeline = default_pipeline(sync_registry(started, release))
    call = asyncio.create_task(pipeline.invoke("stuck", timeout=5))
    await asyncio.to_thread(started.wait, 5)
    await pipeline.aclose()
    assert not release.is_set()
    assert not call.done()
    release.set()
    assert (await call).unwrap() == "late"


class ClosableHandler:
    """A terminal that records aclose() calls."""

    def __init__(self) -> None:
        self.closed = 0

    async def __call__(self, request: RequestContext) -> ResponseContext:
        return ResponseContext.success("ok")

    async def aclose(self) -> None:
        self.closed += 1


@pytest.mark.parametrize(("owned", "closed"), [(True, 1), (False, 0)])
async def test_a_routed_handler_is_closed_only_when_owned(owned: bool, closed: int) -> None:
    """route(handler) owns a closable handler (a sub-pipeline) unless owned=False."""
    handler = ClosableHandler()
    pipeline = PipelineBuilder().route(handler, owned=owned).build()
    await pipeline.aclose()
    await pipeline.aclose()
    assert handler.closed == closed


async def test_closing_an_outer_pipeline_closes_its_sub_pipeline() -> None:
    """The sub-pipeline's router is owned through the outer pipeline."""
    registry = sync_registry(threading.Event(), threading.Event())
    inner = default_pipeline(registry)
    outer = PipelineBuilder().route(inner).build()
    await outer.aclose()
    assert (await inner.invoke("quick")).error is not None


def test_sync_close_still_works_outside_a_loop() -> None:
    """close() is the synchronous twin for code without an event loop."""
    handler = ClosableHandler()
    pipeline = default_pipeline(LocalRegistry())
    pipeline.close()
    pipeline.close()
    unowned = PipelineBuilder().route(handler).build()
    unowned.close()  # the handler has no sync close(): nothing to call, nothing raised
    assert handler.closed == 0


def test_side_contracts_are_declared_protocols() -> None:
    """Router, Pipeline and the built-in interceptors implement the declared protocols."""
    pipeline = default_pipeline(LocalRegistry())
    assert isinstance(pipeline.terminal, Router)
    assert isinstance(pipeline.terminal, Closable)
    assert isinstance(pipeline.terminal, ClockUser)
    assert isinstance(pipeline, Closable)
    for stage in pipeline.stages:
        assert isinstance(stage.interceptor, Named)
        assert isinstance(stage.interceptor, ClockUser) is (stage.name != "validation")


# --- failures returned by interceptors --------------------------------------------------------


async def test_a_returned_failure_is_bound_to_the_call() -> None:
    """ResponseContext.failure(ForbiddenError(...)) comes back with request id and target."""
    seen: list[str] = []

    async def deny(request: RequestContext, call_next: CallNext) -> ResponseContext:
        seen.append(request.id)
        return ResponseContext.failure(ForbiddenError("no"))

    registry = LocalRegistry()

    class Notes:
        def add(self, text: str) -> str:
            return text

    registry.plugin(Notes)
    pipeline = PipelineBuilder().use(deny).route(registry).build()
    response = await pipeline.invoke("notes.add", {"text": "x"})
    assert response.error is not None
    assert (response.error.request_id, response.error.target) == (seen[0], "notes.add")


async def test_a_shared_returned_error_is_copied_for_each_call() -> None:
    """One module-level error returned for two calls carries each call's own id."""
    shared = ForbiddenError("no")

    async def deny(request: RequestContext, call_next: CallNext) -> ResponseContext:
        return ResponseContext.failure(shared)

    pipeline = PipelineBuilder().use(deny).route(FakeHandler(["x"])).build()
    first = (await pipeline.invoke("a")).error
    second = (await pipeline.invoke("b")).error
    assert first is not None
    assert second is not None
    assert first.request_id != second.request_id
    assert (first.target, second.target) == ("a", "b")


# --- invoke() options -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("timeout", "error", "match"),
    [
        (True, TypeError, "timeout must be a number of seconds, got True"),
        ("1", TypeError, "timeout must be a number of seconds"),
        (math.inf, ValueError, r"finite number of seconds > 0, got inf; pass timeout=None"),
        (math.nan, ValueError, "finite number of seconds > 0, got nan"),
    ],
)
async def test_invoke_refuses_timeouts_that_are_not_durations(
    timeout: Any,  # noqa: ASYNC109 - the value under test, not this test's own limit
    error: type[Exception],
    match: str,
) -> None:
    """timeout=True is not one second, inf is not a limit: both say what to pass instead."""
    pipeline = default_pipeline(LocalRegistry())
    with pytest.raises(error, match=match):
        await pipeline.invoke("x", timeout=timeout)


@pytest.mark.parametrize("deadline", [math.nan, math.inf])
async def test_invoke_refuses_a_deadline_that_is_not_a_time(deadline: float) -> None:
    """A NaN or infinite deadline is refused with the reason, with or without timeout=."""
    pipeline = default_pipeline(LocalRegistry(), timeout=None)
    with pytest.raises(ValueError, match="deadline must be a finite time"):
        await pipeline.invoke("x", deadline=deadline)


async def test_invoke_refuses_an_empty_target() -> None:
    """An empty target names nothing."""
    with pytest.raises(ValueError, match="target must be a non-empty string"):
        await default_pipeline(LocalRegistry()).invoke("")


async def test_crash_log_record_keeps_the_traceback(caplog: pytest.LogCaptureFixture) -> None:
    """The 'pipeline.interceptor_crashed' record carries exc_info for the bug report."""

    async def broken(request: RequestContext, call_next: CallNext) -> ResponseContext:
        raise KeyError("boom")

    pipeline = PipelineBuilder().use(broken).route(FakeHandler(["x"])).build()
    with caplog.at_level(logging.ERROR, logger="toolware.pipeline"):
        await pipeline.invoke("x")
    (record,) = caplog.records
    assert record.exc_info is not None
    assert record.exc_info[0] is KeyError
    assert "interceptor=broken" in record.getMessage()
