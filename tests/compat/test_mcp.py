"""McpCalls: the V1 use_mcp_direct / use_mcp_workflow contract, with an injected transport."""

from __future__ import annotations

from collections.abc import Callable
from types import MappingProxyType
from typing import Any

import pytest

from toolware.compat.v1.mcp import (
    LOCAL_SCHEME,
    McpCallError,
    McpCallRefusedError,
    McpCalls,
    McpHandlerError,
    McpToolNotFoundError,
    intent_input,
)
from toolware.errors import ErrorCategory, InvalidRequestError, NotFoundError


class LocalTool:
    """A V1 MCP-style handler in local mode."""

    identifier = "files"
    type = "mcpfilesystem"
    local_mode = True
    mcp_url = "http://ignored.example/mcp"

    def run(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {"ran": payload}


class RemoteTool:
    identifier = "remote"
    local_mode = False

    def __init__(self, mcp_url: object = "http://127.0.0.1:9/mcp") -> None:
        self.mcp_url = mcp_url


class IntentTool:
    identifier = "github"
    local_mode = True

    def __init__(self) -> None:
        self.intents: list[tuple[str, str]] = []

    def handle_intent(self, intent: str, context: str) -> dict[str, Any]:
        self.intents.append((intent, context))
        return {"handled": intent, "context": context}


class Recorder:
    """An injected transport that records its calls and answers a fixed result."""

    def __init__(self, result: Any = None) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.result = {"ok": True} if result is None else result

    def __call__(self, mcp_url: str, payload: dict[str, Any]) -> Any:
        self.calls.append((mcp_url, payload))
        return self.result


class Host:
    """What v1-core supplies: config_loader.tools first, then the tool registry; the log."""

    def __init__(self, config_tools: dict[str, object], registry: dict[str, object]) -> None:
        self.config_tools = config_tools
        self.registry = registry
        self.logs: list[tuple[str, str]] = []

    def lookup(self, tool_id: str) -> object | None:
        found = self.config_tools.get(tool_id)
        return found if found is not None else self.registry.get(tool_id)

    def available(self) -> list[str]:
        return sorted({*self.config_tools, *self.registry})

    def log(self, message: str, level: str) -> None:
        self.logs.append((message, level))

    def calls(self, **options: Any) -> McpCalls:
        return McpCalls(lookup=self.lookup, available=self.available, log=self.log, **options)


@pytest.fixture
def host() -> Host:
    return Host({"files": LocalTool()}, {"remote": RemoteTool(), "github": IntentTool()})


def test_unknown_tool_raises_the_v1_message(host: Host) -> None:
    """The exact V1 text, listing what is available; a not_found error."""
    with pytest.raises(McpToolNotFoundError) as caught:
        host.calls(transport=Recorder()).direct("ghost", "read", {})
    assert str(caught.value) == (
        "Tool 'ghost' not found in registry. Available tools: ['files', 'github', 'remote']"
    )
    assert isinstance(caught.value, NotFoundError)
    assert caught.value.category is ErrorCategory.NOT_FOUND
    assert caught.value.hint == "call one of the available tools, or register the tool first"


def test_config_loader_tools_are_searched_before_the_registry() -> None:
    """A tool in both places is the workflow context's one."""
    first, second = LocalTool(), RemoteTool()
    host = Host({"twin": first}, {"twin": second})
    recorder = Recorder()
    host.calls(transport=recorder).direct("twin", "read", {})
    assert recorder.calls == [("local://twin", {"name": "read", "arguments": {}})]


@pytest.mark.parametrize(
    ("tool_id", "url"),
    [
        ("files", "local://files"),  # local_mode wins over mcp_url
        ("remote", "http://127.0.0.1:9/mcp"),
    ],
)
def test_wire_payload_and_url(host: Host, tool_id: str, url: str) -> None:
    """The transport gets (url, {"name": method, "arguments": params}) and its result."""
    recorder = Recorder({"answer": 42})
    result = host.calls(transport=recorder).direct(tool_id, "read_file", {"path": "/tmp/a"})
    assert result == {"answer": 42}
    assert recorder.calls == [(url, {"name": "read_file", "arguments": {"path": "/tmp/a"}})]
    assert url.startswith(LOCAL_SCHEME) is (tool_id == "files")


@pytest.mark.parametrize(
    ("params", "arguments"),
    [
        ({"path": "/x"}, {"path": "/x"}),
        (None, {}),
        (MappingProxyType({"n": 1}), {"n": 1}),
        ('{"path": "/x", "n": 2}', {"path": "/x", "n": 2}),
        ("{'path': '/x', 'flag': True}", {"path": "/x", "flag": True}),
        ("{}", {}),
    ],
)
def test_params_accepted(host: Host, params: Any, arguments: dict[str, Any]) -> None:
    """Dicts, None and strings holding an object (JSON or a Python literal) are arguments."""
    recorder = Recorder()
    host.calls(transport=recorder).direct("files", "read", params)
    assert recorder.calls[0][1]["arguments"] == arguments
    assert type(recorder.calls[0][1]["arguments"]) is dict


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ("not json at all", "MCP params of files.read are a string that is not a JSON object"),
        ("[1, 2]", "MCP params of files.read are a string that is not a JSON object"),
        ("__import__('os')", "MCP params of files.read are a string that is not a JSON object"),
        ("'text'", "MCP params of files.read are a string that is not a JSON object"),
        ("{" * 5000, "MCP params of files.read are a string that is not a JSON object"),
        ([("path", "/x")], "MCP params of files.read must be a dict, not list"),
        (7, "MCP params of files.read must be a dict, not int"),
    ],
)
def test_params_refused(host: Host, params: Any, message: str) -> None:
    """**Fix**: V1 replaced unreadable params by {}; the adapter refuses them and calls nothing."""
    recorder = Recorder()
    with pytest.raises(McpCallRefusedError) as caught:
        host.calls(transport=recorder).direct("files", "read", params)
    assert str(caught.value) == message
    assert caught.value.hint == 'send params as an object: "params": {"name": "value"}'
    assert isinstance(caught.value, InvalidRequestError)
    assert recorder.calls == []


