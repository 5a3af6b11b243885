"""Tests for toolware.interceptors.fallback: each source, categories, failing fallbacks."""

import logging
from typing import Any

import pytest

from toolware import (
    CircuitOpenError,
    ErrorCategory,
    LocalRegistry,
    Pipeline,
    PipelineBuilder,
    RequestContext,
    ResponseStream,
    ToolwareError,
    UnavailableError,
)
from toolware.interceptors.fallback import FallbackInterceptor
from toolware.markers import FALLBACK, FallbackServed
from toolware.testing import FakeClock, FakeHandler


def down() -> UnavailableError:
    """A fresh error each time: an error bound to one call is copied when reused."""
    return UnavailableError("search backend down")


def registry(primary: Any, spare: Any = "from backup") -> tuple[LocalRegistry, list[Any]]:
    """'search' answers ``primary`` (raised if an exception); 'backup' answers ``spare``;
    both record the arguments they were called with."""
    registry, calls = LocalRegistry(), []

    @registry.tool
    async def search(query: str) -> str:
        calls.append(("search", query))
        if isinstance(primary, Exception):
            raise primary
        return str(primary)

    @registry.tool
    async def backup(query: str) -> str:
        calls.append(("backup", query))
        if isinstance(spare, Exception):
            raise spare
        return f"{spare}: {query}"

    return registry, calls


def with_fallback(route: Any, /, **options: Any) -> Pipeline:
    fallback = FallbackInterceptor(**options)
    return PipelineBuilder(clock=FakeClock()).use(fallback).route(route).build()


async def test_a_target_fallback_calls_the_other_entry_with_the_same_arguments() -> None:
    """The backup answers with the same arguments; the marker names it and the category."""
    tools, calls = registry(down())
    pipeline = with_fallback(tools, on={ErrorCategory.UNAVAILABLE}, target="backup")
    response = await pipeline.invoke("search", {"query": "cats"})
    assert response.value == "from backup: cats"
    assert response.get(FALLBACK) == FallbackServed("backup", ErrorCategory.UNAVAILABLE)
    assert calls == [("search", "cats"), ("backup", "cats")]


async def test_a_failing_fallback_target_returns_the_original_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """When the backup fails too, the caller gets the error of what it asked for."""
    tools, calls = registry(down(), ValueError("backup broken"))
    pipeline = with_fallback(tools, on={"unavailable"}, target="backup")
    with caplog.at_level(logging.INFO, logger="toolware.interceptors.fallback"):
        response = await pipeline.invoke("search", {"query": "cats"})
    assert response.error is not None
    assert response.error.message == "search backend down"
    assert FALLBACK not in response.extras
    assert calls == [("search", "cats"), ("backup", "cats")]
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert record.getMessage() == (
        f"fallback.failed target=search source=backup category=unavailable "
        f"problem=tool_failed request_id={record.request_id}"
    )


async def test_a_handler_fallback_gets_the_request_and_the_error() -> None:
    """A sync handler's return value is the answer; it saw the request and the error."""
    seen: list[tuple[str, ToolwareError]] = []

    def cached(request: RequestContext, error: ToolwareError) -> str:
        seen.append((request.target, error))
        return "stale result"

    error = down()
    pipeline = with_fallback(FakeHandler([error]), on={ErrorCategory.UNAVAILABLE}, handler=cached)
    response = await pipeline.invoke("search")
    assert response.value == "stale result"
    assert response.get(FALLBACK) == FallbackServed(
        "test_a_handler_fallback_gets_the_request_and_the_error.<locals>.cached",
        ErrorCategory.UNAVAILABLE,
    )
    assert seen == [("search", error)]


async def test_an_async_handler_is_awaited_and_a_stream_answers_as_a_stream() -> None:
    """An async handler returning a ResponseStream answers with that stream."""

    async def chunks(request: RequestContext, error: ToolwareError) -> ResponseStream:
        return ResponseStream.of(["a", "b"])

    pipeline = with_fallback(FakeHandler([down()]), on={ErrorCategory.UNAVAILABLE}, handler=chunks)
    response = await pipeline.invoke("search")
    assert response.stream is not None
    assert (await response.collect()).value == ["a", "b"]


