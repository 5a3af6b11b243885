"""toolware's MCP server against the SDK's own client, in-process (both protocol eras)."""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TextIO

import anyio
import httpx
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from tests.integrations.mcp.server_support import Events, Recorder, build_registry
from toolware import (
    CallCancelledError,
    InvalidRequestError,
    LocalRegistry,
    PipelineBuilder,
    Principal,
    TimeoutInterceptor,
    TraceContext,
    UnauthenticatedError,
    ValidationInterceptor,
    default_pipeline,
)
from toolware.integrations.mcp.server import McpServer, ToolNameCollisionError
from toolware.testing import FakeHandler

# "auto" talks to an in-process server the 2026-07-28 way (no handshake, direct dispatch);
# "legacy" runs the 2025-11-25 handshake over the SDK's in-memory JSON-RPC streams.
MODES = ["auto", "legacy"]
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
ANY_VALUE = {
    "type": "object",
    "properties": {"result": {}},
    "required": ["result"],
    "x-fastmcp-wrap-result": True,
}


@pytest.fixture
def events() -> Events:
    return Events()


@pytest.fixture
def registry(events: Events) -> LocalRegistry:
    return build_registry(events)


@pytest.fixture
def server(registry: LocalRegistry) -> McpServer:
    return McpServer(default_pipeline(registry))


def _error_data(result: Any) -> dict[str, Any]:
    assert result.is_error is True
    data: dict[str, Any] = json.loads(result.content[-1].text)
    assert result.structured_content["error"] == data
    return data


# -- tools/list ---------------------------------------------------------------------------


async def test_list_tools_publishes_every_entry_with_its_schemas(server: McpServer) -> None:
    """Tools, plugin actions (canonical names) and the retriever, in registry order, with
    input schemas, descriptions, wrapped or plain output schemas and hints."""
    async with Client(server.server) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert list(tools) == [
        "add", "profile", "explode", "busy", "count", "break_after", "wait_forever",
        "trickle", "notes.add", "notes.list", "docs",
    ]  # fmt: skip
    add = tools["add"]
    assert add.description == "Add two integers."
    assert add.input_schema["required"] == ["a", "b"]
    assert add.input_schema["properties"]["a"]["type"] == "integer"
    assert add.output_schema == {
        "type": "object",
        "properties": {"result": {"type": "integer"}},
        "required": ["result"],
        "x-fastmcp-wrap-result": True,
    }
    assert add.annotations is not None
    assert add.annotations.idempotent_hint is True
    assert add.annotations.read_only_hint is None
    assert tools["profile"].output_schema == {
        "additionalProperties": {"type": "string"},
        "type": "object",
    }
    assert tools["explode"].annotations is None
    notes_list = tools["notes.list"].output_schema
    assert notes_list is not None
    assert notes_list["properties"]["result"]["items"] == {"$ref": "#/$defs/Note"}
    assert set(notes_list["$defs"]) == {"Note"}
    assert tools["notes.add"].description == "Store a note; returns its id."
    docs = tools["docs"]
    assert docs.annotations is not None
    assert docs.annotations.read_only_hint is True
    assert set(docs.input_schema["properties"]) == {"query", "k"}
    assert server.tool_names == tuple(tools)


@pytest.mark.parametrize("mode", MODES)
async def test_list_tools_in_both_eras(server: McpServer, mode: str) -> None:
    """The handshake era and the 2026 era list the same tools; the server says who it is."""
    async with Client(server.server, mode=mode) as client:
        names = [tool.name for tool in (await client.list_tools()).tools]
        assert client.server_info is not None
        assert client.server_info.name == "toolware"
        expected_version = "2025-11-25" if mode == "legacy" else "2026-07-28"
        assert client.protocol_version == expected_version
    assert names[:2] == ["add", "profile"]
    assert len(names) == 11


async def test_function_names_and_rag_prefix(registry: LocalRegistry) -> None:
    """tool_names="function" publishes notes__add (and answers to it); rag_prefix names
    retrievers apart."""
    server = McpServer(default_pipeline(registry), tool_names="function", rag_prefix="rag_")
    async with Client(server.server) as client:
        names = [tool.name for tool in (await client.list_tools()).tools]
        result = await client.call_tool("notes__add", {"text": "four"})
        docs = await client.call_tool("rag_docs", {"query": "tea", "k": 1})
    assert "notes__add" in names
    assert "notes.add" not in names
    assert "rag_docs" in names
    assert "docs" not in names
    assert result.structured_content == {"result": 4}
    assert docs.structured_content["result"][0]["id"] == "d2"


