"""Tests for toolware.interceptors.tracing: spans, attributes, events, streams and failures."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

import pytest
from opentelemetry import trace as otel_trace
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import NoOpTracerProvider, SpanKind, StatusCode

from toolware import (
    CircuitBreakerInterceptor,
    ErrorCategory,
    Kind,
    LocalRegistry,
    PipelineBuilder,
    RequestContext,
    ResponseContext,
    RetryInterceptor,
    ToolFailedError,
    UnavailableError,
)
from toolware.context import TraceContext
from toolware.interceptors.tracing import RECHECK_EVERY, SPAN, TracingInterceptor, record_event
from toolware.markers import CACHE_HIT, FALLBACK, FAULT, HEDGES, WAITED, FallbackServed
from toolware.testing import FakeClock, FakeHandler
from toolware.types import CallNext

PARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def provider(exporter: InMemorySpanExporter) -> Iterator[TracerProvider]:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider
    provider.shutdown()


def traced(terminal: Any, *stages: Any, clock: FakeClock | None = None) -> Any:
    builder = PipelineBuilder(clock=clock or FakeClock())
    for stage in stages:
        builder.use(stage)
    return builder.route(terminal).build()


def only(exporter: InMemorySpanExporter) -> ReadableSpan:
    spans = exporter.get_finished_spans()
    assert len(spans) == 1
    return spans[0]


async def test_tool_call_is_one_execute_tool_span(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """A tool call gives one INTERNAL span named and dressed as the GenAI conventions say."""
    pipeline = traced(FakeHandler(["ok"]), TracingInterceptor(tracer_provider=provider))
    response = await pipeline.invoke("search", {"q": 1})
    assert response.unwrap() == "ok"
    span = only(exporter)
    assert span.name == "execute_tool search"
    assert span.kind is SpanKind.INTERNAL
    assert dict(span.attributes or {}) == {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "search",
        "gen_ai.tool.call.id": span.attributes["gen_ai.tool.call.id"],  # type: ignore[index]
        "gen_ai.tool.type": "function",
        "toolware.kind": "tool",
        "toolware.attempts": 1,
        "toolware.cache_hit": False,
    }
    assert span.status.status_code is StatusCode.UNSET
    assert span.events == ()
    assert span.parent is None


async def test_call_id_is_the_request_id(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """gen_ai.tool.call.id is the request's own id."""
    handler = FakeHandler(["ok"])
    await traced(handler, TracingInterceptor(tracer_provider=provider)).invoke("search")
    assert only(exporter).attributes["gen_ai.tool.call.id"] == handler.calls[0].id  # type: ignore[index]


