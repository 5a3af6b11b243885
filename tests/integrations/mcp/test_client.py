"""McpRegistry against a FastMCP server (a third-party server) over the SDK's in-memory
transport: listing, calls through a real pipeline, validation, results, errors, timeouts with
the server seeing the cancellation, list_changed, trace context, namespaces."""

from __future__ import annotations

import asyncio
import logging
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest
from fastmcp import FastMCP
from mcp import StdioServerParameters

from tests.integrations.mcp.fastmcp_server import Recorder, build_server
from toolware import (
    CompositeRegistry,
    Kind,
    PipelineBuilder,
    Source,
    TimeoutInterceptor,
    ValidationInterceptor,
    default_pipeline,
)
from toolware.context import TraceContext
from toolware.errors import FieldError
from toolware.integrations.mcp.client import Backoff, McpRegistry, ReplicaState
from toolware.registry.base import HealthStatus

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


async def wait_for(predicate: Any, seconds: float = 5.0) -> None:
    """Poll ``predicate`` until true; bounded, for effects on the server side."""
    for _ in range(int(seconds / 0.01)):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met in time")


@pytest.fixture
async def served() -> AsyncIterator[tuple[McpRegistry, Recorder]]:
    server, recorder = build_server("demo")
    async with McpRegistry(server, name="demo") as registry:
        yield registry, recorder


async def test_the_catalogue_is_the_servers_tool_list(served: tuple[McpRegistry, Recorder]) -> None:
    """Each remote tool is a tool entry with the server's name, schema and hints."""
    registry, _ = served
    listing = {d.name: d for d in registry.list()}
    assert list(listing) == ["add", "profile", "fail", "hang", "traceparent", "pid", "grow", "die"]
    add = listing["add"]
    assert add.kind is Kind.TOOL
    assert add.description == "Add two integers."
    assert add.args_schema["required"] == ["a", "b"]
    assert add.args_schema["properties"] == {"a": {"type": "integer"}, "b": {"type": "integer"}}
    assert add.result_schema == {"type": "integer"}  # FastMCP's {"result": ...} wrapper removed
    assert add.idempotent is True
    assert listing["profile"].idempotent is False
    assert add.tags == frozenset({"mcp"})
    assert registry.resolve(Kind.TOOL, "add").description == add
    assert registry.lookup((Kind.TOOL, "add", None)) is registry.resolve(Kind.TOOL, "add")
    assert registry.revision == 1
    health = await registry.health()
    assert (health.status, health.entries, dict(health.problems)) == (HealthStatus.OK, 8, {})
    [status] = registry.replicas()
    assert (status.label, status.state, status.connections, status.failures) == (
        "0: memory: demo",
        ReplicaState.UP,
        1,
        0,
    )


async def test_calls_go_through_the_local_pipeline(served: tuple[McpRegistry, Recorder]) -> None:
    """Values come back typed: wrapped scalars unwrapped, objects as dicts."""
    registry, _ = served
    async with default_pipeline(registry) as pipeline:
        assert (await pipeline.invoke("add", {"a": 2, "b": 40})).unwrap() == 42
        profile = await pipeline.invoke("profile", {"user": "root"})
        assert profile.unwrap() == {"user": "root", "admin": True}


async def test_arguments_are_checked_locally_against_the_remote_schema(
    served: tuple[McpRegistry, Recorder],
) -> None:
    """A bad call is refused before it is sent, naming each field and never quoting values."""
    registry, _ = served
    async with default_pipeline(registry) as pipeline:
        response = await pipeline.invoke("add", {"a": "secret-value", "c": 1})
    error = response.error
    assert error is not None
    assert error.category == "invalid_request"
    assert error.message == "invalid arguments for 'add': a, b, c"
    assert list(error.fields) == [
        FieldError("c", "unexpected argument", "one of: a, b"),
        FieldError("b", "Field required", "integer"),
        FieldError("a", "Input should be of type integer", "integer"),
    ]
    assert "secret-value" not in str(error.to_dict())