async def test_list_follows_registry_changes(registry: LocalRegistry) -> None:
    """An entry registered after the server was built is listed and callable."""
    server = McpServer(default_pipeline(registry))
    async with Client(server.server) as client:
        before = len((await client.list_tools()).tools)

        @registry.tool
        def late(x: int) -> int:
            return x * 2

        names = [tool.name for tool in (await client.list_tools()).tools]
        result = await client.call_tool("late", {"x": 21})
    assert (before, names[-1], result.structured_content) == (11, "late", {"result": 42})


async def test_name_collision_is_refused_at_construction(registry: LocalRegistry) -> None:
    """A tool and a retriever both called docs: the error names both and the fix."""

    @registry.tool
    def docs(query: str) -> str:
        return query

    with pytest.raises(ToolNameCollisionError) as caught:
        McpServer(default_pipeline(registry))
    assert str(caught.value) == (
        "two entries would be the MCP tool 'docs': the rag 'docs' and the tool 'docs'; rename "
        "one, or publish retrievers under a prefix with McpServer(rag_prefix=...)"
    )
    server = McpServer(default_pipeline(registry), rag_prefix="rag_")
    assert server.tool_names[-2:] == ("rag_docs", "docs")


async def test_collision_after_a_change_keeps_the_last_good_list(
    registry: LocalRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    """A registry change that would collide is logged; the server keeps serving the old list."""
    server = McpServer(default_pipeline(registry))

    @registry.tool
    def docs(query: str) -> str:
        return query

    with caplog.at_level(logging.ERROR, logger="toolware.mcp"):
        assert len(server.tool_names) == 11
    [record] = caplog.records
    assert record.getMessage().startswith("mcp_server.catalogue_refused revision=")
    assert "two entries would be the MCP tool 'docs'" in record.getMessage()


async def test_lazy_entry_is_listed_with_an_open_schema(registry: LocalRegistry) -> None:
    """A lazy entry not imported yet: any object as input; any value as output, wrapped."""
    registry.add_lazy("json:dumps", name="dumps")
    server = McpServer(default_pipeline(registry))
    async with Client(server.server, mode="legacy") as client:
        [dumps] = [tool for tool in (await client.list_tools()).tools if tool.name == "dumps"]
    assert dumps.input_schema == {"type": "object"}
    assert dumps.output_schema == ANY_VALUE


# -- tools/call ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_successful_call_has_text_and_structured_content(
    server: McpServer, mode: str
) -> None:
    """A number is wrapped under result; an object result is the structured content itself."""
    async with Client(server.server, mode=mode) as client:
        added = await client.call_tool("add", {"a": 2, "b": 3})
        card = await client.call_tool("profile", {"name": "ada"})
        noted = await client.call_tool("notes.list", {})
    assert added.is_error is False
    assert [block.text for block in added.content] == ["5"]  # type: ignore[union-attr]
    assert added.structured_content == {"result": 5}
    assert card.structured_content == {"name": "ada", "greeting": "hello ada"}
    assert json.loads(card.content[0].text) == card.structured_content  # type: ignore[union-attr]
    assert noted.structured_content == {
        "result": [{"id": 1, "text": "tea"}, {"id": 2, "text": "coffee"}]
    }


async def test_entry_without_a_return_type_has_an_open_output_schema() -> None:
    """No annotation: any value, structured under result, and the schema says it is wrapped
    (so a client gives back the value, not the wrapper)."""
    registry = LocalRegistry()

    @registry.tool
    def double(x: int):  # type: ignore[no-untyped-def]
        return [x, x]

    async with Client(McpServer(default_pipeline(registry)).server) as client:
        [tool] = (await client.list_tools()).tools
        result = await client.call_tool("double", {"x": 4})
    assert tool.output_schema == ANY_VALUE
    assert result.structured_content == {"result": [4, 4]}
    assert result.content[0].text == "[4, 4]"  # type: ignore[union-attr]


async def test_string_result_is_the_text_itself() -> None:
    """A string value is sent as it is, not as a JSON string."""
    registry = LocalRegistry()

    @registry.tool
    def greet(name: str) -> str:
        return f"hi {name}"

    async with Client(McpServer(default_pipeline(registry)).server) as client:
        result = await client.call_tool("greet", {"name": "bo"})
    assert result.content[0].text == "hi bo"  # type: ignore[union-attr]
    assert result.structured_content == {"result": "hi bo"}


