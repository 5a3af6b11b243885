"""One remote call and its result: deadlines, the MCP request timeout, lost connections,
malformed answers and content blocks, against the SDK's own types and low-level servers."""

from __future__ import annotations

import asyncio
from typing import Any

import anyio
import mcp_types
import pytest

from tests.integrations.mcp.lowlevel_servers import lowlevel_server, tool
from toolware import Kind, PipelineBuilder, RequestContext
from toolware.errors import CallTimeoutError, UnavailableError
from toolware.integrations.mcp._client_backoff import Backoff
from toolware.integrations.mcp._client_calls import call_tool, remaining_time
from toolware.integrations.mcp._client_replica import Replica
from toolware.integrations.mcp._client_results import result_value
from toolware.integrations.mcp.client import McpRegistry
from toolware.testing import FakeClock


def test_remaining_time_is_the_deadline_less_now() -> None:
    clock = FakeClock()
    soon = RequestContext.create("t", deadline=clock.monotonic() + 2.5)
    assert remaining_time("t", soon, clock, 30.0) == 2.5
    assert remaining_time("t", RequestContext.create("t"), clock, 30.0) == 30.0
    assert remaining_time("t", None, clock, 7.0) == 7.0


def test_a_deadline_reached_exactly_is_not_sent() -> None:
    clock = FakeClock()
    now = RequestContext.create("t", deadline=clock.monotonic())
    with pytest.raises(CallTimeoutError) as raised:
        remaining_time("t", now, clock, 30.0)
    assert raised.value.message == "'t' was not sent: its deadline had passed"
    assert (raised.value.limit, raised.value.started) == (0.0, False)


async def test_a_replica_without_a_connection_is_lost() -> None:
    """The connection went away between picking the replica and sending."""
    replica = Replica(
        0,
        "0: memory: raw",
        lambda: None,  # type: ignore[arg-type,return-value]
        backoff=Backoff(),
        clock=FakeClock(),
        random=lambda: 0.5,
        mode="auto",
        list_timeout=1.0,
        on_listing=lambda replica, tools: None,
        on_state=lambda replica: None,
    )
    with pytest.raises(UnavailableError) as raised:
        await call_tool("raw", replica, "t", False, None, {}, 1.0)
    assert raised.value.message == (
        "MCP server 'raw' (replica 0: memory: raw) closed the connection during the call to 't'"
    )
    assert raised.value.hint == (
        "retry: the call goes to another replica, or this one once it reconnects"
    )
    assert raised.value.retryable is True


def _hanging_server(cancelled: list[str]) -> Any:
    async def hang(params: Any) -> Any:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.append(params.name)
            raise

    read_only = mcp_types.ToolAnnotations(read_only_hint=True)
    return lowlevel_server(
        [tool("hang"), tool("peek", annotations=read_only)], {"hang": hang, "peek": hang}
    )


async def test_call_timeout_is_the_mcp_request_timeout() -> None:
    """Without a deadline the request times out after call_timeout (not list_timeout), and
    the error is retryable only for a tool the server says may repeat."""
    cancelled: list[str] = []
    registry = McpRegistry(
        _hanging_server(cancelled), name="raw", call_timeout=0.3, list_timeout=30.0
    )
    async with registry, PipelineBuilder().route(registry).build() as pipeline:
        with anyio.fail_after(10):
            plain = await pipeline.invoke("hang")
            peek = await pipeline.invoke("peek")
            with pytest.raises(CallTimeoutError) as direct:
                await registry.resolve(Kind.TOOL, "peek").function()
    for response in (plain, peek):
        assert response.error is not None
        assert response.error.category == "timeout"
        assert response.error.limit == 0.3  # type: ignore[attr-defined]
    assert plain.error is not None
    assert plain.error.message == (
        "'hang' did not answer within 0.3 s (MCP server 'raw'); the server was sent "
        "notifications/cancelled"
    )
    assert plain.error.retryable is False
    assert peek.error is not None
    assert peek.error.retryable is True
    assert direct.value.retryable is False  # no request, no entry: not known to repeat


def test_a_wrapped_result_without_its_key_says_the_server_is_broken() -> None:
    result = mcp_types.CallToolResult(content=[], structured_content={"other": 1})
    with pytest.raises(UnavailableError) as raised:
        result_value(result, target="t", wrapped=True)
    assert raised.value.hint == "the MCP server is broken; report it to its maintainers"
    assert raised.value.retryable is False


def test_blocks_are_json_objects() -> None:
    """Blocks that are not one text are their JSON form: URLs as strings, no nulls."""
    link = mcp_types.ResourceLink(type="resource_link", uri="file:///notes/a.txt", name="a")
    text = mcp_types.TextContent(type="text", text="see")
    value = result_value(mcp_types.CallToolResult(content=[text, link]), target="t", wrapped=False)
    assert value == [
        {"type": "text", "text": "see"},
        {"type": "resource_link", "uri": "file:///notes/a.txt", "name": "a"},
    ]
    assert type(value[1]["uri"]) is str
