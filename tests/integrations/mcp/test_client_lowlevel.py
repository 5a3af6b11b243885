"""McpRegistry against low-level ``mcp`` servers that misbehave: colliding and refused names,
invalid schemas, malformed results, protocol errors, and the cancel notification on the
wire."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, ClassVar

import mcp_types
import pytest
from mcp.server import Server
from mcp.shared.exceptions import MCPError

from tests.integrations.mcp.lowlevel_servers import RecordingTransport, lowlevel_server, tool
from toolware import Kind, PipelineBuilder, RequestContext, TimeoutInterceptor, default_pipeline
from toolware.errors import CallTimeoutError, UnavailableError
from toolware.integrations.mcp.client import Backoff, McpRegistry, ReplicaState
from toolware.interceptors.retry import RetryInterceptor
from toolware.registry.base import HealthStatus
from toolware.testing import FakeClock

OK = mcp_types.CallToolResult(content=[mcp_types.TextContent(type="text", text="ok")])


async def test_a_name_listed_twice_is_reported_and_refused_never_dropped() -> None:
    tools = [
        tool("lookup", description="first"),
        tool("ping"),
        tool("lookup", description="second"),
    ]
    server = lowlevel_server(tools, {"ping": OK, "lookup": OK})
    async with McpRegistry(server, name="raw") as registry:
        assert [d.name for d in registry.list()] == ["ping"]
        message = (
            "MCP server 'raw' lists the tool 'lookup' 2 times (descriptions 'first', "
            "'second'); calls to it are refused until the server lists it once"
        )
        health = await registry.health()
        assert health.status is HealthStatus.DEGRADED
        assert dict(health.problems) == {"collision:lookup": message}
        async with default_pipeline(registry) as pipeline:
            refused = await pipeline.invoke("lookup")
            assert (await pipeline.invoke("ping")).unwrap() == "ok"
        assert refused.error is not None
        assert refused.error.category == "unavailable"
        assert (refused.error.message, refused.error.retryable) == (message, False)
        assert (
            refused.error.hint
            == "fix the server's tool list, or McpRegistry(names=...) (health() reports it)"
        )


async def test_names_llm_apis_refuse_and_invalid_schemas_are_reported() -> None:
    tools = [
        tool("get weather"),
        tool("broken", {"type": "object", "properties": {"a": {"type": 5}}}),
        tool("fine"),
    ]
    server = lowlevel_server(tools, {"fine": OK})
    async with McpRegistry(server, name="raw") as registry:
        assert [d.name for d in registry.list()] == ["fine"]
        problems = dict((await registry.health()).problems)
    assert sorted(problems) == ["refused:broken", "refused:get weather"]
    assert problems["refused:get weather"] == (
        "the tool 'get weather' of MCP server 'raw' contains characters other than letters, "
        "digits, '_' and '-', so it cannot be a toolware entry; expose it under a local name "
        "with McpRegistry(..., names={'get weather': 'get_weather'})"
    )
    assert problems["refused:broken"].startswith(
        "the inputSchema of 'broken' is not valid JSON Schema ("
    )
    assert problems["refused:broken"].endswith("); the tool is not exposed")


def content(*blocks: Any) -> mcp_types.CallToolResult:
    return mcp_types.CallToolResult(content=list(blocks))


TEXT = mcp_types.TextContent(type="text", text="one")
IMAGE = mcp_types.ImageContent(type="image", data="aGk=", mime_type="image/png")


@pytest.mark.parametrize(
    ("answer", "value"),
    [
        (content(), None),
        (content(TEXT), "one"),
        (content(TEXT, TEXT), [{"type": "text", "text": "one"}] * 2),
        (content(IMAGE), [{"type": "image", "data": "aGk=", "mimeType": "image/png"}]),
        (mcp_types.CallToolResult(content=[TEXT], structured_content={"n": 1}), {"n": 1}),
        (mcp_types.CallToolResult(content=[], structured_content=[1, 2]), [1, 2]),
    ],
)
async def test_results_map_to_values(answer: Any, value: Any) -> None:
    server = lowlevel_server([tool("t")], {"t": answer})
    async with McpRegistry(server, name="raw") as registry, default_pipeline(registry) as pipeline:
        assert (await pipeline.invoke("t")).unwrap() == value


async def test_error_results_join_their_text() -> None:
    failed = mcp_types.CallToolResult(content=[TEXT, IMAGE, TEXT], is_error=True)
    silent = mcp_types.CallToolResult(content=[], is_error=True)
    server = lowlevel_server([tool("a"), tool("b")], {"a": failed, "b": silent})
    async with McpRegistry(server, name="raw") as registry, default_pipeline(registry) as pipeline:
        first, second = await pipeline.invoke("a"), await pipeline.invoke("b")
    assert first.error is not None
    assert second.error is not None
    assert first.error.message == "'a' reported an error: one; one"
    assert second.error.message == "'b' reported an error: no message"
    assert first.error.category == second.error.category == "tool_failed"


WRAPPED = {
    "type": "object",
    "properties": {"result": {"type": "integer"}},
    "x-fastmcp-wrap-result": True,
}


def forged(result: dict[str, Any]) -> Any:
    """Replaces every tools/call result on the wire with ``result`` (a server whose SDK
    would refuse to send it cannot be made to)."""

    def rewrite(message: Any) -> Any:
        if isinstance(message, mcp_types.JSONRPCResponse) and "content" in message.result:
            return message.model_copy(update={"result": {"resultType": "complete", **result}})
        return message

    return rewrite


@pytest.mark.parametrize(
    ("answer", "output_schema", "cause"),
    [
        ({"content": "not a list"}, None, "ValidationError"),
        ({"content": [], "structuredContent": {"other": 1}}, WRAPPED, None),
        ({"content": []}, {"type": "object", "required": ["n"]}, "RuntimeError"),
        (
            {"content": [], "structuredContent": {"n": "x"}},
            WRAPPED | {"required": ["result"]},
            "RuntimeError",
        ),
    ],
)
async def test_malformed_results_are_unavailable_and_not_retried(
    answer: dict[str, Any], output_schema: dict[str, Any] | None, cause: str | None
) -> None:
    server = lowlevel_server([tool("t", output_schema=output_schema)], {"t": OK})
    factory = lambda: RecordingTransport(server, [], rewrite=forged(answer))  # noqa: E731
    async with McpRegistry(factory, name="raw") as registry, default_pipeline(registry) as pipeline:
        response = await pipeline.invoke("t")
    error = response.error
    assert error is not None
    assert error.category == "unavailable"
    assert error.retryable is False
    if cause is None:
        assert error.hint == "the MCP server is broken; report it to its maintainers"
        assert error.message == (
            "'t' returned a malformed result: its output schema says the value is wrapped "
            "in 'result', but the structured content has no 'result' key"
        )
    else:
        assert error.hint == "the server answered something that is not a valid MCP tool result"
        assert error.message == (
            f"MCP server 'raw' (replica 0: transport: <lambda>) returned a malformed result "
            f"for 't': "
            f"{cause}"
        )


async def test_protocol_errors_map_to_categories() -> None:
    async def refuse(params: Any) -> Any:
        raise MCPError(code=mcp_types.INVALID_PARAMS, message="bad city")

    async def crash(params: Any) -> Any:
        raise MCPError(code=-32099, message="backend down")

    server = lowlevel_server([tool("a"), tool("b")], {"a": refuse, "b": crash})
    async with McpRegistry(server, name="raw") as registry, default_pipeline(registry) as pipeline:
        first, second = await pipeline.invoke("a"), await pipeline.invoke("b")
    assert first.error is not None
    assert second.error is not None
    assert (first.error.category, first.error.message) == (
        "invalid_request",
        "MCP server 'raw' refused the call to 'a': bad city",
    )
    assert (second.error.category, second.error.message) == (
        "tool_failed",
        "MCP server 'raw' answered the call to 'b' with error -32099: backend down",
    )


async def test_a_hanging_server_times_out_and_is_sent_the_cancel_notification() -> None:
    cancelled: list[str] = []

    async def hang(params: Any) -> Any:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.append(params.name)
            raise

    server = lowlevel_server([tool("hang")], {"hang": hang})
    sent: list[dict[str, Any]] = []
    registry = McpRegistry(lambda: RecordingTransport(server, sent), name="raw")
    async with registry:
        pipeline = PipelineBuilder().use(TimeoutInterceptor(timeout=0.2)).route(registry).build()
        async with pipeline:
            response = await pipeline.invoke("hang")
        for _ in range(500):
            if cancelled:
                break
            await asyncio.sleep(0.01)
    assert response.error is not None
    assert response.error.category == "timeout"
    assert cancelled == ["hang"]
    [call] = [m for m in sent if m.get("method") == "tools/call"]
    [cancel] = [m for m in sent if m.get("method") == "notifications/cancelled"]
    assert cancel["params"]["requestId"] == call["id"]
    assert registry.replicas()[0].label == "0: transport: <lambda>"


async def test_a_server_that_never_lists_is_down_after_the_start_timeout() -> None:
    async def never(ctx: Any, params: Any) -> Any:
        await asyncio.sleep(3600)

    server: Server[Any] = Server("slow", on_list_tools=never)
    registry = McpRegistry(server, name="slow", list_timeout=0.2, start_timeout=5.0)
    async with registry:
        [status] = registry.replicas()
        assert status.failures >= 1
        assert status.state in ("down", "connecting")
        health = await registry.health()
        assert health.status is HealthStatus.DOWN
        with pytest.raises(Exception, match="has no tool list yet: replica 0: memory: slow is"):
            registry.resolve(Kind.TOOL, "x")


async def test_a_listing_that_never_ends_is_refused() -> None:
    async def endless(ctx: Any, params: Any) -> mcp_types.ListToolsResult:
        return mcp_types.ListToolsResult(tools=[tool("t")], next_cursor="more")

    server: Server[Any] = Server("endless", on_list_tools=endless)
    async with McpRegistry(server, name="endless") as registry:
        [status] = registry.replicas()
        assert status.reason == "RuntimeError: tools/list did not end after 100 pages"
        assert registry.list() == ()


async def test_a_replica_stuck_connecting_is_cancelled_by_aclose() -> None:
    async def never(ctx: Any, params: Any) -> Any:
        await asyncio.sleep(3600)

    server: Server[Any] = Server("stuck", on_list_tools=never)
    registry = McpRegistry(
        server, name="stuck", list_timeout=60.0, start_timeout=0.2, close_timeout=0.2
    )
    await registry.start()  # returns after start_timeout, the replica still connecting
    assert registry.replicas()[0].state is ReplicaState.CONNECTING
    assert dict((await registry.health()).problems) == {"replica 0: memory: stuck": "connecting"}
    await registry.aclose()  # the owner task is cancelled after close_timeout
    assert registry.replicas()[0].state is ReplicaState.STOPPED
    await registry.aclose()  # closing twice is harmless


async def test_a_transport_failing_mid_call_marks_the_replica_down_and_reconnects() -> None:
    server = lowlevel_server([tool("t")], {"t": OK})
    broken = {"on": True}

    def fail(message: dict[str, Any]) -> Exception | None:
        if message.get("method") == "tools/call" and broken.pop("on", False):
            return BrokenPipeError("pipe closed")
        return None

    registry = McpRegistry(
        lambda: RecordingTransport(server, [], fail=fail),
        name="raw",
        backoff=Backoff(initial=0.01, maximum=0.01),
    )
    async with registry, default_pipeline(registry) as pipeline:
        first = await pipeline.invoke("t")
        assert first.error is not None
        assert first.error.category == "unavailable"
        assert first.error.retryable is True
        assert first.error.message == (
            "MCP server 'raw' (replica 0: transport: <lambda>) closed the connection during "
            "the call to 't'"
        )
        for _ in range(500):
            if registry.replicas()[0].connections == 2:
                break
            await asyncio.sleep(0.01)
        assert registry.replicas()[0].state is ReplicaState.UP
        assert registry.replicas()[0].connections == 2
        assert (await pipeline.invoke("t")).unwrap() == "ok"


async def test_the_entry_function_honours_a_passed_deadline_and_runs_without_a_request() -> None:
    server = lowlevel_server([tool("t")], {"t": OK})
    clock = FakeClock()
    async with McpRegistry(server, name="raw", clock=clock) as registry:
        entry = registry.resolve(Kind.TOOL, "t")
        assert await entry.function() == "ok"  # no request: call_timeout bounds it
        late = RequestContext.create("t", deadline=clock.monotonic() - 1.0)
        with pytest.raises(CallTimeoutError) as raised:
            await entry.function(_toolware_request=late)
    assert raised.value.message == "'t' was not sent: its deadline had passed"
    assert raised.value.started is False


async def test_a_retry_moves_an_idempotent_call_to_the_next_replica() -> None:
    """Replica 0's pipe breaks mid-call: unavailable, retried, answered by replica 1."""
    read_only = mcp_types.ToolAnnotations(read_only_hint=True)
    answer = {
        n: mcp_types.CallToolResult(content=[mcp_types.TextContent(type="text", text=n)])
        for n in ("zero", "one")
    }
    first = lowlevel_server([tool("t", annotations=read_only)], {"t": answer["zero"]})
    second = lowlevel_server([tool("t", annotations=read_only)], {"t": answer["one"]})

    def fail(message: dict[str, Any]) -> Exception | None:
        return BrokenPipeError("gone") if message.get("method") == "tools/call" else None

    registry = McpRegistry(
        lambda: RecordingTransport(first, [], fail=fail),
        second,
        name="raw",
        backoff=Backoff(initial=5.0),
    )
    pipeline = PipelineBuilder().use(RetryInterceptor(attempts=2)).route(registry).build()
    async with registry, pipeline:
        assert registry.resolve(Kind.TOOL, "t").description.idempotent is True
        response = await pipeline.invoke("t")
        assert response.value == "one"
        assert response.attempts == 2
        assert [r.state for r in registry.replicas()] == [ReplicaState.DOWN, ReplicaState.UP]
        assert (
            registry.replicas()[0].reason == "the connection failed during a call (BrokenPipeError)"
        )