@pytest.mark.parametrize("mode", MODES)
async def test_tool_failure_is_an_error_result_with_the_typed_error(
    server: McpServer, mode: str
) -> None:
    """tool_failed: isError true, the error's JSON as text and as structuredContent.error."""
    async with Client(server.server, mode=mode) as client:
        result = await client.call_tool("explode", {"reason": "x"})
    data = _error_data(result)
    assert data["category"] == "tool_failed"
    assert data["message"] == "'explode' raised RuntimeError: boom: x"
    assert data["target"] == "explode"
    assert data["retryable"] is False
    assert data["causes"] == ["RuntimeError"]
    assert len(result.content) == 1


@pytest.mark.parametrize("mode", MODES)
async def test_bad_arguments_are_an_error_result_naming_the_fields(
    server: McpServer, mode: str
) -> None:
    """Per MCP 2025-11-25 a validation error is a tool result, so the model can fix it."""
    async with Client(server.server, mode=mode) as client:
        result = await client.call_tool("add", {"a": "two"})
    data = _error_data(result)
    assert data["category"] == "invalid_request"
    assert [field["field"] for field in data["fields"]] == ["a", "b"]
    assert data["hint"] == "fix the arguments named in 'fields' and call again"


@pytest.mark.parametrize("mode", MODES)
async def test_unknown_tool_is_invalid_params(
    server: McpServer, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    """-32602 with the typed error (and close matches) as data; logged at debug."""
    with caplog.at_level(logging.DEBUG, logger="toolware.mcp"):
        async with Client(server.server, mode=mode) as client:
            with pytest.raises(MCPError) as caught:
                await client.call_tool("ad", {"a": 1, "b": 2})
    [record] = [r for r in caplog.records if r.name == "toolware.mcp"]
    assert (
        record.getMessage() == "mcp_server.protocol_error target=ad category=not_found code=-32602"
    )
    assert (record.target, record.category) == ("ad", "not_found")  # type: ignore[attr-defined]
    assert caught.value.code == -32602
    assert caught.value.message == "no MCP tool named 'ad'"
    data = caught.value.data
    assert (data["category"], data["target"], data["candidates"]) == ("not_found", "ad", ["add"])
    assert data["hint"] == "did you mean 'add'?"


async def test_refusal_is_a_protocol_error_with_its_code(server: McpServer) -> None:
    """rate_limited is -32012, retry_after in the data."""
    async with Client(server.server) as client:
        with pytest.raises(MCPError) as caught:
            await client.call_tool("busy", {})
    assert caught.value.code == -32012
    assert caught.value.message == "slow down"
    assert caught.value.data["retry_after"] == 2.0
    assert caught.value.data["category"] == "rate_limited"


async def test_timeout_is_a_protocol_error(events: Events, registry: LocalRegistry) -> None:
    """A pipeline timeout answers -32014, and the tool was cancelled."""
    pipeline = (
        PipelineBuilder()
        .use(TimeoutInterceptor(timeout=0.05))
        .use(ValidationInterceptor())
        .route(registry)
        .build()
    )
    async with Client(McpServer(pipeline).server) as client:
        with pytest.raises(MCPError) as caught:
            await client.call_tool("wait_forever", {})
    assert caught.value.code == -32014
    assert caught.value.data["category"] == "timeout"
    assert events.log == ["waiting", "cancelled"]


async def test_cancelled_answer_the_client_did_not_ask_for_is_an_error_result() -> None:
    """A tool that gives up with `cancelled` still gets an answer: an isError result."""
    registry = LocalRegistry()

    @registry.tool
    async def quit_early() -> str:
        raise CallCancelledError("the upstream job was cancelled")

    async with Client(McpServer(default_pipeline(registry)).server) as client:
        result = await client.call_tool("quit_early", {})
    data = _error_data(result)
    assert (data["category"], data["message"]) == ("cancelled", "the upstream job was cancelled")


# -- streams ------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_stream_sends_progress_per_chunk_then_every_chunk(
    events: Events, server: McpServer, mode: str
) -> None:
    """Each chunk is a progress notification (count, chunk text); the result has them all."""
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append((done, total, message))

    async with Client(server.server, mode=mode) as client:
        result = await client.call_tool("count", {"n": 3}, progress_callback=on_progress)
    assert progress == [(1, None, "1"), (2, None, "2"), (3, None, "3")]
    assert [block.text for block in result.content] == ["1", "2", "3"]  # type: ignore[union-attr]
    assert result.structured_content == {"result": [1, 2, 3]}
    assert result.is_error is False
    assert events.log == ["count closed"]