@pytest.mark.parametrize(
    ("tool_id", "method", "message", "hint"),
    [
        (
            ["files"],
            "read",
            "MCP 'tool' must be a string, not list",
            'send {"mcp": {"tool": "<tool id>", ...}}',
        ),
        (
            None,
            "read",
            "MCP 'tool' must be a string, not NoneType",
            'send {"mcp": {"tool": "<tool id>", ...}}',
        ),
        (
            "files",
            3,
            "MCP 'method' must be a string, not int",
            'send {"mcp": {"tool": ..., "method": "<name>", "params": {...}}}',
        ),
    ],
)
def test_tool_and_method_must_be_strings(
    host: Host, tool_id: Any, method: Any, message: str, hint: str
) -> None:
    with pytest.raises(McpCallRefusedError) as caught:
        host.calls(transport=Recorder()).direct(tool_id, method, {})
    assert str(caught.value) == message
    assert caught.value.hint == hint


@pytest.mark.parametrize("mcp_url", [None, "", 8080])
def test_handler_without_local_mode_or_url(mcp_url: object) -> None:
    """V1's text; the adapter does not guess local mode from the class name as V1 did."""
    host = Host({}, {"mcpfilesystem": RemoteTool(mcp_url)})
    with pytest.raises(McpHandlerError) as caught:
        host.calls(transport=Recorder()).direct("mcpfilesystem", "read", {})
    assert str(caught.value) == "Tool 'mcpfilesystem' has no MCP URL configuration"
    assert caught.value.hint == (
        "set the handler's mcp_url, or local_mode = True to call it in process"
    )


def test_transport_errors_propagate_and_nothing_is_retried(host: Host) -> None:
    calls: list[str] = []

    def failing(mcp_url: str, payload: dict[str, Any]) -> Any:
        calls.append(mcp_url)
        raise ConnectionResetError("peer went away")

    with pytest.raises(ConnectionResetError, match=r"^peer went away$"):
        host.calls(transport=failing).direct("remote", "read", {})
    assert calls == ["http://127.0.0.1:9/mcp"]


