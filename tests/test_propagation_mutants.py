"""Mutation-testing pins for toolware.propagation: the current span's tracestate goes out."""

from __future__ import annotations

from opentelemetry.sdk.trace import TracerProvider

from toolware.context import TraceContext
from toolware.propagation import current_trace, inject_http_headers, parent_context

PARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def test_current_span_tracestate_is_sent_on() -> None:
    """A current span that inherited a tracestate sends it with its own traceparent."""
    provider = TracerProvider()
    tracer = provider.get_tracer("test")
    parent = parent_context(TraceContext(traceparent=PARENT, tracestate="k=v"))
    with tracer.start_as_current_span("child", context=parent) as span:
        context = span.get_span_context()
        expected = f"00-{context.trace_id:032x}-{context.span_id:016x}-01"
        assert current_trace() == TraceContext(traceparent=expected, tracestate="k=v")
        assert inject_http_headers() == {"traceparent": expected, "tracestate": "k=v"}
    provider.shutdown()