async def test_stream_without_progress_token_still_answers(server: McpServer) -> None:
    """No progress asked for: the chunks arrive in the result only."""
    async with Client(server.server, mode="legacy") as client:
        result = await client.call_tool("count", {"n": 2})
    assert result.structured_content == {"result": [1, 2]}


@pytest.mark.parametrize("mode", MODES)
async def test_stream_failing_part_way_keeps_its_chunks(server: McpServer, mode: str) -> None:
    """The chunks delivered come first, then the error; both in structuredContent too."""
    async with Client(server.server, mode=mode) as client:
        result = await client.call_tool("break_after", {"n": 2})
    texts = [block.text for block in result.content]  # type: ignore[union-attr]
    assert texts[:2] == ["word 0", "word 1"]
    data = _error_data(result)
    assert data["category"] == "tool_failed"
    assert "after 2 chunk(s)" in data["message"]
    assert result.structured_content["chunks"] == ["word 0", "word 1"]


async def test_stream_failing_before_its_first_chunk_is_an_ordinary_error(
    server: McpServer,
) -> None:
    """Bad arguments to a streaming tool: no stream, no chunks key."""
    async with Client(server.server) as client:
        result = await client.call_tool("count", {"n": "many"})
    assert _error_data(result)["category"] == "invalid_request"
    assert "chunks" not in result.structured_content


async def test_endless_stream_is_cut_at_max_chunks(events: Events, registry: LocalRegistry) -> None:
    """More chunks than max_chunks: the producer is closed and the result says why."""
    server = McpServer(default_pipeline(registry), max_chunks=2)
    async with Client(server.server) as client:
        result = await client.call_tool("count", {"n": 50})
    data = _error_data(result)
    assert (data["category"], data["limit"]) == ("invalid_request", 2)
    assert data["message"] == (
        "the stream sent more than 2 chunks, the most one MCP result holds; it was closed there"
    )
    assert result.structured_content["chunks"] == [1, 2]
    assert events.log == ["count closed"]


# -- cancellation, trace context, principal ----------------------------------------------


async def test_cancelled_notification_cancels_the_pipeline_call(
    events: Events, registry: LocalRegistry
) -> None:
    """The client gives up (read timeout) and sends notifications/cancelled: the tool's task
    is cancelled, and the connection goes on serving."""
    recorder = Recorder()
    pipeline = PipelineBuilder().use(recorder).route(registry).build()
    async with Client(McpServer(pipeline).server, mode="legacy") as client:
        with pytest.raises(MCPError) as caught:
            await client.call_tool("wait_forever", {}, read_timeout_seconds=0.2)
        assert caught.value.code == -32001  # the SDK client's own request timeout
        with anyio.fail_after(10):
            await events.cancelled.wait()
        after = await client.call_tool("add", {"a": 1, "b": 1})
    assert events.log == ["waiting", "cancelled"]
    assert [r.target for r in recorder.requests] == ["wait_forever", "add"]
    assert after.structured_content == {"result": 2}


async def test_caller_cancelling_in_process_cancels_the_call(
    events: Events, server: McpServer
) -> None:
    """The 2026-era in-process client: cancelling the caller cancels the tool."""
    async with Client(server.server) as client, anyio.create_task_group() as group:
        group.start_soon(client.call_tool, "wait_forever", {})
        with anyio.fail_after(10):
            await events.started.wait()
        group.cancel_scope.cancel()
    assert events.log == ["waiting", "cancelled"]


async def test_cancelling_a_stream_closes_its_producer(events: Events, server: McpServer) -> None:
    """notifications/cancelled while a stream waits for its second chunk: the generator's
    finally runs, and the session serves on."""
    async with Client(server.server, mode="legacy") as client:
        with pytest.raises(MCPError):
            await client.call_tool("trickle", {}, read_timeout_seconds=0.2)
        with anyio.fail_after(10):
            await events.cancelled.wait()
        after = await client.call_tool("add", {"a": 2, "b": 2})
    assert events.log == ["trickle closed"]
    assert after.structured_content == {"result": 4}


