"""Tests for toolware.propagation: W3C trace context in and out of HTTP headers and MCP _meta."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry import trace as otel_trace
from opentelemetry.sdk.trace import TracerProvider

from toolware.context import RequestContext, TraceContext
from toolware.propagation import (
    current_trace,
    extract_http_headers,
    extract_mcp_meta,
    inject_http_headers,
    inject_mcp_meta,
    parent_context,
)

PARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@pytest.fixture
def provider() -> Iterator[TracerProvider]:
    provider = TracerProvider()
    yield provider
    provider.shutdown()


def test_extracts_headers_in_any_case() -> None:
    """traceparent/tracestate are found whatever the header names' case; values are trimmed."""
    found = extract_http_headers({"TraceParent": f" {PARENT} ", "TRACESTATE": "a=1 ", 3: "x"})
    assert found == TraceContext(traceparent=PARENT, tracestate="a=1")


@pytest.mark.parametrize(
    "traceparent",
    [
        None,
        7,
        "",
        PARENT.upper(),
        "ff" + PARENT[2:],
        "00-00000000000000000000000000000000-b7ad6b7169203331-01",
        "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
        PARENT[:-1],
        PARENT + "0",
    ],
)
def test_malformed_traceparent_is_ignored(traceparent: object) -> None:
    """A missing or malformed traceparent gives no context, as the W3C spec asks."""
    headers = {} if traceparent is None else {"traceparent": traceparent}
    assert extract_http_headers(headers) is None
    assert extract_mcp_meta({"_meta": headers}) is None


def test_tracestate_is_kept_up_to_the_limit() -> None:
    """A tracestate up to 512 characters is kept; a longer one (or a non-string) dropped."""
    at_limit = "a=" + "x" * 510
    assert extract_http_headers({"traceparent": PARENT, "tracestate": at_limit}) == TraceContext(
        traceparent=PARENT, tracestate=at_limit
    )
    over = extract_http_headers({"traceparent": PARENT, "tracestate": at_limit + "x"})
    assert over == TraceContext(traceparent=PARENT, tracestate="")
    odd = extract_mcp_meta({"_meta": {"traceparent": PARENT, "tracestate": 5}})
    assert odd == TraceContext(traceparent=PARENT, tracestate="")


def test_extracts_mcp_meta() -> None:
    """params._meta carries the context; params or _meta of the wrong shape give None."""
    params = {"name": "t", "_meta": {"traceparent": PARENT, "tracestate": "k=v"}}
    assert extract_mcp_meta(params) == TraceContext(traceparent=PARENT, tracestate="k=v")
    assert extract_mcp_meta(None) is None
    assert extract_mcp_meta({"_meta": "x"}) is None
    assert extract_mcp_meta([]) is None  # type: ignore[arg-type]


def test_inject_without_a_span_or_request_changes_nothing() -> None:
    """No current span and no request: headers and params come back without a context."""
    headers = {"accept": "json"}
    assert inject_http_headers(headers) is headers
    assert headers == {"accept": "json"}
    assert inject_http_headers() == {}
    assert current_trace() is None
    params = {"name": "t"}
    assert inject_mcp_meta(params) == {"name": "t"}
    assert inject_mcp_meta() == {}


def test_inject_passes_the_request_trace_on() -> None:
    """With no current span, the request's own trace context is forwarded unchanged."""
    request = RequestContext.create("t", trace=TraceContext(traceparent=PARENT, tracestate="k=v"))
    assert inject_http_headers(request=request) == {"traceparent": PARENT, "tracestate": "k=v"}
    params = {"name": "t", "_meta": {"progressToken": 1}}
    injected = inject_mcp_meta(params, request=request)
    assert injected == {
        "name": "t",
        "_meta": {"progressToken": 1, "traceparent": PARENT, "tracestate": "k=v"},
    }
    assert params == {"name": "t", "_meta": {"progressToken": 1}}
    bare = RequestContext.create("t", trace=TraceContext(traceparent=PARENT))
    assert inject_http_headers(request=bare) == {"traceparent": PARENT}
    assert inject_mcp_meta({"_meta": "junk"}, request=bare) == {"_meta": {"traceparent": PARENT}}


def test_inject_uses_the_current_span(provider: TracerProvider) -> None:
    """A current span wins over the request's context: its ids and flags go out."""
    tracer = provider.get_tracer("test")
    request = RequestContext.create("t", trace=TraceContext(traceparent=PARENT))
    with tracer.start_as_current_span("outer") as span:
        context = span.get_span_context()
        assert context.trace_flags.sampled
        flags = int(context.trace_flags)
        expected = f"00-{context.trace_id:032x}-{context.span_id:016x}-{flags:02x}"
        assert inject_http_headers(request=request) == {"traceparent": expected}
        assert inject_mcp_meta({}) == {"_meta": {"traceparent": expected}}
    assert not otel_trace.get_current_span().is_recording()


def test_parent_context_of_a_trace() -> None:
    """parent_context makes a remote parent span context; None or malformed gives None."""
    context = parent_context(TraceContext(traceparent=PARENT, tracestate="k=v"))
    assert context is not None
    parent = otel_trace.get_current_span(context).get_span_context()
    assert (parent.trace_id, parent.span_id, parent.is_remote) == (
        0x0AF7651916CD43DD8448EB211C80319C,
        0xB7AD6B7169203331,
        True,
    )
    assert parent.trace_state.get("k") == "v"
    assert parent_context(None) is None
    assert parent_context(TraceContext(traceparent="nonsense")) is None
    plain = parent_context(TraceContext(traceparent=PARENT))
    assert plain is not None
    assert len(otel_trace.get_current_span(plain).get_span_context().trace_state) == 0
