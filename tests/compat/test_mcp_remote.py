"""McpCalls with its default transport against a real MCP server on 127.0.0.1: the whole V1
direct-call path, remote, with the host's log."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.compat.mcp_server_support import refused_url, running_mcp_server
from toolware.compat.v1 import MiddlewareMixin
from toolware.compat.v1.mcp import McpCalls, McpUnavailableError


class RemoteTool:
    type = "mcpremote"
    local_mode = False

    def __init__(self, mcp_url: str) -> None:
        self.mcp_url = mcp_url


class LocalTool:
    local_mode = True

    def run(self, payload: dict[str, Any]) -> Any:
        return f"local {payload['method']}"


@pytest.fixture(scope="module")
def mcp_url() -> Iterator[str]:
    with running_mcp_server() as url:
        yield url


@pytest.fixture
def setup(mcp_url: str) -> tuple[McpCalls, list[tuple[str, str]]]:
    tools: dict[str, object] = {
        "remote": RemoteTool(mcp_url),
        "down": RemoteTool(refused_url()),
        "files": LocalTool(),
    }
    logs: list[tuple[str, str]] = []
    calls = McpCalls(
        lookup=tools.get,
        available=lambda: sorted(tools),
        log=lambda message, level: logs.append((message, level)),
    )
    return calls, logs


def test_remote_result(setup: tuple[McpCalls, list[tuple[str, str]]]) -> None:
    calls, logs = setup
    assert calls.direct("remote", "add", {"a": 20, "b": 22}) == {"sum": 42}
    assert logs == []


def test_remote_params_as_a_json_string(setup: tuple[McpCalls, list[tuple[str, str]]]) -> None:
    calls, _ = setup
    assert calls.direct("remote", "add", '{"a": 1, "b": 2}') == {"sum": 3}  # type: ignore[arg-type]


def test_remote_and_local_side_by_side(setup: tuple[McpCalls, list[tuple[str, str]]]) -> None:
    calls, _ = setup
    assert calls.direct("files", "ls", {}) == {"result": "local ls", "success": True}
    assert calls.direct("remote", "shout", {"text": "x"}) == {"result": "X"}


def test_remote_validation_error_is_logged(
    setup: tuple[McpCalls, list[tuple[str, str]]],
) -> None:
    calls, logs = setup
    result = calls.direct("remote", "validate", {"field": "dir"})
    assert result["error_type"] == "parameter_validation_error"
    assert logs == [
        (
            "Parameter validation failed for remote.validate: 'dir' must be an absolute path",
            "warning",
        ),
        (
            "Retry disabled for remote.validate - agent will receive error without retry "
            "suggestion",
            "warning",
        ),
    ]


def test_remote_critical_is_logged(setup: tuple[McpCalls, list[tuple[str, str]]]) -> None:
    calls, logs = setup
    assert calls.direct("remote", "meltdown", {}) == {"critical": True, "error": "disk gone"}
    assert logs == [("CRITICAL MCP TOOL FAILURE: remote.meltdown - disk gone", "error")]


def test_remote_tool_error_is_an_error_result(
    setup: tuple[McpCalls, list[tuple[str, str]]],
) -> None:
    calls, logs = setup
    assert calls.direct("remote", "fail", {"reason": "quota"}) == {
        "error": {"message": "Error executing tool fail: quota", "code": "tool_error"}
    }
    assert logs == []


def test_remote_server_down(setup: tuple[McpCalls, list[tuple[str, str]]]) -> None:
    calls, _ = setup
    with pytest.raises(McpUnavailableError, match=r"cannot be reached: ConnectError"):
        calls.direct("down", "add", {})


class Agent(MiddlewareMixin):
    """A V1 agent class, unchanged: the mixin's MCP branch runs on McpCalls."""

    name = "bot"
    timeout = 20

    def __init__(self, tools: dict[str, object]) -> None:
        self.logs: list[tuple[str, str]] = []
        super().__init__(tool_registry=tools)

    def log_event(self, message: str, level: str) -> None:
        self.logs.append((message, level))


@pytest.mark.parametrize(
    ("mcp", "answer"),
    [
        (
            {"tool": "remote", "method": "add", "params": {"a": 1, "b": 2}},
            (201, '{\n  "sum": 3\n}'),
        ),
        (
            {"tool": "remote", "method": "fail", "params": {"reason": "quota"}},
            (
                201,
                '{\n  "error": {\n    "message": "Error executing tool fail: quota",\n'
                '    "code": "tool_error"\n  }\n}',
            ),
        ),
        (
            {"tool": "ghost", "method": "add"},
            (500, "[ERROR] Tool 'ghost' not found in registry. Available tools: ['remote']"),
        ),
        (
            {"tool": "remote", "intent": "sum things"},
            (
                500,
                "[ERROR] Tool 'remote' cannot handle intents: it has no "
                "handle_intent(intent, context) and no intent resolver is configured",
            ),
        ),
    ],
)
def test_through_the_v1_mixin(mcp_url: str, mcp: dict[str, Any], answer: Any) -> None:
    """to_middleware({"mcp": ...}) with a remote tool: V1's statuses and bodies."""
    agent = Agent({"remote": RemoteTool(mcp_url)})
    assert agent.to_middleware({"mcp": mcp}) == answer


def test_through_the_v1_mixin_the_critical_log_has_the_agent_prefix(mcp_url: str) -> None:
    agent = Agent({"remote": RemoteTool(mcp_url)})
    assert agent.to_middleware({"mcp": {"tool": "remote", "method": "meltdown"}})[0] == 201
    assert ("Agent bot: CRITICAL MCP TOOL FAILURE: remote.meltdown - disk gone", "error") in (
        agent.logs
    )
