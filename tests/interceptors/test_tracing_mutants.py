"""Mutation-testing pins for toolware.interceptors.tracing and _tracing_support: exact warnings,
the tracer's scope, unsampled calls, detaching, done streams and the attributes hook."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import INVALID_SPAN_CONTEXT, NoOpTracerProvider

from toolware import LocalRegistry, PipelineBuilder, RequestContext, ResponseContext
from toolware.interceptors._tracing_support import clean_attributes, load_api
from toolware.interceptors.tracing import SPAN, TracingInterceptor, record_event
from toolware.markers import ATTEMPT
from toolware.streams import ResponseStream
from toolware.testing import FakeClock, FakeHandler
from toolware.types import CallNext

TAIL = ": the call goes on; fix the tracer provider or hook (logged once)"


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def provider(exporter: InMemorySpanExporter) -> Iterator[TracerProvider]:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider
    provider.shutdown()


def build(terminal: Any, *stages: Any, clock: FakeClock | None = None) -> Any:
    builder = PipelineBuilder(clock=clock or FakeClock())
    for stage in stages:
        builder.use(stage)
    return builder.route(terminal).build()


def warnings(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str, str]]:
    return [
        (r.getMessage(), r.target, r.error)  # type: ignore[attr-defined]
        for r in caplog.records
        if r.name == "toolware.interceptors.tracing" and r.levelno == logging.WARNING
    ]


def counter() -> LocalRegistry:
    registry = LocalRegistry()

    @registry.tool
    async def count(n: int) -> AsyncIterator[int]:
        for i in range(n):
            yield i

    return registry


class FailingStart(SpanProcessor):
    def on_start(self, span: Any, parent_context: Any = None) -> None:
        raise RuntimeError("processor start")


class FailingEnd(SpanProcessor):
    def on_end(self, span: ReadableSpan) -> None:
        raise RuntimeError("processor end")


async def test_start_failure_warning_is_exact(caplog: pytest.LogCaptureFixture) -> None:
    """A span that cannot start logs tracing.span_failed with the target and error type."""
    provider = TracerProvider()
    provider.add_span_processor(FailingStart())
    pipeline = build(FakeHandler(["ok"]), TracingInterceptor(tracer_provider=provider))
    with caplog.at_level(logging.WARNING):
        assert (await pipeline.invoke("t")).unwrap() == "ok"
    assert warnings(caplog) == [
        (f"tracing.span_failed target=t error=RuntimeError{TAIL}", "t", "RuntimeError")
    ]


async def test_hook_failure_warning_is_exact(
    caplog: pytest.LogCaptureFixture, provider: TracerProvider
) -> None:
    """A raising attributes hook logs tracing.hook_failed naming the hook's error type."""

    def hook(request: RequestContext, response: ResponseContext) -> dict[str, object]:
        raise KeyError("x")

    tracing = TracingInterceptor(tracer_provider=provider, attributes=hook)
    with caplog.at_level(logging.WARNING):
        await build(FakeHandler(["ok"]), tracing).invoke("t")
    assert warnings(caplog) == [
        (f"tracing.hook_failed target=t error=KeyError{TAIL}", "t", "KeyError")
    ]


class PickySpan:
    """A recording span whose set_attributes raises on attributes containing ``refuse``."""

    def __init__(self, refuse: str, end_error: bool = False) -> None:
        self.refuse = refuse
        self.end_error = end_error
        self.ended = 0

    def is_recording(self) -> bool:
        return True

    def get_span_context(self) -> Any:
        return INVALID_SPAN_CONTEXT

    def set_attributes(self, attributes: Any) -> None:
        if self.refuse in attributes:
            raise ValueError("sdk")

    def end(self) -> None:
        self.ended += 1


class PickyProvider:
    def __init__(self, refuse: str) -> None:
        self.refuse = refuse
        self.spans: list[PickySpan] = []

    def get_tracer(self, *args: Any, **kwargs: Any) -> PickyProvider:
        return self

    def start_span(self, *args: Any, **kwargs: Any) -> PickySpan:
        span = PickySpan(self.refuse)
        self.spans.append(span)
        return span