@pytest.mark.parametrize("mode", MODES)
async def test_meta_trace_context_reaches_the_request(registry: LocalRegistry, mode: str) -> None:
    """params._meta traceparent/tracestate become RequestContext.trace; none without."""
    recorder = Recorder()
    pipeline = PipelineBuilder().use(recorder).route(registry).build()
    async with Client(McpServer(pipeline).server, mode=mode) as client:
        meta = {"traceparent": TRACEPARENT, "tracestate": "vendor=1"}
        await client.call_tool("add", {"a": 1, "b": 2}, meta=meta)  # type: ignore[arg-type]
        await client.call_tool("add", {"a": 1, "b": 2})
    traced, plain = recorder.requests
    assert traced.trace == TraceContext(traceparent=TRACEPARENT, tracestate="vendor=1")
    assert plain.trace is None


async def test_principal_hook_names_the_caller(registry: LocalRegistry) -> None:
    """The hook sees the SDK's request context; its Principal reaches the request."""
    recorder = Recorder()
    seen: list[str] = []

    def who(ctx: Any) -> Principal:
        seen.append(ctx.method)
        return Principal(id="alice", roles=frozenset({"reader"}))

    pipeline = PipelineBuilder().use(recorder).route(registry).build()
    async with Client(McpServer(pipeline, principal=who).server) as client:
        await client.call_tool("notes.add", {"text": "hi"})
    [request] = recorder.requests
    assert request.principal == Principal(id="alice", roles=frozenset({"reader"}))
    assert (request.target, request.action, request.kind.value) == ("notes", "add", "plugin")
    # The client lists the tools after its first call, to check the result's output schema.
    assert seen == ["tools/call", "tools/list"]


async def test_principal_hook_may_refuse(registry: LocalRegistry) -> None:
    """UnauthenticatedError from the hook is -32010; the pipeline never runs."""
    recorder = Recorder()

    def refuse(ctx: Any) -> Principal | None:
        raise UnauthenticatedError("send a bearer token")

    pipeline = PipelineBuilder().use(recorder).route(registry).build()
    async with Client(McpServer(pipeline, principal=refuse).server) as client:
        with pytest.raises(MCPError) as caught:
            await client.call_tool("add", {"a": 1, "b": 2})
    assert caught.value.code == -32010
    assert caught.value.data["category"] == "unauthenticated"
    assert caught.value.data["target"] == "add"
    assert len(caught.value.data["request_id"]) == 32
    assert recorder.requests == []


async def test_refusing_hook_hides_the_tools(registry: LocalRegistry) -> None:
    """A refused caller gets -32010 for tools/list and for a name that does not exist, so
    it learns neither the tools nor close matches."""

    def refuse(ctx: Any) -> Principal | None:
        raise UnauthenticatedError("send a bearer token")

    async with Client(McpServer(default_pipeline(registry), principal=refuse).server) as client:
        with pytest.raises(MCPError) as listing:
            await client.list_tools()
        with pytest.raises(MCPError) as unknown:
            await client.call_tool("ad", {})
    assert (listing.value.code, listing.value.data["target"]) == (-32010, "tools/list")
    assert (unknown.value.code, unknown.value.data["target"]) == (-32010, "ad")
    assert "candidates" not in unknown.value.data


async def test_hook_error_without_a_code_is_internal(registry: LocalRegistry) -> None:
    """A hook raising a category that is normally a tool result: -32603, category kept."""

    def confused(ctx: Any) -> Principal | None:
        raise InvalidRequestError("the x-user header is not an email address")

    async with Client(McpServer(default_pipeline(registry), principal=confused).server) as client:
        with pytest.raises(MCPError) as caught:
            await client.call_tool("add", {"a": 1, "b": 2})
    assert caught.value.code == -32603
    assert caught.value.message == "the x-user header is not an email address"
    assert caught.value.data["category"] == "invalid_request"


