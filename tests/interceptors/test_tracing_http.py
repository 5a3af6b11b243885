"""Tests for toolware.interceptors.tracing across processes' boundary: two pipelines joined by
HTTP headers on a real loopback server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from toolware import PipelineBuilder, RequestContext, ResponseContext
from toolware.interceptors.tracing import TracingInterceptor
from toolware.propagation import extract_http_headers, inject_http_headers
from toolware.testing import FakeHandler

LIMIT = 5.0  # seconds: bounds every network step so a broken test fails instead of hanging


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def provider(exporter: InMemorySpanExporter) -> Iterator[TracerProvider]:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider
    provider.shutdown()


async def read_head(reader: asyncio.StreamReader) -> tuple[str, dict[str, str]]:
    """The first line and the headers of an HTTP/1.1 message."""
    head = await reader.readuntil(b"\r\n\r\n")
    first, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip()] = value.strip()
    return first, headers


async def test_a_call_is_traced_across_two_pipelines_over_http(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """A's tool calls B over HTTP with injected headers: B's span is a child of A's span."""
    pipeline_b = (
        PipelineBuilder()
        .use(TracingInterceptor(tracer_provider=provider))
        .route(FakeHandler(["from b"]))
        .build()
    )

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        _, headers = await read_head(reader)
        response = await pipeline_b.invoke("remote", trace=extract_http_headers(headers))
        body = json.dumps(response.unwrap()).encode()
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
            + f"content-length: {len(body)}\r\nconnection: close\r\n\r\n".encode()
            + body
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]

    async def call_b(request: RequestContext) -> ResponseContext:
        headers = inject_http_headers({"host": f"127.0.0.1:{port}", "connection": "close"})
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        lines = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        writer.write(f"GET /remote HTTP/1.1\r\n{lines}\r\n".encode())
        await writer.drain()
        status, response_headers = await read_head(reader)
        body = await reader.readexactly(int(response_headers["content-length"]))
        writer.close()
        await writer.wait_closed()
        assert status == "HTTP/1.1 200 OK"
        return ResponseContext.success(json.loads(body))

    pipeline_a = (
        PipelineBuilder().use(TracingInterceptor(tracer_provider=provider)).route(call_b).build()
    )
    try:
        async with asyncio.timeout(LIMIT):
            response = await pipeline_a.invoke("local")
    finally:
        server.close()
        await server.wait_closed()
    assert response.unwrap() == "from b"
    by_name = {span.name: span for span in exporter.get_finished_spans()}
    span_a, span_b = by_name["execute_tool local"], by_name["execute_tool remote"]
    assert span_a.context is not None
    assert span_b.context is not None
    assert span_b.parent is not None
    assert span_b.context.trace_id == span_a.context.trace_id
    assert span_b.parent.span_id == span_a.context.span_id
    assert span_b.parent.is_remote
    assert span_a.parent is None
