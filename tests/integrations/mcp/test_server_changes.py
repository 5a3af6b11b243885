"""``notifications/tools/list_changed`` from McpServer: announced in the capabilities, sent on
``subscriptions/listen`` streams (2026-07-28) and to handshake-era sessions when the
registry's revision moves, by a request or by ``watch()`` on the pipeline's clock; and
McpRegistry refreshing from it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import mcp_types
import pytest
from mcp import Client
from mcp.client._memory import InMemoryTransport
from mcp.client.subscriptions import ToolsListChanged
from mcp.shared.exceptions import MCPError
from mcp.shared.message import SessionMessage

from toolware import LocalRegistry, PipelineBuilder, default_pipeline
from toolware.integrations.mcp.client import McpRegistry
from toolware.integrations.mcp.server import McpServer
from toolware.testing import FakeClock


def installing_registry() -> LocalRegistry:
    """``install(name)`` registers a tool ``name`` on the same registry (a revision)."""
    registry = LocalRegistry("app")

    @registry.tool
    def echo(text: str) -> str:
        return text

    @registry.tool
    def install(name: str) -> str:
        registry.tool(name=name)(lambda: f"{name} installed")
        return "ok"

    return registry


async def until(predicate: Callable[[], bool], seconds: float = 5.0) -> None:
    """Wait for ``predicate``; bounded, for effects that cross the SDK's tasks."""
    for _ in range(int(seconds / 0.01)):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met in time")


async def test_a_listen_stream_hears_a_change_made_by_a_call() -> None:
    server = McpServer(default_pipeline(installing_registry()))
    events: list[object] = []
    async with Client(server.server) as client:
        assert client.session.protocol_version == "2026-07-28"
        capabilities = client.session.server_capabilities
        assert capabilities is not None
        assert capabilities.tools is not None
        assert capabilities.tools.list_changed is True

        async def read() -> None:
            async with client.listen(tools_list_changed=True) as subscription:
                assert subscription.honored.tools_list_changed is True
                async for event in subscription:
                    events.append(event)

        reader = asyncio.create_task(read())
        await asyncio.sleep(0.05)
        assert (await client.call_tool("echo", {"text": "no change"})).is_error is False
        await client.call_tool("install", {"name": "late"})
        await until(lambda: len(events) == 1)
        # The echo call changed nothing: one event, for the install.
        assert events == [ToolsListChanged()]
        tools = [tool.name for tool in (await client.list_tools()).tools]
        assert tools == ["echo", "install", "late"]
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)


async def test_handshake_era_sessions_get_the_notification() -> None:
    """Every legacy session that made a request is told, not only the caller's."""
    server = McpServer(default_pipeline(installing_registry()))
    heard: dict[str, list[str]] = {"caller": [], "other": []}

    def handler(who: str) -> Any:
        async def on_message(message: Any) -> None:
            if isinstance(message, mcp_types.ToolListChangedNotification):
                heard[who].append(message.method)

        return on_message

    caller = Client(
        InMemoryTransport(server.server), mode="legacy", message_handler=handler("caller")
    )
    other = Client(
        InMemoryTransport(server.server), mode="legacy", message_handler=handler("other")
    )
    async with caller, other:
        assert caller.session.protocol_version == "2025-11-25"
        capabilities = caller.session.server_capabilities
        assert capabilities is not None
        assert capabilities.tools is not None
        assert capabilities.tools.list_changed is True
        await other.list_tools()
        await caller.call_tool("install", {"name": "late"})
        await until(lambda: len(heard["other"]) == 1 and len(heard["caller"]) == 1)
        assert heard == {
            "caller": ["notifications/tools/list_changed"],
            "other": ["notifications/tools/list_changed"],
        }
        await caller.call_tool("echo", {"text": "x"})
        await other.list_tools()
        assert len(heard["other"]) == len(heard["caller"]) == 1


async def test_watch_announces_a_change_made_outside_requests_on_the_clock() -> None:
    registry = installing_registry()
    clock = FakeClock()
    server = McpServer(PipelineBuilder(clock=clock).route(registry).build())
    events: list[object] = []
    async with Client(server.server) as client:

        async def read() -> None:
            async with client.listen(tools_list_changed=True) as subscription:
                async for event in subscription:
                    events.append(event)

        reader = asyncio.create_task(read())
        watcher = asyncio.create_task(server.watch(interval=5.0))
        await asyncio.sleep(0.05)
        registry.tool(name="added")(lambda: "added")
        await clock.advance(4.9)
        await asyncio.sleep(0.05)
        assert events == []  # not checked yet: no request, and the interval has not passed
        await clock.advance(0.1)
        await until(lambda: len(events) == 1)
        await clock.advance(5.0)  # no further change: nothing more
        await asyncio.sleep(0.05)
        assert events == [ToolsListChanged()]
        for task in (watcher, reader):
            task.cancel()
        await asyncio.gather(watcher, reader, return_exceptions=True)