CALL = "files.write"


@pytest.mark.parametrize(
    ("result", "logs"),
    [
        (
            {"critical": True, "error": "disk gone"},
            [(f"CRITICAL MCP TOOL FAILURE: {CALL} - disk gone", "error")],
        ),
        (
            {"critical": 1},
            [(f"CRITICAL MCP TOOL FAILURE: {CALL} - Unknown error", "error")],
        ),
        (
            {"critical": True, "error": {"message": "m"}},
            [(f"CRITICAL MCP TOOL FAILURE: {CALL} - {{'message': 'm'}}", "error")],
        ),
        ({"critical": False, "error": "not critical"}, []),
        (
            {"error_type": "parameter_validation_error", "guidance": "path must be absolute"},
            [
                (f"Parameter validation failed for {CALL}: path must be absolute", "warning"),
                (
                    f"Retry enabled for {CALL} - agent should correct parameters and try again",
                    "info",
                ),
            ],
        ),
        (
            {"error_type": "parameter_validation_error", "retry_enabled": False},
            [
                (f"Parameter validation failed for {CALL}: Parameter validation failed", "warning"),
                (
                    f"Retry disabled for {CALL} - agent will receive error without retry "
                    "suggestion",
                    "warning",
                ),
            ],
        ),
        (
            # critical wins, as in V1: one error line, no validation lines
            {"critical": True, "error": "x", "error_type": "parameter_validation_error"},
            [(f"CRITICAL MCP TOOL FAILURE: {CALL} - x", "error")],
        ),
        ({"error": {"message": "no such file", "code": 404, "retryable": False}}, []),
        ({"error_type": "other_error", "guidance": "ignored"}, []),
        ({"content": "fine"}, []),
    ],
)
def test_result_logging(host: Host, result: dict[str, Any], logs: list[tuple[str, str]]) -> None:
    """Error results are results (returned as they are); critical and validation are logged."""
    returned = host.calls(transport=Recorder(result)).direct("files", "write", {})
    assert returned is result
    assert host.logs == logs


@pytest.mark.parametrize("result", [["critical"], "critical", 3])
def test_results_that_are_not_dicts_are_returned_unlogged(host: Host, result: Any) -> None:
    assert host.calls(transport=Recorder(result)).direct("files", "write", {}) == result
    assert host.logs == []


def test_intent_uses_handle_intent_first(host: Host) -> None:
    """handle_intent(intent, context) when the handler has it; the resolver is not asked."""
    resolved: list[str] = []
    calls = host.calls(intent_resolver=lambda *args: resolved.append("called"))
    result = calls.intent("github", "open an issue", "repo x")
    assert result == {"handled": "open an issue", "context": "repo x"}
    github = host.registry["github"]
    assert isinstance(github, IntentTool)
    assert github.intents == [("open an issue", "repo x")]
    assert resolved == []


def test_intent_falls_back_to_the_resolver(host: Host) -> None:
    seen: list[tuple[str, object, str, str]] = []

    def resolver(tool_id: str, handler: object, intent: str, context: str) -> Any:
        seen.append((tool_id, handler, intent, context))
        return {"via": "resolver", "input": intent_input(intent, context)}

    result = host.calls(intent_resolver=resolver).intent("files", "list", "in /tmp")
    assert result == {"via": "resolver", "input": "Intent: list\nContext: in /tmp"}
    assert seen == [("files", host.config_tools["files"], "list", "in /tmp")]


def test_intent_with_a_handle_intent_that_is_not_callable_uses_the_resolver() -> None:
    tool = LocalTool()
    tool.handle_intent = "not a method"  # type: ignore[attr-defined]
    host = Host({"files": tool}, {})
    assert host.calls(intent_resolver=lambda *a: a[2]).intent("files", "go") == "go"