async def test_a_start_cancelled_while_waiting_stops_the_replicas() -> None:
    """`async with registry:` cancelled during start (an outer timeout): __aexit__ never
    runs, so start itself stops what it started; no owner task is left behind."""

    async def never(ctx: Any, params: Any) -> Any:
        await asyncio.sleep(3600)

    server: Server[Any] = Server("stuck", on_list_tools=never)
    registry = McpRegistry(
        server, name="stuck", list_timeout=60.0, start_timeout=30.0, close_timeout=0.5
    )
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.3), registry:
            pytest.fail("start() cannot have finished")  # pragma: no cover
    left = [t.get_name() for t in asyncio.all_tasks() if t.get_name().startswith("mcp:")]
    assert left == []
    assert registry.replicas()[0].state is ReplicaState.STOPPED


async def test_refusal_codes_are_read_only_with_a_matching_typed_error() -> None:
    """-32012..-32015 keep a category only when data is a toolware error of that category
    (another server may use the codes for something else), with what it needs."""

    def raising(code: int, data: Any) -> Any:
        async def answer(params: Any) -> Any:
            raise MCPError(code=code, message="no", data=data)

        return answer

    answers = {
        "foreign": raising(-32012, None),
        "mismatch": raising(-32012, {"category": "unavailable"}),
        "no_wait": raising(-32012, {"category": "rate_limited", "retry_after": True}),
        "nan_wait": raising(-32013, {"category": "circuit_open", "retry_after": float("nan")}),
        "kept": raising(-32015, {"category": "unavailable", "hint": "h", "retryable": False}),
        "bare_timeout": raising(-32014, {"category": "timeout", "hint": 3}),
        "access": raising(-32011, {"category": "forbidden"}),
    }
    server = lowlevel_server([tool(name) for name in answers], answers)
    async with McpRegistry(server, name="raw") as registry, default_pipeline(registry) as pipeline:
        errors = {name: (await pipeline.invoke(name)).error for name in answers}
    shapes = {name: (e.category.value, e.retryable) for name, e in errors.items() if e is not None}
    assert shapes == {
        "foreign": ("tool_failed", False),
        "mismatch": ("tool_failed", False),
        "no_wait": ("tool_failed", False),
        "nan_wait": ("tool_failed", False),
        "kept": ("unavailable", False),
        "bare_timeout": ("timeout", False),
        "access": ("tool_failed", False),
    }
    kept, bare = errors["kept"], errors["bare_timeout"]
    assert kept is not None
    assert bare is not None
    assert (kept.message, kept.hint) == ("MCP server 'raw' refused the call to 'kept': no", "h")
    assert isinstance(bare, CallTimeoutError)
    assert bare.limit == 0.0
    assert bare.hint == CallTimeoutError.default_hint