async def test_plugin_action_is_an_extension_tool(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """A plugin action is named target.action, typed extension, its action under toolware."""
    pipeline = traced(FakeHandler(["ok"]), TracingInterceptor(tracer_provider=provider))
    await pipeline.invoke("notes", kind=Kind.PLUGIN, action="add")
    span = only(exporter)
    assert span.name == "execute_tool notes.add"
    attributes = span.attributes or {}
    assert attributes["gen_ai.tool.name"] == "notes.add"
    assert attributes["gen_ai.tool.type"] == "extension"
    assert attributes["toolware.kind"] == "plugin"
    assert attributes["toolware.action"] == "add"


async def test_rag_call_is_a_retrieval_span(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """A RAG call is a 'retrieval' operation on the data source named by its target."""
    handler = FakeHandler([["doc"]])
    pipeline = traced(handler, TracingInterceptor(tracer_provider=provider))
    await pipeline.invoke("kb", {"query": "x"}, kind=Kind.RAG)
    span = only(exporter)
    assert span.name == "retrieval"
    assert dict(span.attributes or {}) == {
        "gen_ai.operation.name": "retrieval",
        "gen_ai.data_source.id": "kb",
        "toolware.request_id": handler.calls[0].id,
        "toolware.kind": "rag",
        "toolware.attempts": 1,
        "toolware.cache_hit": False,
    }


async def test_failure_sets_error_status_type_and_exception_event(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """A failed call: status ERROR with category and message, error.type, an exception event."""
    pipeline = traced(
        FakeHandler([ToolFailedError("disk full")]), TracingInterceptor(tracer_provider=provider)
    )
    response = await pipeline.invoke("save")
    assert response.error is not None
    span = only(exporter)
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "tool_failed: disk full"
    assert span.attributes["error.type"] == "tool_failed"  # type: ignore[index]
    assert "toolware.breaker.state" not in (span.attributes or {})
    [event] = span.events
    assert event.name == "exception"
    assert dict(event.attributes or {}) == {
        "exception.type": "ToolFailedError",
        "exception.message": "disk full",
    }


async def test_incoming_traceparent_is_the_parent(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """request.trace becomes the span's remote parent: same trace id, parent span id."""
    pipeline = traced(FakeHandler(["ok"]), TracingInterceptor(tracer_provider=provider))
    await pipeline.invoke("search", trace=TraceContext(traceparent=PARENT, tracestate="k=v"))
    span = only(exporter)
    assert span.context is not None
    assert span.parent is not None
    assert span.context.trace_id == 0x0AF7651916CD43DD8448EB211C80319C
    assert span.parent.span_id == 0xB7AD6B7169203331
    assert span.parent.is_remote
    assert span.context.trace_state.get("k") == "v"


async def test_span_is_current_inside_the_call(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """The tool runs with the span current and on the request under SPAN; both are gone after."""
    seen: list[Any] = []

    async def tool(request: RequestContext) -> ResponseContext:
        seen.append((otel_trace.get_current_span(), request.get(SPAN)))
        return ResponseContext.success("ok")

    await traced(tool, TracingInterceptor(tracer_provider=provider)).invoke("t")
    current, carried = seen[0]
    assert current is carried
    assert current.get_span_context().span_id == only(exporter).context.span_id  # type: ignore[union-attr]
    assert not otel_trace.get_current_span().is_recording()


async def test_markers_become_toolware_attributes(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """Cache hit, fallback, hedges, fault and waiting time are read from the markers."""

    async def marked(request: RequestContext, call_next: CallNext) -> ResponseContext:
        response = await call_next(request)
        response = response.with_extra(CACHE_HIT, True)
        response = response.with_extra(
            FALLBACK, FallbackServed(source="backup", category=ErrorCategory.TIMEOUT)
        )
        response = response.with_extra(HEDGES, 2).with_extra(FAULT, "latency")
        return response.with_extra(WAITED, 0.25).with_attempts(3)

    await traced(FakeHandler(["ok"]), TracingInterceptor(tracer_provider=provider), marked).invoke(
        "t"
    )
    attributes = only(exporter).attributes or {}
    assert attributes["toolware.cache_hit"] is True
    assert attributes["toolware.fallback.source"] == "backup"
    assert attributes["toolware.fallback.category"] == "timeout"
    assert attributes["toolware.hedges"] == 2
    assert attributes["toolware.fault"] == "latency"
    assert attributes["toolware.waited"] == 0.25
    assert attributes["toolware.attempts"] == 3


async def test_zero_markers_are_left_out(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """Hedges 0 and waited 0.0 set explicitly add no attribute."""

    async def marked(request: RequestContext, call_next: CallNext) -> ResponseContext:
        response = await call_next(request)
        return response.with_extra(HEDGES, 0).with_extra(WAITED, 0.0)

    await traced(FakeHandler(["ok"]), TracingInterceptor(tracer_provider=provider), marked).invoke(
        "t"
    )
    attributes = only(exporter).attributes or {}
    assert "toolware.hedges" not in attributes
    assert "toolware.waited" not in attributes
    assert "toolware.fallback.source" not in attributes
    assert "toolware.fault" not in attributes


async def test_retries_are_events_and_attempts_counted(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """attempt_events() inside retry adds one toolware.retry event per extra attempt."""
    clock = FakeClock()
    tracing = TracingInterceptor(tracer_provider=provider)
    handler = FakeHandler([UnavailableError("down"), UnavailableError("down"), "ok"])
    pipeline = traced(
        handler,
        tracing,
        RetryInterceptor(attempts=3, retry_non_idempotent=True, random=random.Random(1)),
        tracing.attempt_events(),
        clock=clock,
    )
    task = asyncio.create_task(pipeline.invoke("flaky"))
    for _ in range(20):
        await clock.advance(1.0)
    assert (await task).unwrap() == "ok"
    span = only(exporter)
    assert [(e.name, dict(e.attributes or {})) for e in span.events] == [
        ("toolware.retry", {"toolware.attempt": 2}),
        ("toolware.retry", {"toolware.attempt": 3}),
    ]
    assert span.attributes["toolware.attempts"] == 3  # type: ignore[index]
    assert tracing.attempt_events().name == "tracing.attempts"  # type: ignore[attr-defined]


async def test_hedges_are_events(provider: TracerProvider, exporter: InMemorySpanExporter) -> None:
    """An attempt marked as hedge n adds a toolware.hedge event with n."""
    from toolware.markers import HEDGE

    tracing = TracingInterceptor(tracer_provider=provider)

    async def hedged(request: RequestContext, call_next: CallNext) -> ResponseContext:
        return await call_next(request.with_extra(HEDGE, 1))

    await traced(FakeHandler(["ok"]), tracing, hedged, tracing.attempt_events()).invoke("t")
    assert [(e.name, dict(e.attributes or {})) for e in only(exporter).events] == [
        ("toolware.hedge", {"toolware.hedge": 1})
    ]


async def test_attempt_events_without_a_span_pass_through() -> None:
    """Untraced, attempt_events() only passes the call on."""
    tracing = TracingInterceptor(tracer_provider=NoOpTracerProvider())
    response = await traced(FakeHandler(["ok"]), tracing.attempt_events()).invoke("t")
    assert response.unwrap() == "ok"


async def test_breaker_transitions_are_events(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """breaker_events() turns the breaker opening into an event and sets its state."""
    clock = FakeClock()
    tracing = TracingInterceptor(tracer_provider=provider)
    breaker = CircuitBreakerInterceptor(
        failure_ratio=None, consecutive_failures=1, on_state_change=tracing.breaker_events()
    )
    pipeline = traced(FakeHandler([UnavailableError("down")]), tracing, breaker, clock=clock)
    await pipeline.invoke("svc")
    refused = await pipeline.invoke("svc")
    assert refused.error is not None
    assert refused.error.category is ErrorCategory.CIRCUIT_OPEN
    first, second = exporter.get_finished_spans()
    [event] = [e for e in first.events if e.name == "toolware.breaker"]
    assert dict(event.attributes or {}) == {
        "toolware.breaker.key": "svc",
        "toolware.breaker.previous": "closed",
        "toolware.breaker.current": "open",
        "toolware.breaker.reason": "consecutive",
    }
    assert first.attributes["toolware.breaker.state"] == "open"  # type: ignore[index]
    assert second.attributes["toolware.breaker.state"] == "open"  # type: ignore[index]
    assert second.attributes["error.type"] == "circuit_open"  # type: ignore[index]


def test_breaker_events_outside_a_span_do_nothing() -> None:
    """A transition with no recording span current is ignored."""
    from toolware.state.base import BreakerChange, BreakerState

    callback = TracingInterceptor(tracer_provider=NoOpTracerProvider()).breaker_events()
    change = BreakerChange("k", BreakerState.CLOSED, BreakerState.OPEN, "consecutive", 1.0)
    assert callback(change) is None  # type: ignore[func-returns-value]


async def numbers(n: int, fail_at: int | None = None) -> AsyncIterator[int]:
    for i in range(n):
        if i == fail_at:
            raise ValueError("broken source")
        yield i


def streaming_registry() -> LocalRegistry:
    registry = LocalRegistry()

    @registry.tool
    async def count(n: int, fail_at: int | None = None) -> AsyncIterator[int]:
        async for i in numbers(n, fail_at):
            yield i

    return registry


async def test_stream_span_ends_when_the_stream_ends(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """A streamed call's span stays open until the stream completes, then says how it ended."""
    pipeline = traced(streaming_registry(), TracingInterceptor(tracer_provider=provider))
    response = await pipeline.invoke("count", {"n": 3})
    assert exporter.get_finished_spans() == ()
    assert response.stream is not None
    assert [chunk async for chunk in response.stream] == [0, 1, 2]
    span = only(exporter)
    assert span.attributes["toolware.stream.outcome"] == "completed"  # type: ignore[index]
    assert span.attributes["toolware.stream.chunks"] == 3  # type: ignore[index]
    assert span.status.status_code is StatusCode.UNSET


async def test_failed_stream_marks_the_span(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """A stream failing mid-way ends the span with ERROR and error.type."""
    pipeline = traced(streaming_registry(), TracingInterceptor(tracer_provider=provider))
    response = await pipeline.invoke("count", {"n": 3, "fail_at": 2})
    assert response.stream is not None
    collected = await response.collect()
    assert collected.error is not None
    span = only(exporter)
    assert span.attributes["toolware.stream.outcome"] == "failed"  # type: ignore[index]
    assert span.attributes["toolware.stream.chunks"] == 2  # type: ignore[index]
    assert span.attributes["error.type"] == "tool_failed"  # type: ignore[index]
    assert span.status.status_code is StatusCode.ERROR


async def test_abandoned_stream_ends_the_span(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """A stream closed early ends the span as abandoned, not as an error."""
    pipeline = traced(streaming_registry(), TracingInterceptor(tracer_provider=provider))
    response = await pipeline.invoke("count", {"n": 5})
    assert response.stream is not None
    async with response.stream as chunks:
        assert await anext(chunks) == 0
    span = only(exporter)
    assert span.attributes["toolware.stream.outcome"] == "abandoned"  # type: ignore[index]
    assert span.attributes["toolware.stream.chunks"] == 1  # type: ignore[index]
    assert span.status.status_code is StatusCode.UNSET


async def test_unsampled_stream_still_ends_its_span() -> None:
    """A stream under a non-recording span passes unchanged and ends it."""
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=ALWAYS_OFF)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    pipeline = traced(streaming_registry(), TracingInterceptor(tracer_provider=provider))
    response = await pipeline.invoke("count", {"n": 2})
    assert response.stream is not None
    assert [c async for c in response.stream] == [0, 1]
    assert exporter.get_finished_spans() == ()


class RaisingExporter(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        raise RuntimeError("collector down")


async def test_exporter_that_raises_never_breaks_the_call() -> None:
    """An exporter raising inside SimpleSpanProcessor: every call still answers."""
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(RaisingExporter()))
    pipeline = traced(FakeHandler(["ok"]), TracingInterceptor(tracer_provider=provider))
    logging.getLogger("opentelemetry").disabled = True
    try:
        for _ in range(3):
            assert (await pipeline.invoke("t")).unwrap() == "ok"
    finally:
        logging.getLogger("opentelemetry").disabled = False


class BlockingExporter(SpanExporter):
    """Blocks in export until released, as a collector that stopped answering would."""

    def __init__(self) -> None:
        import threading

        self.release = threading.Event()
        self.exported = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.release.wait(5.0)
        self.exported += len(spans)
        return SpanExportResult.SUCCESS


async def test_an_exporter_that_blocks_never_holds_up_the_call() -> None:
    """With the BatchSpanProcessor the guide recommends, a blocked exporter delays only the
    export thread: every call answers at once, and the spans are exported once it unblocks."""
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    exporter = BlockingExporter()
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=1))
    pipeline = traced(FakeHandler(["ok"] * 50), TracingInterceptor(tracer_provider=provider))
    try:
        for _ in range(50):  # would take 50 x 5 s if a call waited for the exporter
            assert (await pipeline.invoke("t")).unwrap() == "ok"
        assert not exporter.release.is_set()
    finally:
        exporter.release.set()
        provider.shutdown()
    assert exporter.exported == 50


class BrokenProcessor(SpanProcessor):
    def __init__(self, *, on_start: bool = False) -> None:
        self.fail_on_start = on_start

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        if self.fail_on_start:
            raise RuntimeError("processor start")

    def on_end(self, span: ReadableSpan) -> None:
        raise RuntimeError("processor end")


async def test_processor_failing_at_end_is_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A span processor raising at end: the calls answer, one warning names the event."""
    provider = TracerProvider()
    provider.add_span_processor(BrokenProcessor())
    pipeline = traced(FakeHandler(["ok"]), TracingInterceptor(tracer_provider=provider))
    with caplog.at_level(logging.WARNING, logger="toolware.interceptors.tracing"):
        for _ in range(3):
            assert (await pipeline.invoke("t")).unwrap() == "ok"
    records = [r for r in caplog.records if r.name == "toolware.interceptors.tracing"]
    assert [r.getMessage().split(" ")[0] for r in records] == ["tracing.span_failed"]
    assert records[0].target == "t"  # type: ignore[attr-defined]
    assert records[0].error == "RuntimeError"  # type: ignore[attr-defined]


async def test_processor_failing_at_start_leaves_the_call_untraced(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A span that cannot start: the call goes on, untraced, and the fault is logged."""
    provider = TracerProvider()
    provider.add_span_processor(BrokenProcessor(on_start=True))
    seen: list[Any] = []

    async def tool(request: RequestContext) -> ResponseContext:
        seen.append(request.get(SPAN))
        return ResponseContext.success("ok")

    pipeline = traced(tool, TracingInterceptor(tracer_provider=provider))
    with caplog.at_level(logging.WARNING, logger="toolware.interceptors.tracing"):
        assert (await pipeline.invoke("t")).unwrap() == "ok"
    assert seen == [None]
    assert "tracing.span_failed" in caplog.text


async def test_attribute_hook_values_are_cleaned(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """The attributes hook adds its values; non-primitives become text, None is dropped."""

    class Opaque:
        def __str__(self) -> str:
            return "opaque"

    class Unprintable:
        def __str__(self) -> str:
            raise ValueError("no")

    def hook(request: RequestContext, response: ResponseContext) -> dict[Any, object]:
        return {
            "app.tenant": "acme",
            "app.ids": [1, 2],
            "app.mixed": [1, "a"],
            "app.obj": Opaque(),
            "app.long": "x" * 1000,
            "app.none": None,
            "app.bad": Unprintable(),
            3: "not a key",
            "app.empty": [],
        }

    pipeline = traced(
        FakeHandler(["ok"]), TracingInterceptor(tracer_provider=provider, attributes=hook)
    )
    await pipeline.invoke("t")
    attributes = only(exporter).attributes or {}
    assert attributes["app.tenant"] == "acme"
    assert tuple(attributes["app.ids"]) == (1, 2)  # type: ignore[arg-type]
    assert attributes["app.mixed"] == "[1, 'a']"
    assert attributes["app.obj"] == "opaque"
    assert attributes["app.long"] == "x" * 1000
    assert attributes["app.empty"] == "[]"
    for dropped in ("app.none", "app.bad"):
        assert dropped not in attributes


async def test_attribute_hook_that_raises_is_logged_once(
    provider: TracerProvider, exporter: InMemorySpanExporter, caplog: pytest.LogCaptureFixture
) -> None:
    """A hook raising: calls answer, spans still end, one tracing.hook_failed warning."""

    def hook(request: RequestContext, response: ResponseContext) -> dict[str, object]:
        raise KeyError("secret")

    pipeline = traced(
        FakeHandler(["ok"]), TracingInterceptor(tracer_provider=provider, attributes=hook)
    )
    with caplog.at_level(logging.WARNING, logger="toolware.interceptors.tracing"):
        for _ in range(2):
            assert (await pipeline.invoke("t")).unwrap() == "ok"
    assert len(exporter.get_finished_spans()) == 2
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("toolware")]
    assert len(messages) == 1
    assert messages[0].startswith("tracing.hook_failed target=t")
    assert "secret" not in messages[0]


async def test_cancellation_ends_the_span_and_propagates(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """A cancelled call ends its span marked ERROR and the cancellation goes on."""
    clock = FakeClock()
    pipeline = traced(
        FakeHandler(["late"], delay=5.0, clock=clock),
        TracingInterceptor(tracer_provider=provider),
        clock=clock,
    )
    task = asyncio.create_task(pipeline.invoke("slow"))
    await clock.advance(1.0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    span = only(exporter)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "CancelledError"  # type: ignore[index]


async def test_no_op_provider_passes_calls_straight_through() -> None:
    """With the API's no-op provider, the interceptor returns call_next's own awaitable."""
    tracing = TracingInterceptor(tracer_provider=NoOpTracerProvider())
    request = RequestContext.create("t")
    sentinel: Any = object()
    assert tracing(request, lambda r: sentinel) is sentinel
    assert tracing(request, lambda r: sentinel) is sentinel


def test_global_provider_is_looked_for_every_recheck_calls(
    monkeypatch: pytest.MonkeyPatch, provider: TracerProvider
) -> None:
    """Unset global provider: checked on the first call, then once per RECHECK_EVERY calls."""
    looks: list[int] = []
    current: list[Any] = [otel_trace.ProxyTracerProvider()]

    def get_tracer_provider() -> Any:
        looks.append(1)
        return current[0]

    monkeypatch.setattr(otel_trace, "get_tracer_provider", get_tracer_provider)
    tracing = TracingInterceptor()
    request = RequestContext.create("t")
    sentinel: Any = object()
    assert tracing(request, lambda r: sentinel) is sentinel
    assert len(looks) == 1
    for _ in range(RECHECK_EVERY):
        assert tracing(request, lambda r: sentinel) is sentinel
    assert len(looks) == 1
    current[0] = provider
    coroutine = tracing(request, lambda r: sentinel)
    assert len(looks) == 2
    assert coroutine is not sentinel
    coroutine.close()  # type: ignore[attr-defined]
    assert RECHECK_EVERY == 256


@pytest.mark.parametrize(
    ("options", "error", "text"),
    [
        ({"per_stage_spans": 1}, TypeError, "per_stage_spans must be True or False, got 1"),
        ({"name": ""}, ValueError, "name must be a non-empty string"),
        ({"name": 3}, ValueError, "got 3"),
        ({"attributes": "x"}, TypeError, "attributes takes a function"),
        ({"tracer_provider": object()}, TypeError, "tracer_provider must be an OpenTelemetry"),
    ],
)
def test_options_are_validated(options: dict[str, Any], error: type[Exception], text: str) -> None:
    """Each bad option is refused with a message naming it and the bad value."""
    with pytest.raises(error, match=text):
        TracingInterceptor(**options)


def test_name_names_the_stage() -> None:
    """name= is the stage name in the pipeline."""
    tracing = TracingInterceptor(name="otel")
    builder = PipelineBuilder().use(tracing)
    assert builder.stage_names == ("otel",)
    assert TracingInterceptor().name == "tracing"


async def test_record_event_needs_a_recording_span(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """record_event adds to the call's span from inside the call, False outside one."""
    results: list[bool] = []

    async def tool(request: RequestContext) -> ResponseContext:
        results.append(record_event(request, "app.step", {"app.n": 1, "app.x": None}))
        results.append(record_event(request, "app.bare"))
        return ResponseContext.success("ok")

    await traced(tool, TracingInterceptor(tracer_provider=provider)).invoke("t")
    assert results == [True, True]
    assert [(e.name, dict(e.attributes or {})) for e in only(exporter).events] == [
        ("app.step", {"app.n": 1}),
        ("app.bare", {}),
    ]
    assert record_event(RequestContext.create("t"), "app.step") is False


def test_record_event_swallows_a_span_fault() -> None:
    """A span whose add_event raises: record_event answers False."""

    class Broken:
        def add_event(self, *args: object) -> None:
            raise RuntimeError("sdk")

    request = RequestContext.create("t").with_extra(SPAN, Broken())  # type: ignore[arg-type]
    assert record_event(request, "e") is False