async def test_a_tool_error_is_tool_failed_with_its_text(
    served: tuple[McpRegistry, Recorder],
) -> None:
    registry, _ = served
    async with default_pipeline(registry) as pipeline:
        response = await pipeline.invoke("fail", {"reason": "no budget"})
    assert response.error is not None
    assert response.error.category == "tool_failed"
    assert response.error.message == (
        "'fail' reported an error: Error calling tool 'fail': refused: no budget"
    )
    assert response.error.retryable is False
    assert response.error.target == "fail"


async def test_a_timeout_cancels_the_call_on_the_server(
    served: tuple[McpRegistry, Recorder],
) -> None:
    """The pipeline's deadline ends the call, and the server's handler is cancelled."""
    registry, recorder = served
    pipeline = PipelineBuilder().use(TimeoutInterceptor(timeout=0.3)).route(registry).build()
    async with pipeline:
        response = await pipeline.invoke("hang", {"label": "t1"})
    assert response.error is not None
    assert response.error.category == "timeout"
    await wait_for(lambda: "cancelled t1" in recorder.events)
    assert recorder.events == ["started t1", "cancelled t1"]


async def test_the_request_deadline_becomes_the_mcp_request_timeout(
    served: tuple[McpRegistry, Recorder],
) -> None:
    """Without a timeout interceptor the deadline still bounds the remote call."""
    registry, recorder = served
    async with PipelineBuilder().route(registry).build() as pipeline:
        response = await pipeline.invoke("hang", {"label": "t2"}, timeout=0.3)
    error = response.error
    assert error is not None
    assert error.category == "timeout"
    assert error.message.startswith("'hang' did not answer within 0.")
    assert error.message.endswith(
        "s (MCP server 'demo'); the server was sent notifications/cancelled"
    )
    await wait_for(lambda: "cancelled t2" in recorder.events)


async def test_cancelling_the_caller_cancels_the_server_handler(
    served: tuple[McpRegistry, Recorder],
) -> None:
    registry, recorder = served
    async with PipelineBuilder().route(registry).build() as pipeline:
        call = asyncio.create_task(pipeline.invoke("hang", {"label": "c1"}))
        await wait_for(lambda: "started c1" in recorder.events)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
    await wait_for(lambda: "cancelled c1" in recorder.events)


async def test_list_changed_refreshes_the_catalogue(
    served: tuple[McpRegistry, Recorder], caplog: pytest.LogCaptureFixture
) -> None:
    registry, _ = served
    before = registry.revision
    async with default_pipeline(registry) as pipeline:
        with caplog.at_level(logging.DEBUG, logger="toolware.integrations.mcp"):
            assert (await pipeline.invoke("grow", {"tool_name": "late"})).unwrap() == "grown"
            await wait_for(lambda: registry.revision == before + 1)
        logged = [r.getMessage() for r in caplog.records]
        assert "mcp_client.list_changed replica=0: memory: demo" in logged
        assert [d.name for d in registry.list()][-1] == "late"
        assert registry.resolve(Kind.TOOL, "late").description.description == (
            "added at run time: late"
        )
        assert (await pipeline.invoke("late")).unwrap() == "I am late"


async def test_refresh_without_a_change_keeps_the_revision(
    served: tuple[McpRegistry, Recorder],
) -> None:
    registry, _ = served
    before = registry.revision
    registry.refresh()
    await asyncio.sleep(0.2)
    assert registry.revision == before
    assert len(registry.list()) == 8


async def test_the_trace_context_goes_out_in_meta(served: tuple[McpRegistry, Recorder]) -> None:
    registry, _ = served
    trace = TraceContext(traceparent=TRACEPARENT)
    async with default_pipeline(registry) as pipeline:
        seen = (await pipeline.invoke("traceparent", trace=trace)).unwrap()
        untraced = (await pipeline.invoke("traceparent")).unwrap()
    # The trace id is the caller's (the SDK may send its own span as the parent).
    assert seen.split("-")[1] == "0af7651916cd43dd8448eb211c80319c"
    assert untraced == ""


