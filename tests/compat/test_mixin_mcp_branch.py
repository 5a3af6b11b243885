"""The ``"mcp"`` branch of to_middleware, through McpCalls and the pipeline (local tools; the
remote transport is tested with the loopback server in test_mcp_remote.py)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.compat.test_runtime import Recorder
from tests.compat.v1_support import Agent, Handler
from toolware import Kind, PipelineBuilder
from toolware.compat.v1 import V1Source
from toolware.compat.v1.mcp import McpToolNotFoundError

INFO, ERR = "info", "error"


class LocalTool(Handler):
    """An MCP tool run in process (``local_mode``)."""

    local_mode = True


class IntentTool(Handler):
    """An MCP tool that handles intents itself."""

    type = "mcp-remote"
    mcp_url = "http://127.0.0.1:9/mcp"

    def handle_intent(self, intent: str, context: str) -> dict[str, str]:
        return {"intent": intent, "context": context}


class MCPStyleTool(Handler):
    """An MCP-type handler without intent handling."""

    type = "mcp-remote"
    mcp_url = "http://127.0.0.1:9/mcp"


class Loader:
    def __init__(self, tools: dict[str, Any]) -> None:
        self.tools = tools


def resolver(tool_id: str, handler: object, intent: str, context: str) -> dict[str, str]:
    return {"resolved": f"{tool_id}: {intent} / {context}"}


@pytest.fixture
def host() -> Agent:
    return Agent(
        tool_registry={
            "fs": LocalTool("fs"),
            "gh": IntentTool("gh"),
            "plain": MCPStyleTool("plain"),
        }
    )


NOT_FOUND = "Tool 'nope' not found in registry. Available tools: ['fs', 'gh', 'plain']"

CASES: list[tuple[str, Any, int, str, list[tuple[str, str]] | None]] = [
    ("no tool", {"mcp": {"method": "x"}}, 400, "MCP request missing 'tool' field", []),
    ("empty tool", {"mcp": {"tool": ""}}, 400, "MCP request missing 'tool' field", None),
    (
        "neither intent nor method",
        {"mcp": {"tool": "fs"}},
        400,
        "MCP request must have either 'intent' or 'method' field",
        None,
    ),
    (
        "tool not a string",
        {"mcp": {"tool": 5, "method": "m"}},
        400,
        "MCP request 'tool' must be a string, got int",
        None,
    ),
    (
        "method not a string",
        {"mcp": {"tool": "fs", "method": 5}},
        400,
        "MCP request 'method' must be a string, got int",
        None,
    ),
    (
        "intent not a string",
        {"mcp": {"tool": "gh", "intent": 5}},
        400,
        "MCP request 'intent' and 'context' must be strings",
        None,
    ),
    (
        "Fix: mcp not an object",
        {"mcp": "fs"},
        400,
        "MCP request must be an object with a 'tool' field (or a list of them), got str",
        None,
    ),
    (
        "mcp an empty list",
        {"mcp": []},
        400,
        "MCP request list is empty: send one call object or a list of them",
        None,
    ),
    (
        "direct",
        {"mcp": {"tool": "fs", "method": "echo", "params": {"a": 1}}},
        201,
        '{\n  "a": 1\n}',
        [(INFO, "Using direct MCP: fs.echo")],
    ),
    (
        "mcp is checked first: sibling keys are ignored",
        {
            "response": "text",
            "calc": {},
            "mcp": {"tool": "fs", "method": "echo", "params": {"a": 1}},
        },
        201,
        '{\n  "a": 1\n}',
        None,
    ),
    ("params default to {}", {"mcp": {"tool": "fs", "method": "echo"}}, 201, "{}", None),
    (
        "params as a JSON string",
        {"mcp": {"tool": "fs", "method": "echo", "params": '{"a": 2}'}},
        201,
        '{\n  "a": 2\n}',
        None,
    ),
    (
        "unknown tool: 500 with V1's message",
        {"mcp": {"tool": "nope", "method": "x"}},
        500,
        f"[ERROR] {NOT_FOUND}",
        [(INFO, "Using direct MCP: nope.x"), (ERR, f"MCP tool nope error: {NOT_FOUND}")],
    ),
    (
        "the tool raised",
        {"mcp": {"tool": "fs", "method": "fail"}},
        500,
        "[ERROR] bad input",
        [(INFO, "Using direct MCP: fs.fail"), (ERR, "MCP tool fs error: bad input")],
    ),
    (
        "intent: handle_intent",
        {"mcp": {"tool": "gh", "intent": "open issue", "context": "bug 7"}},
        201,
        json.dumps({"intent": "open issue", "context": "bug 7"}, indent=2),
        [(INFO, "Using intent-based MCP: gh")],
    ),
    (
        "intent: context defaults to empty",
        {"mcp": {"tool": "gh", "intent": "open issue"}},
        201,
        json.dumps({"intent": "open issue", "context": ""}, indent=2),
        None,
    ),
    (
        "intent: a null context is no context (as use_mcp_workflow and V1 took it)",
        {"mcp": {"tool": "gh", "intent": "open issue", "context": None}},
        201,
        json.dumps({"intent": "open issue", "context": ""}, indent=2),
        [(INFO, "Using intent-based MCP: gh")],
    ),
    (
        "Fix: a list of calls runs each",
        {
            "mcp": [
                {"tool": "fs", "method": "echo", "params": {"a": 1}},
                {"tool": "nope", "method": "x"},
            ]
        },
        500,
        '{\n  "a": 1\n}\n\n' + f"[ERROR] {NOT_FOUND}",
        None,
    ),
    (
        "a list with something that is not a call",
        {"mcp": [{"tool": "fs", "method": "echo"}, 3]},
        400,
        "{}\n\nMCP request must be an object with a 'tool' field (or a list of them), got int",
        None,
    ),
    (
        "legacy action on an MCP-type handler: V1's input string as the intent",
        {"gh": {"method": "read", "params": {"path": "/x"}}},
        201,
        json.dumps({"intent": "Tool use input: read and {'path': '/x'}", "context": ""}, indent=2),
        [(INFO, "Executing: gh - read"), (INFO, "Action executed successfully")],
    ),
]


@pytest.mark.parametrize(
    ("agent_input", "status", "body", "logs"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_mcp_branch(
    host: Agent, agent_input: Any, status: int, body: str, logs: list[tuple[str, str]] | None
) -> None:
    """Each MCP input gets V1's status, body and log lines."""
    assert host.to_middleware(agent_input) == (status, body)
    if logs is not None:
        assert host.events == [(level, "Agent tester: " + line) for level, line in logs]