async def test_a_hook_returning_no_principal_is_internal(registry: LocalRegistry) -> None:
    """A hook returning something else than a Principal or None (a user name): -32603 naming
    what it returned, and no call runs with it as the principal."""
    recorder = Recorder()
    pipeline = PipelineBuilder().use(recorder).route(registry).build()
    wrong = McpServer(pipeline, principal=lambda ctx: "alice")
    async with Client(wrong.server) as client:
        with pytest.raises(MCPError) as caught:
            await client.call_tool("add", {"a": 1, "b": 2})
        with pytest.raises(MCPError) as listing:
            await client.list_tools()
    assert caught.value.code == -32603
    assert caught.value.message == (
        "the principal hook returned str, not a Principal or None; return "
        "Principal(id=...) for a known caller, None for an anonymous one"
    )
    assert caught.value.data["interceptor"] == "principal"
    assert listing.value.message == caught.value.message
    assert recorder.requests == []


async def test_crashing_principal_hook_is_internal_and_logged(
    server: McpServer, registry: LocalRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    """A hook that raises: -32603 naming the type only; the text stays in the log."""

    def crash(ctx: Any) -> Principal | None:
        raise ValueError("token=hunter2")

    crashing = McpServer(default_pipeline(registry), principal=crash)
    with caplog.at_level(logging.ERROR, logger="toolware.mcp"):
        async with Client(crashing.server) as client:
            with pytest.raises(MCPError) as caught:
                await client.call_tool("add", {"a": 1, "b": 2})
    assert caught.value.code == -32603
    assert caught.value.message == "the principal hook raised ValueError"
    assert caught.value.data["interceptor"] == "principal"
    assert caught.value.data["target"] == "add"
    assert "hunter2" not in json.dumps(caught.value.data)
    [record] = caplog.records
    assert record.getMessage() == "mcp_server.principal_hook_failed target=add"
    assert record.target == "add"  # type: ignore[attr-defined]
    assert record.exc_info is not None
    assert "hunter2" in str(record.exc_info[1])


async def test_retriever_is_a_tool_with_ranked_documents(server: McpServer) -> None:
    """RAG retrievers are tools: documents ranked by score, cut to k."""
    async with Client(server.server) as client:
        result = await client.call_tool("docs", {"query": "tea", "k": 2})
    documents = result.structured_content["result"]
    assert [(d["id"], d["score"]) for d in documents] == [("d2", 0.9), ("d1", 0.5)]
    assert documents[1] == {"id": "d1", "text": "about tea", "score": 0.5, "metadata": {}}


# -- construction -------------------------------------------------------------------------


async def test_pipeline_to_a_plain_handler_needs_the_registry(registry: LocalRegistry) -> None:
    """Without a router the registry to publish must be given; with it, calls go through the
    pipeline's handler."""
    pipeline = PipelineBuilder().route(FakeHandler(["from the handler"])).build()
    with pytest.raises(TypeError) as caught:
        McpServer(pipeline)
    assert str(caught.value) == (
        "pipeline 'pipeline' routes to FakeHandler, not to a registry: pass the registry to "
        "publish, McpServer(pipeline, registry)"
    )
    async with Client(McpServer(pipeline, registry).server) as client:
        result = await client.call_tool("explode", {"reason": "x"})
    assert result.content[0].text == "from the handler"  # type: ignore[union-attr]
    assert result.structured_content == {"result": "from the handler"}


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"tool_names": "dotted"}, ValueError, "McpServer(tool_names=...) must be 'canonical'"),
        ({"rag_prefix": 3}, TypeError, "McpServer(rag_prefix=...) must be a string, got 3"),
        (
            {"principal": "alice"},
            TypeError,
            "McpServer(principal=...) must be a function (ctx) -> Principal | None, got str",
        ),
        ({"max_chunks": 0}, ValueError, "McpServer(max_chunks=...) must be a whole number >= 1"),
        (
            {"max_chunks": True},
            ValueError,
            "McpServer(max_chunks=...) must be a whole number >= 1 (the most chunks one "
            "streamed result may hold), got True",
        ),
        (
            {"max_chunks": "3"},
            ValueError,
            "McpServer(max_chunks=...) must be a whole number >= 1 (the most chunks one "
            "streamed result may hold), got '3'",
        ),
        (
            {"registry": {}},
            TypeError,
            "McpServer(registry=...) must be a Registry (such as a LocalRegistry), got dict",
        ),
    ],
)
def test_bad_options_are_refused(
    registry: LocalRegistry, options: dict[str, Any], error: type[Exception], message: str
) -> None:
    """Each option is checked, and the message names it."""
    with pytest.raises(error) as caught:
        McpServer(default_pipeline(registry), **options)
    assert str(caught.value).startswith(message)