async def test_aclose_does_not_wait_for_a_replica_still_connecting() -> None:
    """A replica that never finished connecting has no session to end gracefully: aclose
    cancels it at once rather than waiting close_timeout (30 s here) for it."""

    async def never(ctx: Any, params: Any) -> Any:
        await asyncio.sleep(3600)

    server: Server[Any] = Server("stuck", on_list_tools=never)
    registry = McpRegistry(
        server, name="stuck", list_timeout=60.0, start_timeout=0.2, close_timeout=30.0
    )
    await registry.start()
    assert registry.replicas()[0].state is ReplicaState.CONNECTING
    async with asyncio.timeout(10):  # far below close_timeout: not waited for
        await registry.aclose()
    assert registry.replicas()[0].state is ReplicaState.STOPPED


class _SlowToClose(RecordingTransport):
    """A transport whose closing never ends on its own (a server that ignores the close)."""

    closing: ClassVar[list[str]] = []

    async def __aexit__(self, *exc: Any) -> None:
        self.closing.append("closing")
        try:
            await asyncio.sleep(3600)
        finally:
            await super().__aexit__(*exc)


async def test_aclose_cancels_a_connection_that_does_not_close_in_time() -> None:
    """An up replica gets close_timeout to end its session, then its task is cancelled."""
    server = lowlevel_server([tool("t")], {"t": OK})
    registry = McpRegistry(lambda: _SlowToClose(server, []), name="raw", close_timeout=0.2)
    await registry.start()
    assert registry.replicas()[0].state is ReplicaState.UP
    async with asyncio.timeout(10):
        await registry.aclose()
    assert _SlowToClose.closing == ["closing"]
    assert registry.replicas()[0].state is ReplicaState.STOPPED


