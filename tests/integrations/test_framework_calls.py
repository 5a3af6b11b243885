"""Tests for toolware.integrations._framework_calls: one call on behalf of a framework tool."""

from __future__ import annotations

import asyncio
import re

import pytest

from toolware import LocalRegistry, ResponseContext
from toolware.integrations._framework_calls import CallSettings, run_sync
from toolware.testing import FakeClock


async def _handler(request: object) -> ResponseContext:
    return ResponseContext.success(1)


def _settings(clock: FakeClock | None = None) -> CallSettings[None]:
    return CallSettings.create(_handler, principal=None, trace=None, timeout=None, clock=clock)


def test_requests_are_stamped_on_the_settings_clock() -> None:
    """The request id's time is the clock's (a fake clock's wall time here)."""
    registry = LocalRegistry()

    @registry.tool
    def one() -> int:
        return 1

    [description] = registry.list()
    request = _settings(FakeClock()).request(description, {}, None)
    assert request.id[:13] == "%012x7" % int(1_767_225_600.0 * 1000)  # noqa: UP031


def test_a_handler_that_is_not_callable_is_named() -> None:
    """The refusal names the type it got."""
    with pytest.raises(TypeError, match=r"handler, got int$"):
        CallSettings.create(5, principal=None, trace=None, timeout=None, clock=None)  # type: ignore[arg-type]


async def _one() -> int:
    return 1


async def test_run_sync_refuses_a_running_loop_and_a_stopped_one() -> None:
    """From a running loop: the async method to use; a loop given that is not running:
    what to pass instead."""
    with pytest.raises(RuntimeError) as caught:
        run_sync(_one, None)
    assert str(caught.value) == (
        "a toolware tool was called synchronously from a running event loop, which would "
        "block it; await the tool's async method (ainvoke / acall) instead, or pass loop= to "
        "run calls on the pipeline's loop from other threads"
    )
    stopped = asyncio.new_event_loop()
    message = (
        "the event loop given as loop= is not running; pass the loop the pipeline runs on "
        "while it runs, or leave loop= out to run each call on its own loop"
    )
    try:
        with pytest.raises(RuntimeError, match=re.escape(message) + "$"):
            await asyncio.to_thread(run_sync, _one, stopped)
    finally:
        stopped.close()
