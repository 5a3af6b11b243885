"""Tests for toolware.pipeline: crashes, typed errors, cancellation and context propagation."""

from __future__ import annotations

import asyncio
import contextvars
import logging
from typing import Any

import pytest

from tests.pipeline_support import Crasher, Recorder, echo, passthrough
from toolware.context import (
    Kind,
    RequestContext,
    ResponseContext,
)
from toolware.errors import (
    ErrorCategory,
    InternalError,
    RateLimitedError,
    ToolFailedError,
)
from toolware.pipeline import PipelineBuilder
from toolware.testing import FakeClock, FakeHandler
from toolware.types import CallNext

# --- failures --------------------------------------------------------------------------------


async def test_crashing_interceptor_becomes_a_named_internal_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A plain exception from an interceptor becomes an internal error naming it."""
    handler = FakeHandler(["ok"])
    pipeline = (
        PipelineBuilder(name="main")
        .use(passthrough)
        .use(Crasher("auth", fail=True))
        .route(handler)
        .build()
    )
    with caplog.at_level(logging.ERROR, logger="toolware.pipeline"):
        response = await pipeline.invoke("search")
    error = response.error
    assert isinstance(error, InternalError)
    assert error.category is ErrorCategory.INTERNAL
    assert error.interceptor == "auth"
    assert error.message.startswith("interceptor 'auth' raised ValueError;")
    assert "auth is broken" not in str(error.to_dict())  # the text stays in logs and __cause__
    assert isinstance(error.__cause__, ValueError)
    assert error.request_id is not None
    assert error.target == "search"
    assert handler.call_count == 0
    assert [r.getMessage().split()[0] for r in caplog.records] == ["pipeline.interceptor_crashed"]
    assert "interceptor=auth" in caplog.records[0].getMessage()
    assert caplog.records[0].interceptor == "auth"  # type: ignore[attr-defined]


async def test_crash_names_the_right_instance_of_a_shared_class() -> None:
    """Two instances of one class are told apart by name."""
    pipeline = (
        PipelineBuilder()
        .use(Crasher("first", fail=False))
        .use(Crasher("second", fail=True))
        .route(echo)
        .build()
    )
    error = (await pipeline.invoke("search")).error
    assert isinstance(error, InternalError)
    assert error.interceptor == "second"
    assert "'second'" in error.message
    swapped = (
        PipelineBuilder()
        .use(Crasher("first", fail=True))
        .use(Crasher("second", fail=False))
        .route(echo)
        .build()
    )
    error = (await swapped.invoke("search")).error
    assert isinstance(error, InternalError)
    assert error.interceptor == "first"


async def test_use_name_overrides_the_attributed_name() -> None:
    """name= given to use() is what describe() and crash reports show."""
    pipeline = PipelineBuilder().use(Crasher("x", fail=True), name="renamed").route(echo).build()
    error = (await pipeline.invoke("search")).error
    assert isinstance(error, InternalError)
    assert error.interceptor == "renamed"
    assert pipeline.describe()[0] == "renamed"


async def test_crash_in_an_inner_interceptor_names_the_inner_one() -> None:
    """An exception passing through an outer interceptor is blamed on the inner one."""
    log: list[str] = []

    async def inner_bug(request: RequestContext, call_next: CallNext) -> ResponseContext:
        return {}["missing"]  # type: ignore[no-any-return]

    pipeline = PipelineBuilder().use(Recorder("outer", log)).use(inner_bug).route(echo).build()
    error = (await pipeline.invoke("search")).error
    assert isinstance(error, InternalError)
    assert error.interceptor.endswith("inner_bug")  # type: ignore[union-attr]
    assert "raised KeyError" in error.message
    assert log == ["outer:in"]


async def test_crash_raised_anew_by_the_outer_interceptor_names_the_outer_one() -> None:
    """An outer interceptor that catches and raises its own exception is the culprit."""

    async def translate(request: RequestContext, call_next: CallNext) -> ResponseContext:
        try:
            return await call_next(request)
        except ValueError:
            raise RuntimeError("translated") from None

    pipeline = (
        PipelineBuilder()
        .use(translate, name="translate")
        .use(Crasher("inner", fail=True))
        .route(echo)
        .build()
    )
    error = (await pipeline.invoke("search")).error
    assert isinstance(error, InternalError)
    assert error.interceptor == "translate"


async def test_crashing_terminal_handler_is_named() -> None:
    """A terminal handler that raises is named in the internal error."""

    async def broken_handler(request: RequestContext) -> ResponseContext:
        raise RuntimeError("oops")

    pipeline = PipelineBuilder().use(passthrough).route(broken_handler).build()
    error = (await pipeline.invoke("search")).error
    assert isinstance(error, InternalError)
    assert error.interceptor is not None
    assert error.interceptor.endswith("broken_handler")
    assert error.message.startswith("handler ")


async def test_interceptor_returning_none_becomes_an_internal_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A path that forgets to return the response is an internal error, not a None value."""

    async def forgetful(request: RequestContext, call_next: CallNext) -> ResponseContext:
        await call_next(request)
        return None  # type: ignore[return-value]

    handler = FakeHandler(["ok"])
    pipeline = PipelineBuilder(name="main").use(forgetful).route(handler).build()
    with caplog.at_level(logging.ERROR, logger="toolware.pipeline"):
        response = await pipeline.invoke("search")
    assert handler.call_count == 1
    assert isinstance(response.error, InternalError)
    assert "got NoneType instead of a ResponseContext" in response.error.message
    assert "return await call_next(request)" in response.error.hint
    assert [r.message.split()[0] for r in caplog.records] == ["pipeline.bad_response"]
    assert "type=NoneType" in caplog.records[0].message