async def test_record_failure_warning_is_exact(caplog: pytest.LogCaptureFixture) -> None:
    """set_attributes raising at the end of a plain call logs tracing.span_failed exactly."""
    provider = PickyProvider("toolware.attempts")
    tracing = TracingInterceptor(tracer_provider=provider)  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING):
        assert (await build(FakeHandler(["ok"]), tracing).invoke("t")).unwrap() == "ok"
    assert warnings(caplog) == [
        (f"tracing.span_failed target=t error=ValueError{TAIL}", "t", "ValueError")
    ]
    assert [span.ended for span in provider.spans] == [1]


async def test_stream_end_failure_warning_is_exact(caplog: pytest.LogCaptureFixture) -> None:
    """set_attributes raising only at a stream's end logs tracing.span_failed for its target."""
    provider = PickyProvider("toolware.stream.outcome")
    tracing = TracingInterceptor(tracer_provider=provider)  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING):
        response = await build(counter(), tracing).invoke("count", {"n": 2})
        assert (await response.collect()).unwrap() == [0, 1]
    assert warnings(caplog) == [
        (f"tracing.span_failed target=count error=ValueError{TAIL}", "count", "ValueError")
    ]
    assert [span.ended for span in provider.spans] == [1]


async def test_stream_span_end_failure_names_the_target(caplog: pytest.LogCaptureFixture) -> None:
    """A processor raising as a stream's span ends: the warning names the call's target."""
    provider = TracerProvider()
    provider.add_span_processor(FailingEnd())
    tracing = TracingInterceptor(tracer_provider=provider)
    with caplog.at_level(logging.WARNING):
        response = await build(counter(), tracing).invoke("count", {"n": 2})
        assert (await response.collect()).unwrap() == [0, 1]
    assert warnings(caplog) == [
        (f"tracing.span_failed target=count error=RuntimeError{TAIL}", "count", "RuntimeError")
    ]