async def test_a_call_that_breaks_the_connection_marks_the_replica_down_at_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Down before the call returns (the next call must not pick it), its reason kept; the
    owner task then logs the reconnect it waits for."""
    server = lowlevel_server([tool("t")], {"t": OK})

    def fail(message: dict[str, Any]) -> Exception | None:
        return BrokenPipeError("gone") if message.get("method") == "tools/call" else None

    registry = McpRegistry(
        lambda: RecordingTransport(server, [], fail=fail),
        name="raw",
        backoff=Backoff(initial=5.0),
        random=lambda: 0.0,
    )
    reason = "the connection failed during a call (BrokenPipeError)"
    with caplog.at_level(logging.WARNING, logger="toolware.integrations.mcp"):
        async with registry:
            entry = registry.resolve(Kind.TOOL, "t")
            with pytest.raises(UnavailableError):
                await entry.function()
            [status] = registry.replicas()
            assert (status.state, status.reason) == (ReplicaState.DOWN, reason)
            with pytest.raises(UnavailableError) as again:
                await entry.function()
            for _ in range(500):
                if caplog.records:
                    break
                await asyncio.sleep(0.01)
    assert again.value.message == (
        f"no replica of MCP server 'raw' is connected to call 't': replica 0: transport: "
        f"<lambda> is down ({reason})"
    )
    [record] = caplog.records
    assert record.getMessage() == (
        f"mcp_client.replica_down replica=0: transport: <lambda> reason={reason} retry_in=2.500"
    )
    assert (record.replica, record.reason, record.retry_in) == (  # type: ignore[attr-defined]
        "0: transport: <lambda>",
        reason,
        2.5,
    )


async def test_replicas_report_their_index_and_own_named_tasks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    first = lowlevel_server([tool("t")], {"t": OK}, name="a")
    second = lowlevel_server([tool("t")], {"t": OK}, name="b")
    with caplog.at_level(logging.INFO, logger="toolware.integrations.mcp"):
        registry = await McpRegistry(first, second, name="raw").__aenter__()
    up = [r for r in caplog.records if r.getMessage().startswith("mcp_client.replica_up")]
    assert sorted(r.getMessage() for r in up) == [
        "mcp_client.replica_up replica=0: memory: a tools=1",
        "mcp_client.replica_up replica=1: memory: b tools=1",
    ]
    assert sorted((r.replica, r.tools) for r in up) == [  # type: ignore[attr-defined]
        ("0: memory: a", 1),
        ("1: memory: b", 1),
    ]
    try:
        names = {task.get_name() for task in asyncio.all_tasks()}
        assert [(r.index, r.label) for r in registry.replicas()] == [
            (0, "0: memory: a"),
            (1, "1: memory: b"),
        ]
        assert {"mcp:0: memory: a", "mcp:1: memory: b"} <= names
    finally:
        await registry.aclose()


async def test_every_replica_still_connecting_is_named() -> None:
    async def never(ctx: Any, params: Any) -> Any:
        await asyncio.sleep(3600)

    slow = [Server(name, on_list_tools=never) for name in ("a", "b")]
    registry = McpRegistry(*slow, name="slow", list_timeout=60.0, start_timeout=0.1)
    await registry.start()
    try:
        with pytest.raises(UnavailableError) as raised:
            registry.resolve(Kind.TOOL, "x")
    finally:
        await registry.aclose()
    assert raised.value.message == (
        "MCP registry 'slow' has no tool list yet: replica 0: memory: a is connecting; "
        "replica 1: memory: b is connecting"
    )


async def test_refresh_relists_connected_replicas(caplog: pytest.LogCaptureFixture) -> None:
    """A server that changed its list without notifying: refresh() shows the new list, and
    the change is logged with the registry's name and counts."""
    tools = [tool("t")]
    server = lowlevel_server(tools, {"t": OK, "u": OK})
    async with McpRegistry(server, name="raw") as registry:
        revision = registry.revision
        tools.append(tool("u"))
        with caplog.at_level(logging.INFO, logger="toolware.integrations.mcp"):
            registry.refresh()
            for _ in range(500):
                if registry.revision != revision:
                    break
                await asyncio.sleep(0.01)
        assert [d.name for d in registry.list()] == ["t", "u"]
        assert registry.replicas()[0].connections == 1  # relisted on the open session
    [record] = [r for r in caplog.records if r.getMessage().startswith("mcp_client.tools")]
    assert record.getMessage() == "mcp_client.tools_changed registry=raw tools=2 problems=0"
    assert (record.registry, record.tools) == ("raw", 2)  # type: ignore[attr-defined]