async def test_crash_without_a_known_culprit_names_the_pipeline() -> None:
    """When no stage is in the traceback the pipeline itself is named."""

    def not_async(request: RequestContext, call_next: CallNext) -> Any:
        return None  # not awaitable: the await in the pipeline fails

    pipeline = PipelineBuilder(name="main").use(not_async).route(echo).build()
    error = (await pipeline.invoke("search")).error
    assert isinstance(error, InternalError)
    assert error.interceptor is None
    assert error.message.startswith("pipeline 'main' raised TypeError")


async def test_crashing_predicate_is_blamed_on_its_stage_not_the_sub_pipeline() -> None:
    """A when= predicate that raises names its own stage, not the terminal sub-pipeline."""

    def broken_predicate(request: RequestContext) -> bool:
        raise KeyError("no field")

    inner = PipelineBuilder(name="inner").route(FakeHandler(["ok"])).build()
    outer = (
        PipelineBuilder(name="outer")
        .use(passthrough, when=broken_predicate, name="guarded")
        .route(inner)
        .build()
    )
    error = (await outer.invoke("search")).error
    assert isinstance(error, InternalError)
    assert error.interceptor == "guarded"


async def test_outer_pipeline_frame_is_not_mistaken_for_its_sub_pipeline() -> None:
    """With a sub-pipeline terminal, a crash outside every stage names the outer pipeline."""

    def not_async(request: RequestContext, call_next: CallNext) -> Any:
        return None

    inner = PipelineBuilder(name="inner").route(FakeHandler(["ok"])).build()
    outer = PipelineBuilder(name="outer").use(not_async).route(inner).build()
    error = (await outer.invoke("search")).error
    assert isinstance(error, InternalError)
    assert error.interceptor is None
    assert error.message.startswith("pipeline 'outer'")


async def test_toolware_error_from_an_interceptor_keeps_its_category() -> None:
    """A ToolwareError raised by an interceptor keeps its class and fields, bound to the call
    (a bound copy: the raised object may be kept and raised again for other calls)."""
    raised = RateLimitedError("slow down", retry_after=2.0)

    async def limit(request: RequestContext, call_next: CallNext) -> ResponseContext:
        raise raised

    pipeline = PipelineBuilder().use(limit).route(echo).build()
    response = await pipeline.invoke("notes", kind=Kind.PLUGIN, action="add")
    error = response.error
    assert isinstance(error, RateLimitedError)
    assert error.category is ErrorCategory.RATE_LIMITED
    assert error.retry_after == 2.0
    assert error.request_id is not None
    assert error.target == "notes.add"


async def test_handler_failures_are_returned_not_raised() -> None:
    """A failing handler's error comes back as a response value."""
    pipeline = PipelineBuilder().use(passthrough).route(FakeHandler([OSError("x")])).build()
    response = await pipeline.invoke("search")
    assert isinstance(response.error, ToolFailedError)
    with pytest.raises(ToolFailedError):
        response.unwrap()


async def test_cancelled_error_propagates() -> None:
    """asyncio.CancelledError raised inside is not turned into a response."""

    async def cancel(request: RequestContext, call_next: CallNext) -> ResponseContext:
        raise asyncio.CancelledError

    pipeline = PipelineBuilder().use(cancel).route(echo).build()
    with pytest.raises(asyncio.CancelledError):
        await pipeline.invoke("search")