async def test_unknown_names_are_not_found_with_close_matches(
    served: tuple[McpRegistry, Recorder],
) -> None:
    registry, _ = served
    async with default_pipeline(registry) as pipeline:
        response = await pipeline.invoke("ad", {"a": 1})
    assert response.error is not None
    assert response.error.category == "not_found"
    assert response.error.candidates == ("add",)
    message = "no plugin named 'add' in registry 'demo' (hint: 'add' exists as kind 'tool'"
    with pytest.raises(Exception, match=re.escape(message)) as raised:
        registry.resolve(Kind.PLUGIN, "add", "x")
    assert raised.value.category == "not_found"  # type: ignore[attr-defined]


async def test_two_servers_behind_a_composite_with_namespaces() -> None:
    first, _ = build_server("alpha")
    second, _ = build_server("beta")
    async with (
        McpRegistry(first, name="alpha") as alpha,
        McpRegistry(second, name="beta") as beta,
    ):
        composite = CompositeRegistry(
            Source("alpha", alpha, namespace="alpha"), Source("beta", beta, namespace="beta")
        )
        names = [d.name for d in composite.list()]
        assert names[:2] == ["alpha.add", "alpha.profile"]
        assert "beta.add" in names
        async with default_pipeline(composite) as pipeline:
            assert (await pipeline.invoke("alpha.add", {"a": 1, "b": 1})).unwrap() == 2
            assert (await pipeline.invoke("beta.add", {"a": 2, "b": 2})).unwrap() == 4
            bad = await pipeline.invoke("beta.add", {"a": "x", "b": 2})
            assert bad.error is not None
            assert bad.error.category == "invalid_request"
        health = await composite.health()
        assert (health.status, health.entries) == (HealthStatus.OK, 16)


async def test_calls_before_start_and_after_close_are_unavailable() -> None:
    server, _ = build_server("demo")
    registry = McpRegistry(server, name="demo")
    with pytest.raises(Exception, match="has no tool list yet: it is not started") as raised:
        registry.resolve(Kind.TOOL, "add")
    assert raised.value.category == "unavailable"  # type: ignore[attr-defined]
    assert raised.value.hint == (  # type: ignore[attr-defined]
        "use 'async with registry:' (or await registry.start()) and check health()"
    )
    assert (await registry.health()).status is HealthStatus.DOWN
    await registry.start()
    with pytest.raises(RuntimeError, match="already started"):
        await registry.start()
    entry = registry.resolve(Kind.TOOL, "add")
    await registry.aclose()
    assert registry.replicas()[0].state is ReplicaState.STOPPED
    async with PipelineBuilder().route(registry).build() as pipeline:
        response = await pipeline.invoke("add", {"a": 1, "b": 2})
    assert response.error is not None
    assert response.error.category == "unavailable"
    assert response.error.message == (
        "no replica of MCP server 'demo' is connected to call 'add': replica 0: memory: demo "
        "is stopped (the registry was closed)"
    )
    assert response.error.hint == (
        "retry after the reconnect backoff; health() has each replica's reason"
    )
    assert entry.description.name == "add"
    health = await registry.health()
    assert health.status is HealthStatus.DOWN
    assert dict(health.problems) == {"replica 0: memory: demo": "stopped: the registry was closed"}


def test_options_are_checked() -> None:
    server, _ = build_server("demo")
    with pytest.raises(ValueError, match="at least one replica"):
        McpRegistry()
    with pytest.raises(ValueError, match="mode must be 'auto' or 'legacy', got 'x'"):
        McpRegistry(server, mode="x")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="call_timeout must be a finite number of seconds > 0"):
        McpRegistry(server, call_timeout=0)
    with pytest.raises(TypeError, match="list_timeout must be a number of seconds, got str"):
        McpRegistry(server, list_timeout="1")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="backoff must be a Backoff, got dict"):
        McpRegistry(server, backoff={})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="an MCP replica must be a URL string"):
        McpRegistry(42)
    with pytest.raises(ValueError, match="must start with http:// or https://, got 'ftp://x'"):
        McpRegistry("ftp://x")
    labels = [
        r.label
        for r in McpRegistry(
            "http://127.0.0.1:9/mcp",
            StdioServerParameters(command="python", args=["s.py"]),
            server,
            backoff=Backoff(initial=1.0),
        ).replicas()
    ]
    assert labels == ["0: http://127.0.0.1:9/mcp", "1: stdio: python s.py", "2: memory: demo"]

    class Shop(FastMCP[Any]):  # an application's own server class
        pass

    assert McpRegistry(Shop("shop")).replicas()[0].label == "0: memory: shop"