def test_a_registry_is_not_a_pipeline(registry: LocalRegistry) -> None:
    """Passing the registry itself says to wrap it in a pipeline."""
    with pytest.raises(TypeError) as caught:
        McpServer(registry)  # type: ignore[arg-type]
    assert str(caught.value) == (
        "McpServer(pipeline=...) must be a built Pipeline, got LocalRegistry; for a registry, "
        "pass default_pipeline(registry)"
    )


async def test_name_version_and_instructions_reach_the_client(registry: LocalRegistry) -> None:
    """serverInfo and instructions as given."""
    server = McpServer(
        default_pipeline(registry), name="shop", version="1.2", instructions="Use add."
    )
    async with Client(server.server, mode="legacy") as client:
        info = client.server_info
        assert info is not None
        assert (info.name, info.version) == ("shop", "1.2")
        assert client.instructions == "Use add."


# -- stdio ---------------------------------------------------------------------------------


def _stdio_line(reader: Any) -> dict[str, Any]:
    line: str = reader.readline()
    assert line, "the server closed stdout before answering"
    message: dict[str, Any] = json.loads(line)
    return message


@dataclass
class _StdioPipes:
    """Pipes for a process's stdin and stdout: the server's ends and the host's."""

    stdin: TextIO
    stdout: TextIO
    host_writes: TextIO
    host_reads: TextIO


@pytest.fixture
def stdio_pipes() -> Iterator[_StdioPipes]:
    stdin_out, stdin_in = os.pipe()
    stdout_out, stdout_in = os.pipe()
    with (
        open(stdin_out, encoding="utf-8") as stdin,
        open(stdout_in, "w", encoding="utf-8") as stdout,
        open(stdin_in, "w", encoding="utf-8") as host_writes,
        open(stdout_out, encoding="utf-8") as host_reads,
    ):
        yield _StdioPipes(stdin, stdout, host_writes, host_reads)


async def test_run_stdio_serves_this_process_stdin_and_stdout(
    server: McpServer, stdio_pipes: _StdioPipes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """run_stdio reads JSON-RPC lines from sys.stdin and answers on sys.stdout (pipes, as a
    host that starts the process gives) until stdin closes."""
    # Set here, not in the fixture: pytest's capture resets sys.stdin/stdout per test phase.
    monkeypatch.setattr(sys, "stdin", stdio_pipes.stdin)
    monkeypatch.setattr(sys, "stdout", stdio_pipes.stdout)
    host_writes, host_reads = stdio_pipes.host_writes, stdio_pipes.host_reads
    requests = [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "host", "version": "1"},
            },
        },
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "add", "arguments": {"a": 2, "b": 3}},
        },
    ]
    serving = asyncio.ensure_future(server.run_stdio())
    try:
        with anyio.fail_after(20):
            host_writes.write(json.dumps(requests[0]) + "\n")
            host_writes.flush()
            initialized = await anyio.to_thread.run_sync(
                _stdio_line, host_reads, abandon_on_cancel=True
            )
            for request in requests[1:]:
                host_writes.write(json.dumps(request) + "\n")
            host_writes.flush()
            called = await anyio.to_thread.run_sync(_stdio_line, host_reads, abandon_on_cancel=True)
            host_writes.close()  # end of input: the server returns
            await serving
    finally:
        # Unblock every reader whatever failed: EOF on the server's stdin, then on ours.
        host_writes.close()
        serving.cancel()
        await asyncio.wait([serving], timeout=10)
        stdio_pipes.stdout.close()
    assert initialized["id"] == 1
    assert initialized["result"]["serverInfo"]["name"] == "toolware"
    assert initialized["result"]["protocolVersion"] == "2025-11-25"
    assert called["id"] == 2
    assert called["result"]["structuredContent"] == {"result": 5}
    assert called["result"]["content"] == [{"type": "text", "text": "5"}]


async def test_function_names_hold_after_a_registry_change(registry: LocalRegistry) -> None:
    """The catalogue rebuilt for a new revision keeps tool_names="function"."""
    server = McpServer(default_pipeline(registry), tool_names="function")

    @registry.plugin
    class Tags:
        def put(self, tag: str) -> str:
            return tag.upper()

    async with Client(server.server) as client:
        names = [tool.name for tool in (await client.list_tools()).tools]
        result = await client.call_tool("tags__put", {"tag": "x"})
    assert names[-1] == "tags__put"
    assert "tags.put" not in names
    assert result.structured_content == {"result": "X"}