async def test_cancelling_a_call_in_flight_cancels_the_task() -> None:
    """Cancelling the task running a call cancels it; no response is made up."""
    clock = FakeClock()
    handler = FakeHandler(["late"], delay=5.0, clock=clock)
    pipeline = PipelineBuilder(clock=clock).use(passthrough).route(handler).build()
    task = asyncio.create_task(pipeline.invoke("search"))
    await clock.advance(1.0)
    assert handler.call_count == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert clock.pending == 0


async def test_context_vars_flow_inwards() -> None:
    """A ContextVar set by an outer interceptor is visible to inner ones and the handler."""
    user: contextvars.ContextVar[str] = contextvars.ContextVar("user", default="nobody")
    seen: list[str] = []

    async def set_user(request: RequestContext, call_next: CallNext) -> ResponseContext:
        token = user.set("alice")
        try:
            return await call_next(request)
        finally:
            user.reset(token)

    async def read_user(request: RequestContext, call_next: CallNext) -> ResponseContext:
        seen.append(user.get())
        return await call_next(request)

    async def handler(request: RequestContext) -> ResponseContext:
        return ResponseContext.success(user.get())

    pipeline = PipelineBuilder().use(set_user).use(read_user).route(handler).build()
    assert (await pipeline.invoke("search")).value == "alice"
    assert seen == ["alice"]
    assert user.get() == "nobody"


async def test_an_exception_whose_str_fails_is_still_a_response() -> None:
    """A crash whose exception cannot be printed is still reported, by type, as a value."""

    class Unprintable(Exception):
        def __str__(self) -> str:
            raise RuntimeError("cannot render")

    async def broken(request: RequestContext, call_next: CallNext) -> ResponseContext:
        raise Unprintable

    handler = FakeHandler(["ok"])
    response = await PipelineBuilder().use(broken).route(handler).build().invoke("search")
    assert isinstance(response.error, InternalError)
    assert "Unprintable" in response.error.message


async def test_a_bad_response_is_named_with_its_type_call_and_pipeline(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A str returned instead of a response: the error and the log record name str, the call
    and the pipeline, in the message and in the record's fields."""

    async def wrong(request: RequestContext, call_next: CallNext) -> ResponseContext:
        return "oops"  # type: ignore[return-value]

    pipeline = PipelineBuilder(name="main").use(wrong).route(echo).build()
    request = RequestContext.create("notes", kind=Kind.PLUGIN, action="add")
    with caplog.at_level(logging.ERROR, logger="toolware.pipeline"):
        response = await pipeline(request)
    error = response.error
    assert isinstance(error, InternalError)
    assert error.message == (
        "pipeline 'main' got str instead of a ResponseContext from its interceptors or handler"
    )
    assert error.hint == (
        "check that every path of each interceptor returns a response, "
        "e.g. `return await call_next(request)`"
    )
    assert (error.request_id, error.target) == (request.id, "notes.add")
    (record,) = caplog.records
    assert record.getMessage() == (
        f"pipeline.bad_response pipeline=main type=str request_id={request.id}"
    )
    fields = {key: getattr(record, key) for key in ("pipeline", "type", "request_id")}
    assert fields == {"pipeline": "main", "type": "str", "request_id": request.id}


async def test_the_crash_record_names_pipeline_stage_call_and_exception_type(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """'pipeline.interceptor_crashed' carries the same fields in its message and its extra."""
    pipeline = PipelineBuilder(name="main").use(Crasher("auth", fail=True)).route(echo).build()
    with caplog.at_level(logging.ERROR, logger="toolware.pipeline"):
        response = await pipeline.invoke("search")
    assert response.error is not None
    request_id = response.error.request_id
    (record,) = caplog.records
    assert record.getMessage() == (
        f"pipeline.interceptor_crashed pipeline=main interceptor=auth request_id={request_id} "
        "error=ValueError"
    )
    fields = {key: getattr(record, key) for key in ("pipeline", "interceptor", "request_id")}
    assert fields == {"pipeline": "main", "interceptor": "auth", "request_id": request_id}
    assert response.error.message == (
        "interceptor 'auth' raised ValueError; the traceback is in the "
        "'pipeline.interceptor_crashed' log record"
    )


async def test_a_response_subclass_is_a_response() -> None:
    """An interceptor may return an instance of a ResponseContext subclass."""

    class Tagged(ResponseContext, frozen=True, kw_only=True):
        tag: str = "t"

    async def tagging(request: RequestContext, call_next: CallNext) -> ResponseContext:
        return Tagged(value="v")

    response = await PipelineBuilder().use(tagging).route(echo).build().invoke("x")
    assert isinstance(response, Tagged)
    assert response.unwrap() == "v"