def test_intent_without_handler_or_resolver_fails_clearly(host: Host) -> None:
    """An internal error: the mixin answers 500, strict or not, as the spec asks."""
    with pytest.raises(McpHandlerError) as caught:
        host.calls().intent("files", "list files")
    assert str(caught.value) == (
        "Tool 'files' cannot handle intents: it has no handle_intent(intent, context) "
        "and no intent resolver is configured"
    )
    assert caught.value.hint == (
        "give the tool a handle_intent method, pass intent_resolver= to the adapter, "
        "or call a method directly"
    )
    assert caught.value.category is ErrorCategory.INTERNAL


def test_intent_context_defaults_and_none(host: Host) -> None:
    calls = host.calls()
    calls.intent("github", "a")
    calls.intent("github", "b", None)  # type: ignore[arg-type]
    github = host.registry["github"]
    assert isinstance(github, IntentTool)
    assert github.intents == [("a", ""), ("b", "")]


@pytest.mark.parametrize(
    ("intent", "context", "message"),
    [
        (["a"], "", "MCP 'intent' must be a string, not list"),
        ("a", {"k": 1}, "MCP 'context' must be a string, not dict"),
    ],
)
def test_intent_and_context_must_be_strings(
    host: Host, intent: Any, context: Any, message: str
) -> None:
    with pytest.raises(McpCallRefusedError) as caught:
        host.calls().intent("github", intent, context)
    assert str(caught.value) == message
    assert caught.value.hint == (
        'send {"mcp": {"tool": ..., "intent": "<text>", "context": "<text>"}}'
    )


def test_intent_for_an_unknown_tool(host: Host) -> None:
    with pytest.raises(McpToolNotFoundError, match=r"^Tool 'ghost' not found in registry\."):
        host.calls().intent("ghost", "x")


@pytest.mark.parametrize(
    ("intent", "context", "text"),
    [
        ("create issue", "", "Intent: create issue"),
        ("create issue", "repo toolware", "Intent: create issue\nContext: repo toolware"),
    ],
)
def test_intent_input(intent: str, context: str, text: str) -> None:
    """The input string V1 fed the tool's intent workflow."""
    assert intent_input(intent, context) == text


def test_intent_input_without_a_context() -> None:
    assert intent_input("list files") == "Intent: list files"


def _noop(*args: Any) -> None:
    return None


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"lookup": 1}, "lookup must be callable, not int"),
        ({"available": None}, "available must be callable, not NoneType"),
        ({"log": "print"}, "log must be callable, not str"),
        ({"transport": 5}, "transport must be callable or None, not int"),
        ({"intent_resolver": []}, "intent_resolver must be callable or None, not list"),
    ],
)
def test_options_are_checked(options: dict[str, Any], message: str) -> None:
    given: dict[str, Callable[..., Any] | Any] = {
        "lookup": _noop,
        "available": list,
        "log": _noop,
        **options,
    }
    with pytest.raises(TypeError) as caught:
        McpCalls(**given)
    assert str(caught.value) == message


def test_every_failure_is_an_mcp_call_error(host: Host) -> None:
    """One base class to catch; str() is the bare message (the mixin adds "[ERROR] ")."""
    with pytest.raises(McpCallError) as caught:
        host.calls().direct("nothing", "x", {})
    assert str(caught.value) == caught.value.message
    assert "hint" not in str(caught.value)


def test_the_default_transport_sends_other_urls_over_mcp_http() -> None:
    """A URL that is not local:// goes to the MCP HTTP transport, made on first use."""
    from tests.compat.mcp_server_support import refused_url
    from toolware.compat.v1.mcp import McpUnavailableError, default_transport

    transport = default_transport(lambda tool_id: None)
    url = refused_url()
    with pytest.raises(McpUnavailableError) as caught:
        transport(url, {"name": "add", "arguments": {}})
    assert str(caught.value).startswith(f"MCP server at {url} cannot be reached: ")


def test_handler_without_an_mcp_url_attribute() -> None:
    class Bare:
        identifier = "bare"

    host = Host({}, {"bare": Bare()})
    with pytest.raises(McpHandlerError) as caught:
        host.calls(transport=Recorder()).direct("bare", "read", {})
    assert str(caught.value) == "Tool 'bare' has no MCP URL configuration"
