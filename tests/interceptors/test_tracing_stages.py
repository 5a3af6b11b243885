"""Tests for toolware.interceptors.tracing: per-stage child spans and SDK faults mid-call."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import NoOpTracerProvider, SpanKind

from toolware import LocalRegistry, PipelineBuilder, RequestContext, ResponseContext
from toolware.interceptors._tracing_support import MAX_TEXT, StageSpan, clean_attributes
from toolware.interceptors.timeout import TimeoutInterceptor
from toolware.interceptors.tracing import TracingInterceptor
from toolware.testing import FakeClock, FakeHandler
from toolware.types import CallNext


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def provider(exporter: InMemorySpanExporter) -> Iterator[TracerProvider]:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider
    provider.shutdown()


async def passthrough(request: RequestContext, call_next: CallNext) -> ResponseContext:
    return await call_next(request)


def test_stage_is_the_interceptor_itself_when_off() -> None:
    """per_stage_spans=False (the default): stage() adds nothing at all."""
    tracing = TracingInterceptor(tracer_provider=NoOpTracerProvider())
    assert tracing.per_stage_spans is False
    assert tracing.stage(passthrough) is passthrough


async def test_stage_spans_are_children_of_the_call_span(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """per_stage_spans=True: each wrapped stage runs in its own child span, nested in order."""
    clock = FakeClock()
    tracing = TracingInterceptor(tracer_provider=provider, per_stage_spans=True)
    timeout = TimeoutInterceptor(timeout=5.0)
    pipeline = (
        PipelineBuilder(clock=clock)
        .use(tracing)
        .use(tracing.stage(timeout))
        .use(tracing.stage(passthrough, name="inner"))
        .route(FakeHandler(["ok"]))
        .build()
    )
    assert (await pipeline.invoke("t")).unwrap() == "ok"
    inner, outer, call = exporter.get_finished_spans()
    assert (call.name, outer.name, inner.name) == (
        "execute_tool t",
        "toolware.stage timeout",
        "toolware.stage inner",
    )
    assert outer.kind is SpanKind.INTERNAL
    assert dict(outer.attributes or {}) == {"toolware.stage": "timeout"}
    assert outer.parent is not None
    assert call.context is not None
    assert outer.parent.span_id == call.context.span_id
    assert inner.parent is not None
    assert outer.context is not None
    assert inner.parent.span_id == outer.context.span_id
    assert timeout.clock is clock  # bind_clock reached the wrapped interceptor


def test_stage_span_is_named_after_the_interceptor() -> None:
    """The child span's stage name: name=, else the interceptor's name, function or class."""
    tracing = TracingInterceptor(tracer_provider=NoOpTracerProvider(), per_stage_spans=True)

    class Anonymous:
        async def __call__(self, request: RequestContext, call_next: CallNext) -> Any:
            return await call_next(request)

    assert tracing.stage(TimeoutInterceptor()).name == "timeout"  # type: ignore[attr-defined]
    assert tracing.stage(passthrough).name == "passthrough"  # type: ignore[attr-defined]
    assert tracing.stage(Anonymous()).name == "Anonymous"  # type: ignore[attr-defined]
    assert tracing.stage(passthrough, name="p").name == "p"  # type: ignore[attr-defined]


async def test_stage_forwards_clock_and_close_only_when_the_inner_has_them() -> None:
    """bind_clock and aclose reach the wrapped interceptor; without them they do nothing."""
    tracing = TracingInterceptor(tracer_provider=NoOpTracerProvider(), per_stage_spans=True)
    closed: list[str] = []

    class Owned:
        name = "owned"

        async def __call__(self, request: RequestContext, call_next: CallNext) -> Any:
            return await call_next(request)

        async def aclose(self) -> None:
            closed.append("owned")

    owned = tracing.stage(Owned())
    assert isinstance(owned, StageSpan)
    await owned.aclose()
    plain = tracing.stage(passthrough)
    assert isinstance(plain, StageSpan)
    await plain.aclose()
    plain.bind_clock(FakeClock())
    assert closed == ["owned"]


async def test_stage_without_a_tracer_runs_the_inner_stage() -> None:
    """Untraced (no-op provider), a stage wrapper only runs its interceptor."""
    tracing = TracingInterceptor(tracer_provider=NoOpTracerProvider(), per_stage_spans=True)
    pipeline = (
        PipelineBuilder(clock=FakeClock())
        .use(tracing)
        .use(tracing.stage(passthrough))
        .route(FakeHandler(["ok"]))
        .build()
    )
    assert (await pipeline.invoke("t")).unwrap() == "ok"


class FailingEnd(SpanProcessor):
    """Raises when a span named ``name`` ends."""

    def __init__(self, name: str) -> None:
        self.name = name

    def on_end(self, span: ReadableSpan) -> None:
        if span.name == self.name:
            raise RuntimeError("processor end")


async def test_stage_span_end_fault_keeps_the_answer() -> None:
    """A processor raising as a stage span ends: the call still answers."""
    provider = TracerProvider()
    provider.add_span_processor(FailingEnd("toolware.stage passthrough"))
    tracing = TracingInterceptor(tracer_provider=provider, per_stage_spans=True)
    pipeline = (
        PipelineBuilder(clock=FakeClock())
        .use(tracing)
        .use(tracing.stage(passthrough))
        .route(FakeHandler(["ok"]))
        .build()
    )
    assert (await pipeline.invoke("t")).unwrap() == "ok"


class Unsettable:
    """A span stand-in whose attribute setter raises, as a broken SDK might."""

    def __init__(self) -> None:
        self.ended = 0

    def is_recording(self) -> bool:
        return True

    def set_attributes(self, attributes: Any) -> None:
        raise RuntimeError("sdk")

    def get_span_context(self) -> Any:
        from opentelemetry.trace import INVALID_SPAN_CONTEXT

        return INVALID_SPAN_CONTEXT

    def end(self) -> None:
        self.ended += 1


class UnsettableTracer:
    def __init__(self) -> None:
        self.spans: list[Unsettable] = []

    def start_span(self, *args: Any, **kwargs: Any) -> Unsettable:
        span = Unsettable()
        self.spans.append(span)
        return span


class UnsettableProvider:
    def __init__(self) -> None:
        self.tracer = UnsettableTracer()

    def get_tracer(self, *args: Any, **kwargs: Any) -> UnsettableTracer:
        return self.tracer


async def test_span_that_refuses_attributes_still_ends() -> None:
    """set_attributes raising at the end of a call or a stream: answered, span ended."""
    provider = UnsettableProvider()
    registry = LocalRegistry()

    @registry.tool
    async def count(n: int) -> AsyncIterator[int]:
        for i in range(n):
            yield i

    tracing = TracingInterceptor(tracer_provider=provider)  # type: ignore[arg-type]
    pipeline = PipelineBuilder(clock=FakeClock()).use(tracing).route(registry).build()
    response = await pipeline.invoke("count", {"n": 2})
    assert (await response.collect()).unwrap() == [0, 1]
    assert [span.ended for span in provider.tracer.spans] == [1]


async def test_unsampled_cancellation_ends_the_span() -> None:
    """A cancelled call under a non-recording span: the span ends, nothing is recorded."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=ALWAYS_OFF)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    clock = FakeClock()
    pipeline = (
        PipelineBuilder(clock=clock)
        .use(TracingInterceptor(tracer_provider=provider))
        .route(FakeHandler(["late"], delay=5.0, clock=clock))
        .build()
    )
    task = asyncio.create_task(pipeline.invoke("slow"))
    await clock.advance(1.0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert exporter.get_finished_spans() == ()


def test_clean_attributes_takes_only_mappings() -> None:
    """Anything but a mapping gives no attributes; text is cut at MAX_TEXT."""
    assert clean_attributes(None) == {}
    assert clean_attributes(["a"]) == {}  # type: ignore[arg-type]
    assert clean_attributes({"k": b"xy"}) == {"k": "b'xy'"}
    assert clean_attributes({"k": ("a", "b")}) == {"k": ("a", "b")}
    assert clean_attributes({"k": [object()] * 2})["k"].startswith("[<object")
    long = clean_attributes({"k": ["y" * 300, 1]})["k"]
    assert len(long) == MAX_TEXT == 256
    assert clean_attributes({"": 1, "k": True}) == {"k": True}