async def test_validation_without_a_registry_lookup_uses_the_entry(
    served: tuple[McpRegistry, Recorder],
) -> None:
    """ValidationInterceptor reads the remote entry's JSON Schema validator."""
    registry, _ = served
    pipeline = PipelineBuilder().use(ValidationInterceptor()).route(registry).build()
    async with pipeline:
        response = await pipeline.invoke("profile", {"user": 5})
    assert response.error is not None
    assert list(response.error.fields) == [
        FieldError("user", "Input should be of type string", "string")
    ]


def test_without_the_sdk_the_import_names_the_extra() -> None:
    """``import toolware`` never loads the SDK; the client module says which extra to install."""
    code = (
        "import sys; import toolware; assert 'mcp' not in sys.modules, 'mcp imported'\n"
        "sys.modules['mcp'] = None\n"
        "try:\n"
        "    import toolware.integrations.mcp.client\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=50, check=True
    )
    assert done.stdout.strip() == (
        "toolware.integrations.mcp.client needs the MCP SDK: pip install 'toolware[mcp]'"
    )


async def test_the_legacy_handshake_works_the_same() -> None:
    """mode='legacy' (initialize, 2025-11-25): calls, list_changed and cancellation."""
    server, recorder = build_server("old")
    async with (
        McpRegistry(server, name="old", mode="legacy") as registry,
        PipelineBuilder().use(TimeoutInterceptor(timeout=0.3)).route(registry).build() as pipeline,
    ):
        assert (await pipeline.invoke("add", {"a": 1, "b": 1})).unwrap() == 2
        await pipeline.invoke("grow", {"tool_name": "later"})
        await wait_for(lambda: "later" in [d.name for d in registry.list()])
        timed_out = await pipeline.invoke("hang", {"label": "l1"})
        assert timed_out.error is not None
        assert timed_out.error.category == "timeout"
        await wait_for(lambda: "cancelled l1" in recorder.events)


async def test_a_composite_sees_a_remote_list_change() -> None:
    """The registry's revision moves, so a composite over it re-indexes."""
    server, _ = build_server("tools")
    async with McpRegistry(server, name="tools") as remote:
        composite = CompositeRegistry(Source("tools", remote, namespace="tools"))
        before = composite.revision
        async with default_pipeline(composite) as pipeline:
            await pipeline.invoke("tools.grow", {"tool_name": "fresh"})
            await wait_for(lambda: composite.revision != before)
            assert [d.name for d in composite.list()][-1] == "tools.fresh"
            assert (await pipeline.invoke("tools.fresh")).unwrap() == "I am fresh"


async def test_toolware_served_tools_give_their_values_back_unwrapped() -> None:
    """toolware's own server behind the registry: a result it wrapped as {"result": ...}
    (a number, a list, a stream's chunks) comes back as the value itself; an object as is."""
    from toolware import LocalRegistry
    from toolware.integrations.mcp.server import McpServer

    local = LocalRegistry("app")

    @local.tool
    def add(a: int, b: int) -> int:
        """Add."""
        return a + b

    @local.tool
    async def count(n: int) -> AsyncIterator[int]:
        """Count."""
        for i in range(n):
            yield i

    @local.tool
    def card(name: str) -> dict[str, str]:
        """A card."""
        return {"name": name}

    @local.tool
    def untyped(x: int):  # type: ignore[no-untyped-def]
        """No return annotation."""
        return [x, x]

    served = McpServer(default_pipeline(local))
    async with McpRegistry(served.server, name="self") as remote:
        async with default_pipeline(remote) as pipeline:
            added = await pipeline.invoke("add", {"a": 1, "b": 2})
            counted = await pipeline.invoke("count", {"n": 3})
            carded = await pipeline.invoke("card", {"name": "bo"})
            doubled = await pipeline.invoke("untyped", {"x": 4})
        schemas = {d.name: dict(d.result_schema) for d in remote.list()}
    assert (added.value, counted.value, carded.value) == (3, [0, 1, 2], {"name": "bo"})
    assert doubled.value == [4, 4]
    assert schemas["add"] == {"type": "integer"}
    assert schemas["untyped"] == {}