async def test_one_chunk_is_a_valid_limit(events: Events, registry: LocalRegistry) -> None:
    """max_chunks=1 is accepted: one chunk goes through, the second closes the stream."""
    server = McpServer(default_pipeline(registry), max_chunks=1)
    async with Client(server.server) as client:
        single = await client.call_tool("count", {"n": 1})
        cut = await client.call_tool("count", {"n": 3})
    assert single.structured_content == {"result": [1]}
    assert _error_data(cut)["limit"] == 1
    assert cut.structured_content["chunks"] == [1]


def test_the_server_keeps_what_it_serves(registry: LocalRegistry) -> None:
    """pipeline and registry are the ones given (or the pipeline's router's registry)."""
    pipeline = default_pipeline(registry)
    other = LocalRegistry("other")
    assert McpServer(pipeline).registry is registry
    given = McpServer(pipeline, other)
    assert (given.pipeline, given.registry) == (pipeline, other)


def test_the_sdk_reads_input_schemas_from_the_catalogue(server: McpServer) -> None:
    """Header validation (Mcp-Param, streamable HTTP) gets each tool's published schema from
    the catalogue, not by running tools/list (and the principal hook) again."""
    schema = server.server.get_tool_input_schema
    assert schema is not None
    add = schema("add")
    assert add is not None
    assert (add["type"], add["required"], list(add["properties"])) == (
        "object",
        ["a", "b"],
        ["a", "b"],
    )
    assert schema("nope") is None


async def test_tool_list_is_never_cached(server: McpServer) -> None:
    """2026-era listings say they are stale at once and private to the caller: the list
    follows the registry and the principal hook."""
    async with Client(server.server) as client:
        listing = await client.list_tools()
    assert (listing.ttl_ms, listing.cache_scope) == (0, "private")


# -- the streamable HTTP app, in memory ------------------------------------------------------

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "host", "version": "1"},
    },
}
ACCEPT = {"accept": "application/json, text/event-stream"}


async def _post_initialize(server: McpServer, url: str, **options: Any) -> httpx.Response:
    """One handshake POST to ``server.http_app(**options)``, served in memory."""
    app = server.http_app(**options)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http,
    ):
        return await http.post(url, json=INITIALIZE, headers=ACCEPT)


async def test_http_app_serves_at_its_path_with_the_options_given(server: McpServer) -> None:
    """``path`` is where the app answers; options reach the SDK (``json_response``)."""
    answer = await _post_initialize(
        server, "http://127.0.0.1:8000/tools", path="/tools", json_response=True
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    assert answer.json()["result"]["serverInfo"]["name"] == "toolware"
    elsewhere = await _post_initialize(
        server, "http://127.0.0.1:8000/mcp", path="/tools", json_response=True
    )
    assert elsewhere.status_code == 404


async def test_http_app_defaults_to_mcp_on_loopback(server: McpServer) -> None:
    """By default the app answers at /mcp and, as it listens on loopback, refuses a request
    naming another host (DNS rebinding)."""
    answer = await _post_initialize(server, "http://127.0.0.1:8000/mcp", json_response=True)
    assert answer.json()["result"]["protocolVersion"] == "2025-11-25"
    rebound = await _post_initialize(server, "http://evil.example/mcp", json_response=True)
    assert rebound.status_code == 421


async def test_http_app_host_decides_the_rebinding_protection(server: McpServer) -> None:
    """Loopback (given or by default) turns the protection on; another host leaves it to
    the deployment."""
    protected = await _post_initialize(
        server, "http://evil.example/mcp", host="127.0.0.1", json_response=True
    )
    assert protected.status_code == 421
    open_host = await _post_initialize(
        server, "http://evil.example/mcp", host="0.0.0.0", json_response=True
    )
    assert open_host.status_code == 200


def test_documented_http_defaults() -> None:
    """run_http and http_app default to loopback, port 8000 and /mcp, as documented."""
    run = inspect.signature(McpServer.run_http).parameters
    app = inspect.signature(McpServer.http_app).parameters
    assert (run["host"].default, run["port"].default, run["path"].default) == (
        "127.0.0.1",
        8000,
        "/mcp",
    )
    assert (app["host"].default, app["path"].default) == ("127.0.0.1", "/mcp")