def test_intent_without_handling_or_resolver(host: Agent) -> None:
    """No handle_intent, no resolver: a clear 500."""
    status, body = host.to_middleware({"mcp": {"tool": "plain", "intent": "x"}})
    assert status == 500
    assert body.startswith("[ERROR] Tool 'plain'")


def test_intent_resolver(host: Agent) -> None:
    """The adapter's intent resolver runs intents for tools without handle_intent."""
    host.middleware_intent_resolver = resolver
    answer = host.to_middleware({"mcp": {"tool": "plain", "intent": "sum", "context": "c"}})
    assert answer == (201, json.dumps({"resolved": "plain: sum / c"}, indent=2))


def test_legacy_mcp_handler_with_the_resolver(host: Agent) -> None:
    """A legacy action on an MCP-type handler goes to the resolver with V1's input string."""
    host.middleware_intent_resolver = resolver
    answer = host.to_middleware({"plain": {"method": "m", "params": {}}})
    assert answer == (201, json.dumps({"resolved": "plain: Tool use input: m and {} / "}, indent=2))


def test_legacy_mcp_handler_without_resolver(host: Agent) -> None:
    """...and without one the action's error, V1-style (201)."""
    status, body = host.to_middleware({"plain": {"method": "m", "params": {}}})
    assert status == 201
    assert body.startswith("\"An error occurred with action m: Tool 'plain'")


def test_config_loader_tools_come_first(host: Agent) -> None:
    """The workflow context's config_loader.tools is searched before the tool registry."""
    other = LocalTool("fs", description="from the loader")
    host.set_workflow_context({"config_loader": Loader({"fs": other})})
    assert host.workflow_context == {"config_loader": host.workflow_context["config_loader"]}
    answer = host.to_middleware({"mcp": {"tool": "fs", "method": "where"}})
    assert answer == (201, json.dumps({"result": "from the loader", "success": True}, indent=2))
    assert host.to_middleware({"mcp": {"tool": "nope", "method": "x"}}) == (
        500,
        "[ERROR] Tool 'nope' not found in registry. Available tools: ['fs', 'gh', 'plain']",
    )