async def test_the_catalogue_follows_the_first_replica_that_is_up() -> None:
    """Replica 0 lost: replica 1's list is shown; with none up the last list is kept as is."""
    first = lowlevel_server([tool("t")], {"t": OK}, name="a")
    second = lowlevel_server([tool("t"), tool("v")], {"t": OK, "v": OK}, name="b")

    def fail(message: dict[str, Any]) -> Exception | None:
        return BrokenPipeError("gone") if message.get("method") == "tools/call" else None

    registry = McpRegistry(
        lambda: RecordingTransport(first, [], fail=fail),
        second,
        name="raw",
        backoff=Backoff(initial=5.0),
    )
    async with registry:
        for _ in range(500):
            if all(r.state is ReplicaState.UP for r in registry.replicas()):
                break
            await asyncio.sleep(0.01)
        assert [d.name for d in registry.list()] == ["t"]
        revision = registry.revision
        with pytest.raises(UnavailableError):
            await registry.resolve(Kind.TOOL, "t").function()
        assert [d.name for d in registry.list()] == ["t", "v"]
        assert registry.revision == revision + 1
        kept = registry.resolve(Kind.TOOL, "v")
    assert registry.resolve(Kind.TOOL, "v") is kept
    assert [d.name for d in registry.list()] == ["t", "v"]