@pytest.mark.parametrize("asynchronous", [False, True])
async def test_a_raising_handler_returns_the_original_error(
    asynchronous: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """The handler's exception is logged with its traceback; the call is not lost."""

    def broken(request: RequestContext, error: ToolwareError) -> str:
        raise KeyError("no cache")

    async def broken_async(request: RequestContext, error: ToolwareError) -> str:
        raise KeyError("no cache")

    handler = broken_async if asynchronous else broken
    pipeline = with_fallback(FakeHandler([down()]), on={ErrorCategory.UNAVAILABLE}, handler=handler)
    with caplog.at_level(logging.INFO, logger="toolware.interceptors.fallback"):
        response = await pipeline.invoke("search")
    assert response.error is not None
    assert response.error.message == "search backend down"
    [record] = caplog.records
    assert "fallback.failed target=search" in record.getMessage()
    assert "problem=KeyError" in record.getMessage()
    assert record.exc_info is not None


@pytest.mark.parametrize("value", [None, 0, {"results": []}])
async def test_a_static_value_answers_as_it_is(
    value: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """value=None is a value like any other; the timing of the failure is kept."""
    pipeline = with_fallback(FakeHandler([down()]), on={ErrorCategory.UNAVAILABLE}, value=value)
    with caplog.at_level(logging.INFO, logger="toolware.interceptors.fallback"):
        response = await pipeline.invoke("search")
    assert response.ok
    assert response.value == value
    assert response.get(FALLBACK) == FallbackServed("static value", ErrorCategory.UNAVAILABLE)
    [record] = caplog.records
    assert record.levelno == logging.INFO
    assert record.getMessage() == (
        f"fallback.served target=search source=static value category=unavailable "
        f"request_id={record.request_id}"
    )
    assert (record.target, record.category) == ("search", "unavailable")


async def test_categories_not_in_on_and_successes_pass_untouched() -> None:
    """A circuit_open error is not rescued by a fallback on unavailable; successes pass."""
    opened = CircuitOpenError("resting", retry_after=3.0)
    handler = FakeHandler([opened, "fine"])
    pipeline = with_fallback(handler, on={ErrorCategory.UNAVAILABLE}, value="rescued")
    response = await pipeline.invoke("search")
    assert response.error is opened
    assert FALLBACK not in response.extras
    response = await pipeline.invoke("search")
    assert response.value == "fine"
    assert FALLBACK not in response.extras


async def test_several_categories_each_mark_their_own() -> None:
    """The marker says which category was replaced."""
    opened = CircuitOpenError("resting", retry_after=3.0)
    handler = FakeHandler([opened, down()])
    on = {ErrorCategory.UNAVAILABLE, ErrorCategory.CIRCUIT_OPEN}
    pipeline = with_fallback(handler, on=on, value="rescued")
    first, second = await pipeline.invoke("x"), await pipeline.invoke("x")
    assert first.get(FALLBACK) == FallbackServed("static value", ErrorCategory.CIRCUIT_OPEN)
    assert second.get(FALLBACK) == FallbackServed("static value", ErrorCategory.UNAVAILABLE)


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"on": set(), "value": 1}, ValueError, "on must name at least one error category"),
        ({"on": "unavailable", "value": 1}, TypeError, "on must be a set of error categories"),
        ({"on": 3, "value": 1}, TypeError, "got 3"),
        ({"on": {"down"}, "value": 1}, ValueError, "on: 'down' is not an error category"),
        ({"on": {"timeout"}}, ValueError, "exactly one of target="),
        ({"on": {"timeout"}, "target": "b", "value": 1}, ValueError, "; got 2"),
        ({"on": {"timeout"}, "target": ""}, ValueError, "target must be a non-empty entry name"),
        ({"on": {"timeout"}, "target": 3}, ValueError, "got 3"),
        ({"on": {"timeout"}, "handler": 3}, TypeError, "must be callable"),
        ({"on": {"timeout"}, "handler": lambda r: r}, TypeError, "must accept 2 positional"),
    ],
)
def test_bad_options_are_refused(
    options: dict[str, Any], error: type[Exception], message: str
) -> None:
    """Each option is checked at construction, and the message says what to do."""
    with pytest.raises(error, match=message):
        FallbackInterceptor(**options)


def test_options_are_kept_as_given() -> None:
    """Categories given by name become ErrorCategory members; the name is 'fallback'."""
    fallback = FallbackInterceptor(on=["timeout", ErrorCategory.INTERNAL], target="backup")
    assert fallback.on == frozenset({ErrorCategory.TIMEOUT, ErrorCategory.INTERNAL})
    assert (fallback.name, fallback.source, fallback.target) == ("fallback", "backup", "backup")
    assert (fallback.handler, fallback.value) == (None, None)