@pytest.mark.parametrize(
    ("interval", "error", "message"),
    [
        (0, ValueError, r"must be a finite number of seconds > 0, got 0"),
        (float("inf"), ValueError, r"got inf"),
        (True, TypeError, r"must be seconds, got True"),
        ("1", TypeError, r"must be seconds, got '1'"),
    ],
)
async def test_watch_checks_its_interval(
    interval: Any, error: type[Exception], message: str
) -> None:
    server = McpServer(default_pipeline(installing_registry()))
    with pytest.raises(error, match=message):
        await server.watch(interval=interval)


async def test_mcp_registry_refreshes_when_the_server_says_its_list_changed() -> None:
    server = McpServer(default_pipeline(installing_registry()))
    async with McpRegistry(server, name="app") as remote, default_pipeline(remote) as pipeline:
        before = remote.revision
        assert [d.name for d in remote.list()] == ["echo", "install"]
        assert (await pipeline.invoke("install", {"name": "late"})).unwrap() == "ok"
        await until(lambda: remote.revision == before + 1)
        assert [d.name for d in remote.list()] == ["echo", "install", "late"]
        assert (await pipeline.invoke("late")).unwrap() == "late installed"


async def test_mcp_registry_in_legacy_mode_refreshes_too() -> None:
    server = McpServer(default_pipeline(installing_registry()))
    async with (
        McpRegistry(server, name="app", mode="legacy") as remote,
        default_pipeline(remote) as pipeline,
    ):
        before = remote.revision
        assert (await pipeline.invoke("install", {"name": "later"})).unwrap() == "ok"
        await until(lambda: remote.revision == before + 1)
        assert (await pipeline.invoke("later")).unwrap() == "later installed"


async def test_a_refused_listen_stream_is_logged_and_the_replica_stays_up(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A server that announces listChanged but refuses the stream: calls still work."""

    async def refuse(ctx: Any, params: Any) -> Any:
        raise MCPError(code=-32603, message="no streams today")

    server = McpServer(default_pipeline(installing_registry()))
    server.server.add_request_handler(
        "subscriptions/listen", mcp_types.SubscriptionsListenRequestParams, refuse
    )
    with caplog.at_level(logging.WARNING, logger="toolware.integrations.mcp"):
        async with McpRegistry(server, name="app") as remote, default_pipeline(remote) as pipeline:
            await until(lambda: any("listen_failed" in r.message for r in caplog.records))
            assert (await pipeline.invoke("echo", {"text": "still"})).unwrap() == "still"
            [state] = remote.replicas()
            assert state.state == "up"
    [record] = [r for r in caplog.records if "listen_failed" in r.message]
    assert record.getMessage() == (
        "mcp_client.listen_failed replica=0: memory: toolware reason=MCPError: no streams today"
    )


async def test_a_session_that_stops_reading_holds_up_no_answer() -> None:
    """The notifications to a stuck handshake-era session are sent in the background."""
    server = McpServer(default_pipeline(installing_registry()))
    async with InMemoryTransport(server.server) as (read, write):
        initialize = {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "stuck", "version": "1"},
        }
        for message in (
            mcp_types.JSONRPCRequest(jsonrpc="2.0", id=1, method="initialize", params=initialize),
            mcp_types.JSONRPCNotification(jsonrpc="2.0", method="notifications/initialized"),
            mcp_types.JSONRPCRequest(jsonrpc="2.0", id=2, method="tools/list"),
        ):
            await write.send(SessionMessage(message))
        answers = [await read.receive(), await read.receive()]
        assert [a.message.id for a in answers if isinstance(a, SessionMessage)] == [1, 2]
        # From here on nothing reads this session: its stream holds one message at most.
        async with Client(server.server) as caller:
            for name in ("a", "b", "c"):
                answer = await asyncio.wait_for(caller.call_tool("install", {"name": name}), 3.0)
                assert answer.content[0].text == "ok"  # type: ignore[union-attr]