async def test_a_listing_in_pages_is_read_to_its_end() -> None:
    """The first request has no cursor; each next one sends the cursor it was given."""
    cursors: list[str | None] = []
    pages = {None: ([tool("a")], "p2"), "p2": ([tool("b")], None)}

    async def paged(ctx: Any, params: Any) -> mcp_types.ListToolsResult:
        cursor = params.cursor if params is not None else None
        cursors.append(cursor)
        tools, following = pages[cursor]
        return mcp_types.ListToolsResult(tools=tools, next_cursor=following)

    server: Server[Any] = Server("paged", on_list_tools=paged)
    async with McpRegistry(server, name="paged") as registry:
        assert [d.name for d in registry.list()] == ["a", "b"]
    assert cursors == [None, "p2"]


async def test_a_replica_still_connecting_is_not_called() -> None:
    """Replica 0 never finishes listing: calls go to replica 1, which is up."""

    async def never(ctx: Any, params: Any) -> Any:
        await asyncio.sleep(3600)

    stuck: Server[Any] = Server("stuck", on_list_tools=never)
    answer = mcp_types.CallToolResult(content=[mcp_types.TextContent(type="text", text="one")])
    ready = lowlevel_server([tool("t")], {"t": answer}, name="ready")
    registry = McpRegistry(
        stuck, ready, name="raw", list_timeout=60.0, start_timeout=0.5, close_timeout=0.2
    )
    await registry.start()
    try:
        for _ in range(500):
            if registry.replicas()[1].state is ReplicaState.UP:
                break
            await asyncio.sleep(0.01)
        assert registry.replicas()[0].state is ReplicaState.CONNECTING
        assert await registry.resolve(Kind.TOOL, "t").function() == "one"
    finally:
        await registry.aclose()