@pytest.mark.parametrize(
    ("mcp", "status"),
    [
        ({"tool": "nope", "method": "x"}, 404),
        ({"tool": "fs", "method": "fail"}, 502),
        ({"tool": "fs", "method": "echo", "params": [1]}, 400),
        ({"tool": "fs", "method": "echo"}, 201),
    ],
)
def test_strict_statuses(host: Agent, mcp: dict[str, Any], status: int) -> None:
    """strict: each failure carries its own status."""
    host.middleware_strict = True
    assert host.to_middleware({"mcp": mcp})[0] == status


def test_a_blocking_mcp_tool_times_out_on_time(host: Agent) -> None:
    """The mixin owns the MCP call's timeout too."""
    host.timeout = 0.2
    started = time.monotonic()
    status, body = host.to_middleware({"mcp": {"tool": "fs", "method": "block"}})
    assert (status, body) == (
        500,
        "[ERROR] 'fs.block' did not complete within the allowed timeout of 0.200s",
    )
    assert time.monotonic() - started < 4.0


def test_mcp_calls_are_request_contexts(host: Agent) -> None:
    """Direct: target = tool, action = method, arguments = params; intent: the intent and
    context as arguments."""
    recorder = Recorder()
    host.middleware_pipeline = PipelineBuilder().use(recorder).route(V1Source({})).build()
    host.to_middleware({"mcp": {"tool": "fs", "method": "echo", "params": {"a": 1}}})
    host.to_middleware({"mcp": {"tool": "gh", "intent": "i", "context": "c"}})
    seen = [(r.kind, r.target, r.action, dict(r.arguments)) for r in recorder.requests]
    assert seen == [
        (Kind.TOOL, "fs", "echo", {"a": 1}),
        (Kind.TOOL, "gh", None, {"intent": "i", "context": "c"}),
    ]


def test_use_mcp_direct(host: Agent) -> None:
    """The result, or V1's exception: the tool's own, or the not-found error."""
    assert host.use_mcp_direct("fs", "echo", {"a": 1}) == {"a": 1}
    with pytest.raises(ValueError, match=r"^bad input$"):
        host.use_mcp_direct("fs", "fail", {})
    with pytest.raises(McpToolNotFoundError) as caught:
        host.use_mcp_direct("nope", "x", {})
    assert str(caught.value) == NOT_FOUND


def test_use_mcp_direct_when_the_tool_raises_a_base_exception(host: Agent) -> None:
    """KeyboardInterrupt in the tool is that call's failure, raised as tool_failed."""
    from toolware import ToolFailedError

    with pytest.raises(ToolFailedError, match="KeyboardInterrupt"):
        host.use_mcp_direct("fs", "interrupt", {})


def test_use_mcp_workflow(host: Agent) -> None:
    """The intent's result."""
    assert host.use_mcp_workflow("gh", "open", "ctx") == {"intent": "open", "context": "ctx"}
    assert host.use_mcp_workflow("gh", "open") == {"intent": "open", "context": ""}


def test_the_hosts_transport_carries_remote_calls() -> None:
    """middleware_transport gets the handler's mcp_url and the wire payload."""
    calls: list[tuple[str, dict[str, Any]]] = []

    def transport(url: str, payload: dict[str, Any]) -> dict[str, Any]:
        calls.append((url, payload))
        return {"ok": True}

    host = Agent(tool_registry={"gh": IntentTool("gh")}, transport=transport)
    answer = host.to_middleware({"mcp": {"tool": "gh", "method": "list", "params": {"n": 1}}})
    assert answer == (201, '{\n  "ok": true\n}')
    assert calls == [("http://127.0.0.1:9/mcp", {"name": "list", "arguments": {"n": 1}})]