async def test_cancelled_span_end_failure_names_the_target(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Cancelled while the span's end fails: the cancellation goes on, the warning names it."""
    provider = TracerProvider()
    provider.add_span_processor(FailingEnd())
    clock = FakeClock()
    pipeline = build(
        FakeHandler(["late"], delay=5.0, clock=clock),
        TracingInterceptor(tracer_provider=provider),
        clock=clock,
    )
    with caplog.at_level(logging.WARNING):
        task = asyncio.create_task(pipeline.invoke("slow"))
        await clock.advance(1.0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert warnings(caplog) == [
        (f"tracing.span_failed target=slow error=RuntimeError{TAIL}", "slow", "RuntimeError")
    ]


async def test_cancelled_span_status_names_the_exception(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """A cancelled call's span status description is the exception's type name."""
    clock = FakeClock()
    pipeline = build(
        FakeHandler(["late"], delay=5.0, clock=clock),
        TracingInterceptor(tracer_provider=provider),
        clock=clock,
    )
    task = asyncio.create_task(pipeline.invoke("slow"))
    await clock.advance(1.0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    (span,) = exporter.get_finished_spans()
    assert span.status.description == "CancelledError"


async def test_stage_span_end_failure_warning_is_exact(caplog: pytest.LogCaptureFixture) -> None:
    """A stage span whose end fails logs tracing.span_failed with the target."""

    class StageEnd(SpanProcessor):
        def on_end(self, span: ReadableSpan) -> None:
            if span.name.startswith("toolware.stage"):
                raise LookupError("processor end")

    async def passthrough(request: RequestContext, call_next: CallNext) -> ResponseContext:
        return await call_next(request)

    provider = TracerProvider()
    provider.add_span_processor(StageEnd())
    tracing = TracingInterceptor(tracer_provider=provider, per_stage_spans=True)
    pipeline = build(FakeHandler(["ok"]), tracing, tracing.stage(passthrough, name="p"))
    with caplog.at_level(logging.WARNING):
        assert (await pipeline.invoke("t")).unwrap() == "ok"
    assert warnings(caplog) == [
        (f"tracing.span_failed target=t error=LookupError{TAIL}", "t", "LookupError")
    ]


def test_record_event_fault_is_logged_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    """A span whose add_event raises: one debug record tracing.event_failed with the event."""

    class Broken:
        def add_event(self, *args: object) -> None:
            raise RuntimeError("sdk")

    request = RequestContext.create("t").with_extra(SPAN, Broken())  # type: ignore[arg-type]
    with caplog.at_level(logging.DEBUG, logger="toolware.interceptors.tracing"):
        assert record_event(request, "app.e") is False
    records = [r for r in caplog.records if r.name == "toolware.interceptors.tracing"]
    assert [(r.levelno, r.getMessage(), r.event) for r in records] == [  # type: ignore[attr-defined]
        (logging.DEBUG, "tracing.event_failed event=app.e", "app.e")
    ]


def test_record_event_without_attributes_passes_none() -> None:
    """No attributes (or empty ones) reach the span as None, not an empty mapping."""
    seen: list[tuple[object, ...]] = []

    class Recorder:
        def add_event(self, *args: object) -> None:
            seen.append(args)

    request = RequestContext.create("t").with_extra(SPAN, Recorder())  # type: ignore[arg-type]
    assert record_event(request, "a") is True
    assert record_event(request, "b", {}) is True
    assert record_event(request, "c", {"k": 1}) is True
    assert seen == [("a", None), ("b", None), ("c", {"k": 1})]


async def test_tracer_is_named_toolware_and_looked_up_once(
    exporter: InMemorySpanExporter,
) -> None:
    """The tracer comes from get_tracer('toolware'), once per interceptor, not per call."""
    names: list[str] = []

    class Counting(TracerProvider):
        def get_tracer(self, name: str, *args: Any, **kwargs: Any) -> Any:
            names.append(name)
            return super().get_tracer(name, *args, **kwargs)

    provider = Counting()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    pipeline = build(FakeHandler(["a", "b"]), TracingInterceptor(tracer_provider=provider))
    await pipeline.invoke("t")
    await pipeline.invoke("t")
    assert names == ["toolware"]
    assert [s.instrumentation_scope.name for s in exporter.get_finished_spans()] == [
        "toolware",
        "toolware",
    ]


async def test_untraced_calls_reach_the_handler_unchanged() -> None:
    """With the no-op provider, first and later calls reach the handler with their request."""
    handler = FakeHandler(["a", "b"])
    pipeline = build(handler, TracingInterceptor(tracer_provider=NoOpTracerProvider()))
    assert (await pipeline.invoke("t", {"q": 1})).unwrap() == "a"
    assert (await pipeline.invoke("u", {"q": 2})).unwrap() == "b"
    assert [(c.target, dict(c.arguments)) for c in handler.calls] == [
        ("t", {"q": 1}),
        ("u", {"q": 2}),
    ]


async def test_unsampled_call_carries_no_span() -> None:
    """Under a non-recording span the request has no SPAN and record_event answers False."""
    seen: list[object] = []

    async def tool(request: RequestContext) -> ResponseContext:
        seen.append(request.get(SPAN))
        seen.append(record_event(request, "app.e"))
        return ResponseContext.success("ok")

    provider = TracerProvider(sampler=ALWAYS_OFF)
    await build(tool, TracingInterceptor(tracer_provider=provider)).invoke("t")
    assert seen == [None, False]


async def test_context_is_detached_cleanly(
    caplog: pytest.LogCaptureFixture, provider: TracerProvider
) -> None:
    """The call's and each stage's context are detached with their tokens: no context error."""

    async def passthrough(request: RequestContext, call_next: CallNext) -> ResponseContext:
        return await call_next(request)

    tracing = TracingInterceptor(tracer_provider=provider, per_stage_spans=True)
    pipeline = build(FakeHandler(["ok"]), tracing, tracing.stage(passthrough))
    with caplog.at_level(logging.DEBUG):
        assert (await pipeline.invoke("t")).unwrap() == "ok"
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_stream_done_before_tracing_sees_it_gets_a_new_layer(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """A stream already ended when tracing observes it: the caller gets the observed layer,
    and the span ends when that layer is read."""
    inner: list[ResponseStream] = []

    async def closer(request: RequestContext, call_next: CallNext) -> ResponseContext:
        response = await call_next(request)
        assert response.stream is not None
        await response.stream.aclose()
        inner.append(response.stream)
        return response

    async def tool(request: RequestContext) -> ResponseContext:
        return ResponseContext.success(None).with_stream(ResponseStream.of([1, 2]))

    pipeline = build(tool, TracingInterceptor(tracer_provider=provider), closer)
    response = await pipeline.invoke("t")
    assert response.stream is not None
    assert response.stream is not inner[0]
    assert exporter.get_finished_spans() == ()
    assert (await response.collect()).unwrap() == []
    (span,) = exporter.get_finished_spans()
    assert span.attributes["toolware.stream.outcome"] == "completed"  # type: ignore[index]
    assert span.attributes["toolware.stream.chunks"] == 0  # type: ignore[index]


async def test_hook_gets_the_request_and_the_response(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """The attributes hook is called with the call's request and its response."""

    def hook(request: RequestContext, response: ResponseContext) -> dict[str, object]:
        return {"app.target": request.target, "app.value": response.value}

    tracing = TracingInterceptor(tracer_provider=provider, attributes=hook)
    await build(FakeHandler(["ok"]), tracing).invoke("t")
    (span,) = exporter.get_finished_spans()
    assert span.attributes["app.target"] == "t"  # type: ignore[index]
    assert span.attributes["app.value"] == "ok"  # type: ignore[index]


def test_one_item_sequence_is_kept() -> None:
    """A one-item primitive sequence is kept as a tuple."""
    assert clean_attributes({"k": [7]}) == {"k": (7,)}
    assert clean_attributes({"k": [7, "x"]}) == {"k": "[7, 'x']"}


async def test_attempt_events_add_nothing_to_a_first_attempt(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """attempt_events() without retry or hedging (no ATTEMPT marker) adds no event."""
    tracing = TracingInterceptor(tracer_provider=provider)
    await build(FakeHandler(["ok"]), tracing, tracing.attempt_events()).invoke("t")
    (span,) = exporter.get_finished_spans()
    assert span.events == ()


def test_missing_api_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without opentelemetry-api, load_api raises an ImportError naming the extra."""
    monkeypatch.setitem(sys.modules, "opentelemetry", None)
    with pytest.raises(ImportError) as caught:
        load_api()
    assert str(caught.value) == (
        "TracingInterceptor needs opentelemetry-api: pip install 'toolware[otel]'"
    )


async def test_attempt_zero_counts_as_a_first_attempt(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """An ATTEMPT marker of 0 set by an outer stage is read as attempt 1: no retry event."""

    async def zero(request: RequestContext, call_next: CallNext) -> ResponseContext:
        return await call_next(request.with_extra(ATTEMPT, 0))

    tracing = TracingInterceptor(tracer_provider=provider)
    await build(FakeHandler(["ok"]), tracing, zero, tracing.attempt_events()).invoke("t")
    (span,) = exporter.get_finished_spans()
    assert span.events == ()


async def test_untraced_stage_gets_the_request() -> None:
    """Without a tracer, a stage wrapper hands its interceptor the call's own request."""
    seen: list[str] = []

    async def spy(request: RequestContext, call_next: CallNext) -> ResponseContext:
        seen.append(request.target)
        return await call_next(request)

    tracing = TracingInterceptor(tracer_provider=NoOpTracerProvider(), per_stage_spans=True)
    pipeline = build(FakeHandler(["ok"]), tracing, tracing.stage(spy))
    assert (await pipeline.invoke("t")).unwrap() == "ok"
    assert seen == ["t"]


async def test_a_remote_parent_keeps_the_callers_baggage() -> None:
    """With trace= the span's parent is the remote one, and the caller's baggage still
    reaches the tool: the remote context is extracted over the current one."""
    from opentelemetry import baggage
    from opentelemetry import context as otel_context
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from toolware import LocalRegistry, PipelineBuilder, TraceContext
    from toolware.interceptors.tracing import TracingInterceptor

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    registry = LocalRegistry()
    seen: list[object] = []

    @registry.tool
    async def whoami() -> str:
        seen.append(baggage.get_baggage("user"))
        return "ok"

    pipeline = (
        PipelineBuilder().use(TracingInterceptor(tracer_provider=provider)).route(registry).build()
    )
    remote = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    token = otel_context.attach(baggage.set_baggage("user", "ann"))
    try:
        await pipeline.invoke("whoami", trace=TraceContext(traceparent=remote))
    finally:
        otel_context.detach(token)
    assert seen == ["ann"]
    [span] = exporter.get_finished_spans()
    assert span.parent is not None
    assert f"{span.parent.span_id:016x}" == "b7ad6b7169203331"
    assert f"{span.context.trace_id:032x}" == "0af7651916cd43dd8448eb211c80319c"