async def test_a_toolware_server_object_is_a_replica_in_memory() -> None:
    """McpRegistry(McpServer(...)) connects in memory, as McpRegistry(server.server) does."""
    from toolware import LocalRegistry
    from toolware.integrations.mcp.server import McpServer

    local = LocalRegistry("app")

    @local.tool
    def ping() -> str:
        """Ping."""
        return "pong"

    served = McpServer(default_pipeline(local), name="local")
    async with McpRegistry(served, name="self") as remote:
        async with default_pipeline(remote) as pipeline:
            answer = await pipeline.invoke("ping")
        [status] = remote.replicas()
    assert answer.value == "pong"
    assert status.label == "0: memory: local"


async def test_a_toolware_servers_refusals_keep_their_category() -> None:
    """toolware's server answers rate_limited, circuit_open, timeout and unavailable as
    JSON-RPC errors -32012..-32015 with the typed error as data: they come back with their
    category, retry_after and retryability (so a retry moves an unavailable call on), not as
    tool_failed."""
    from toolware import LocalRegistry
    from toolware.errors import (
        CallTimeoutError,
        CircuitOpenError,
        RateLimitedError,
        UnavailableError,
    )
    from toolware.integrations.mcp.server import McpServer

    local = LocalRegistry("app")

    @local.tool
    def busy() -> str:
        """Rate limited."""
        raise RateLimitedError("slow down", retry_after=2.5)

    @local.tool
    def resting() -> str:
        """Circuit open."""
        raise CircuitOpenError("resting", retry_after=4.0)

    @local.tool
    def late() -> str:
        """Timed out."""
        raise CallTimeoutError("too slow", limit=1.5)

    @local.tool
    def down() -> str:
        """Unavailable."""
        raise UnavailableError("the index is down")

    served = McpServer(default_pipeline(local))
    remote = McpRegistry(served, name="remote")
    async with remote, PipelineBuilder().route(remote).build() as pipeline:
        errors = [(await pipeline.invoke(n)).error for n in ("busy", "resting", "late", "down")]
    busy_e, resting_e, late_e, down_e = errors
    assert busy_e is not None
    assert resting_e is not None
    assert late_e is not None
    assert down_e is not None
    assert [e.category for e in errors if e is not None] == [
        "rate_limited", "circuit_open", "timeout", "unavailable",
    ]  # fmt: skip
    assert busy_e.message == "MCP server 'remote' refused the call to 'busy': slow down"
    assert isinstance(busy_e, RateLimitedError)
    assert isinstance(resting_e, CircuitOpenError)
    assert (busy_e.retry_after, resting_e.retry_after) == (2.5, 4.0)
    assert isinstance(late_e, CallTimeoutError)
    assert late_e.limit == 1.5
    assert (busy_e.retryable, late_e.retryable, down_e.retryable) == (True, False, True)
    assert down_e.message == "MCP server 'remote' refused the call to 'down': the index is down"


def test_each_option_is_named_in_its_refusal() -> None:
    server, _ = build_server("demo")
    with pytest.raises(ValueError, match="at least one replica") as none:
        McpRegistry()
    assert str(none.value) == (
        "McpRegistry needs at least one replica: a URL, StdioServerParameters, a server object "
        "or a transport factory"
    )
    for option in ("start_timeout", "close_timeout"):
        with pytest.raises(ValueError, match=option) as raised:
            McpRegistry(server, **{option: -1.0})
        assert str(raised.value) == f"{option} must be a finite number of seconds > 0, got -1.0"


def test_a_registry_before_start_reports_its_replicas_as_connecting() -> None:
    server, _ = build_server("demo")
    registry = McpRegistry(server)
    assert registry.name == "mcp"
    [status] = registry.replicas()
    assert (status.index, status.state, status.reason, status.failures, status.connections) == (
        0,
        ReplicaState.CONNECTING,
        "",
        0,
        0,
    )
