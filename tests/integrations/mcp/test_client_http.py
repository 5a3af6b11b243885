"""McpRegistry over streamable HTTP: a FastMCP http app under uvicorn on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
import uvicorn

from tests.integrations.mcp.fastmcp_server import Recorder, build_server
from toolware import PipelineBuilder, TimeoutInterceptor, default_pipeline
from toolware.context import TraceContext
from toolware.integrations.mcp.client import McpRegistry, ReplicaState
from toolware.registry.base import HealthStatus


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
async def http_server() -> AsyncIterator[tuple[str, Recorder]]:
    server, recorder = build_server("web")
    port = free_port()
    config = uvicorn.Config(
        server.http_app(), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    runner = uvicorn.Server(config)
    task = asyncio.create_task(runner.serve())
    for _ in range(400):  # bounded startup wait: 20 s
        if runner.started:
            break
        await asyncio.sleep(0.05)
    assert runner.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}/mcp", recorder
    runner.should_exit = True
    await asyncio.wait_for(task, 20)


async def test_calls_over_streamable_http(http_server: tuple[str, Recorder]) -> None:
    url, recorder = http_server
    async with McpRegistry(url, name="web") as registry:
        [status] = registry.replicas()
        assert (status.label, status.state) == (f"0: {url}", ReplicaState.UP)
        assert (await registry.health()).status is HealthStatus.OK
        async with default_pipeline(registry) as pipeline:
            assert (await pipeline.invoke("add", {"a": 20, "b": 22})).unwrap() == 42
            trace = TraceContext(
                traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
            )
            seen = (await pipeline.invoke("traceparent", trace=trace)).unwrap()
            assert seen.split("-")[1] == "0af7651916cd43dd8448eb211c80319c"
        timed = PipelineBuilder().use(TimeoutInterceptor(timeout=0.3)).route(registry).build()
        async with timed:
            response = await timed.invoke("hang", {"label": "h1"})
        assert response.error is not None
        assert response.error.category == "timeout"
        # Over HTTP the cancellation closes the request's stream; the server stops the handler.
        for _ in range(400):
            if "cancelled h1" in recorder.events:
                break
            await asyncio.sleep(0.05)
        assert recorder.events == ["started h1", "cancelled h1"]