@pytest.mark.parametrize(
    ("attribute", "value", "message"),
    [
        (
            "timeout",
            "60",
            "the host's timeout must be a number of seconds (or None for no limit), got str",
        ),
        (
            "middleware_pipeline",
            object(),
            "middleware_pipeline must be a toolware Pipeline, got object; build one with "
            "default_builder(...).build()",
        ),
    ],
)
@pytest.mark.parametrize(
    "request_",
    [
        {"tool": "fs", "method": "echo", "params": {}},
        {"tool": "gh", "intent": "open issue"},
    ],
    ids=["direct", "intent"],
)
def test_a_bad_host_option_is_a_500_on_the_mcp_branch_too(
    host: Agent, attribute: str, value: Any, message: str, request_: dict[str, Any]
) -> None:
    """As for legacy actions: the option named in a 500, logged; nothing raises out of
    to_middleware (use_mcp_direct/use_mcp_workflow still raise it)."""
    setattr(host, attribute, value)
    assert host.to_middleware({"mcp": request_}) == (500, f"[ERROR] {message}")
    assert host.events[-1] == (
        "error",
        f"Agent tester: MCP tool {request_['tool']} error: {message}",
    )
    with pytest.raises(TypeError, match="must be"):
        host.use_mcp_direct("fs", "echo", {})


def test_an_mcp_error_with_a_cause_shows_its_own_message() -> None:
    """A transport's typed error raised from a lower one: V1 showed ``{e}``, the error's own
    text; the cause is only shown for a tool's failure."""
    from toolware.compat.v1.mcp import McpUnavailableError

    def down(url: str, payload: dict[str, Any]) -> Any:
        try:
            raise ConnectionRefusedError("refused")
        except ConnectionRefusedError as exc:
            raise McpUnavailableError("MCP server at http://127.0.0.1:9/mcp is down") from exc

    host = Agent(tool_registry={"gh": IntentTool("gh")}, transport=down)
    answer = host.to_middleware({"mcp": {"tool": "gh", "method": "list", "params": {}}})
    assert answer == (500, "[ERROR] MCP server at http://127.0.0.1:9/mcp is down")
    assert host.events[-1] == (
        ERR,
        "Agent tester: MCP tool gh error: MCP server at http://127.0.0.1:9/mcp is down",
    )


def test_the_transport_gets_the_arguments_the_pipeline_passed_on() -> None:
    """An interceptor that rewrites the arguments of a direct MCP call is obeyed: the call is a
    toolware call underneath, and the transport sends what reached the entry."""
    from toolware import CallNext, RequestContext, ResponseContext

    async def add_limit(request: RequestContext, call_next: CallNext) -> ResponseContext:
        return await call_next(request.with_arguments({**request.arguments, "limit": 10}))

    calls: list[dict[str, Any]] = []

    def transport(url: str, payload: dict[str, Any]) -> dict[str, Any]:
        calls.append(payload)
        return {"ok": True}

    tools = {"gh": IntentTool("gh")}
    pipeline = PipelineBuilder().use(add_limit).route(V1Source(tools, Kind.TOOL)).build()
    host = Agent(tool_registry=tools, transport=transport, pipeline=pipeline)
    answer = host.to_middleware({"mcp": {"tool": "gh", "method": "list", "params": {"q": "x"}}})
    assert answer == (201, '{\n  "ok": true\n}')
    assert calls == [{"name": "list", "arguments": {"q": "x", "limit": 10}}]


def test_intent_arguments_refused_by_validation_name_the_tool() -> None:
    """An intent call has no action: a refusal of its (rewritten) arguments names the tool."""
    from toolware import CallNext, RequestContext, ResponseContext
    from toolware.interceptors.validation import ValidationInterceptor

    async def too_deep(request: RequestContext, call_next: CallNext) -> ResponseContext:
        deep: Any = "x"
        for _ in range(40):
            deep = [deep]
        return await call_next(request.with_arguments({**request.arguments, "intent": deep}))

    tools = {"gh": IntentTool("gh")}
    pipeline = (
        PipelineBuilder()
        .use(too_deep)
        .use(ValidationInterceptor())
        .route(V1Source(tools, Kind.TOOL))
        .build()
    )
    host = Agent(tool_registry=tools, pipeline=pipeline)
    status, body = host.to_middleware({"mcp": {"tool": "gh", "intent": "i", "context": "c"}})
    assert status == 400
    assert body.startswith("invalid arguments for 'gh': ")
