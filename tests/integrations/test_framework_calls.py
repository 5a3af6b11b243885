"""Tests for toolware.integrations._framework_calls: the call a framework's tool makes."""

from __future__ import annotations

import asyncio
import re

import pytest

from toolware import LocalRegistry, Principal, ResponseContext, TraceContext, default_pipeline
from toolware.integrations._framework_calls import CallSettings, run_sync
from toolware.integrations.langchain import langchain_tools
from toolware.integrations.llamaindex import llamaindex_tools
from toolware.testing import FakeClock

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def _registry(ran: list[str] | None = None) -> LocalRegistry:
    registry = LocalRegistry("app")

    @registry.tool
    async def ping() -> str:
        """Ping."""
        if ran is not None:
            ran.append("ping")
        return "pong"

    return registry


def test_hooks_returning_the_right_types_reach_the_request() -> None:
    """A principal and a trace function's answers become the request's."""
    registry = _registry()
    [description] = registry.list()
    settings: CallSettings[str] = CallSettings.create(
        default_pipeline(registry),
        principal=lambda user: Principal(id=user),
        trace=lambda user: TraceContext(traceparent=TRACEPARENT),
        timeout=None,
        clock=None,
    )
    request = settings.request(description, {}, "alice")
    assert request.principal == Principal(id="alice")
    assert request.trace == TraceContext(traceparent=TRACEPARENT)
    anonymous: CallSettings[str] = CallSettings.create(
        default_pipeline(registry), principal=lambda user: None, trace=None, timeout=None,
        clock=None,
    )  # fmt: skip
    assert anonymous.request(description, {}, "x").principal is None


def test_a_principal_function_returning_a_name_is_refused() -> None:
    """``principal=lambda config: "alice"``: a TypeError naming what it returned, never a
    request whose principal is a string."""
    registry = _registry()
    [description] = registry.list()
    settings: CallSettings[None] = CallSettings.create(
        default_pipeline(registry), principal=lambda _: "alice", trace=None, timeout=None,  # type: ignore[arg-type,return-value]
        clock=None,
    )  # fmt: skip
    with pytest.raises(TypeError) as refused:
        settings.request(description, {}, None)
    assert str(refused.value) == (
        "the principal function returned str, not a Principal or None; return "
        "Principal(id=...) for a known caller, None for an anonymous one"
    )


def test_a_trace_function_returning_a_header_is_refused() -> None:
    """``trace=lambda config: "00-..."``: a TypeError naming what it returned."""
    registry = _registry()
    [description] = registry.list()
    settings: CallSettings[None] = CallSettings.create(
        default_pipeline(registry), principal=None, trace=lambda _: TRACEPARENT,  # type: ignore[arg-type,return-value]
        timeout=None, clock=None,
    )  # fmt: skip
    with pytest.raises(TypeError) as refused:
        settings.request(description, {}, None)
    assert str(refused.value) == (
        "the trace function returned str, not a TraceContext or None; return "
        "TraceContext(traceparent=...), or None for no trace context"
    )


async def test_framework_tools_refuse_a_principal_that_is_not_one() -> None:
    """Through LangChain and LlamaIndex tools alike: the call fails, the tool never runs."""
    ran: list[str] = []
    registry = _registry(ran)
    async with default_pipeline(registry) as pipeline:
        [chain] = langchain_tools(pipeline, registry, principal=lambda config: "alice")  # type: ignore[arg-type,return-value]
        with pytest.raises(TypeError, match="the principal function returned str"):
            await chain.ainvoke({})
        [index] = llamaindex_tools(pipeline, registry, principal=lambda: {"id": "bob"})  # type: ignore[arg-type,return-value]
        with pytest.raises(TypeError, match="the principal function returned dict"):
            await index.acall()
        [chain] = langchain_tools(pipeline, registry, principal=lambda config: None)
        assert await chain.ainvoke({}) == "pong"
    assert ran == ["ping"]


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
