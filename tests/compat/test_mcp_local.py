"""Local-mode calls in process (local://), the way V1's mcp_call made them."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from toolware.compat.v1._mcp_local import call_local, tool_call
from toolware.compat.v1.mcp import (
    McpCallRefusedError,
    McpCalls,
    McpHandlerError,
    McpToolNotFoundError,
    default_transport,
)


class RunTool:
    """A plain V1 handler: run(payload)."""

    local_mode = True

    def __init__(self, result: Any = None) -> None:
        self.payloads: list[dict[str, Any]] = []
        self.result = result

    def run(self, payload: dict[str, Any]) -> Any:
        self.payloads.append(payload)
        return {"echo": payload} if self.result is None else self.result


class TaskServer:
    """A V1 BaseMCPToolServer: call_task(name, arguments), results as they are."""

    def __init__(self) -> None:
        self.tasks: list[tuple[str, dict[str, Any]]] = []

    def call_task(self, name: str, arguments: dict[str, Any]) -> Any:
        self.tasks.append((name, arguments))
        return ["not", "a", "dict"]

    def run(self, payload: dict[str, Any]) -> Any:
        raise AssertionError("call_task comes first")


class ToolWithServer(RunTool):
    def __init__(self, server: object) -> None:
        super().__init__()
        self.server = server


class AsyncTool:
    local_mode = True

    async def run_async(self, payload: dict[str, Any]) -> Any:
        await asyncio.sleep(0)
        return f"async {payload['method']} {payload['params']}"

    def run(self, payload: dict[str, Any]) -> Any:
        raise AssertionError("run_async comes before run")


class CoroutineRun:
    local_mode = True

    async def run(self, payload: dict[str, Any]) -> Any:
        return {"awaited": payload["method"]}


class Nothing:
    local_mode = True
    run = "not callable"


def test_run_gets_the_v1_payload_and_dicts_come_back_as_they_are() -> None:
    tool = RunTool()
    assert call_local("t", tool, "read", {"path": "/a"}) == {
        "echo": {"method": "read", "params": {"path": "/a"}}
    }
    assert tool.payloads == [{"method": "read", "params": {"path": "/a"}}]


@pytest.mark.parametrize("value", ["text", 3, 0.5, [1], ("a",)])
def test_results_that_are_not_dicts_are_wrapped(value: Any) -> None:
    """V1's wrapping: {"result": value, "success": True}."""
    assert call_local("t", RunTool(result=value), "m", {}) == {"result": value, "success": True}


def test_call_task_comes_first_and_its_result_is_not_wrapped() -> None:
    server = TaskServer()
    assert call_local("t", server, "list", {"dir": "/"}) == ["not", "a", "dict"]
    assert server.tasks == [("list", {"dir": "/"})]


def test_a_tool_with_a_server_is_called_through_the_server() -> None:
    server = TaskServer()
    tool = ToolWithServer(server)
    assert call_local("t", tool, "list", {}) == ["not", "a", "dict"]
    assert tool.payloads == []
    assert server.tasks == [("list", {})]


def test_a_falsy_server_attribute_is_ignored() -> None:
    tool = ToolWithServer(None)
    assert call_local("t", tool, "m", {}) == {"echo": {"method": "m", "params": {}}}


def test_run_async_is_awaited_on_a_private_loop() -> None:
    assert call_local("t", AsyncTool(), "grep", {"q": "x"}) == {
        "result": "async grep {'q': 'x'}",
        "success": True,
    }


async def test_run_async_works_when_the_caller_has_a_running_loop() -> None:
    """A coroutine calling the synchronous V1 API: no 'loop already running' error."""
    assert call_local("t", AsyncTool(), "grep", {})["result"] == "async grep {}"


def test_a_run_that_returns_a_coroutine_is_awaited() -> None:
    assert call_local("t", CoroutineRun(), "m", {}) == {"awaited": "m"}


def test_a_handler_without_a_callable_method_is_refused() -> None:
    with pytest.raises(McpHandlerError) as caught:
        call_local("odd", Nothing(), "m", {})
    assert str(caught.value) == "Tool 'odd' doesn't have call_task, run, or run_async method"
    assert caught.value.hint == "give the local-mode handler a run(payload) method"


def test_handler_exceptions_propagate_unchanged() -> None:
    class Broken:
        def run(self, payload: dict[str, Any]) -> Any:
            raise KeyError("path")

    with pytest.raises(KeyError, match="path"):
        call_local("t", Broken(), "m", {})


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"name": "m", "arguments": {"a": 1}}, ("m", {"a": 1})),
        ({"name": "m", "arguments": None}, ("m", {})),
        ({"name": "m"}, ("m", {})),
    ],
)
def test_tool_call_reads_the_payload(payload: dict[str, Any], expected: Any) -> None:
    assert tool_call(payload) == expected


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("name", "An MCP payload must be a dict with a str 'name' and a dict 'arguments'"),
        (
            {"arguments": {}},
            "An MCP payload must be a dict with a str 'name' and a dict 'arguments'",
        ),
        ({"name": 1}, "An MCP payload must be a dict with a str 'name' and a dict 'arguments'"),
        ({"name": "m", "arguments": "{}"}, "MCP 'arguments' must be a dict, not str"),
    ],
)
def test_tool_call_refuses_bad_payloads(payload: Any, message: str) -> None:
    with pytest.raises(McpCallRefusedError) as caught:
        tool_call(payload)
    assert str(caught.value) == message
    assert caught.value.hint == 'send {"name": method, "arguments": params}'


def test_default_transport_runs_local_urls_in_process() -> None:
    tool = RunTool()
    transport = default_transport({"files": tool}.get)
    result = transport("local://files", {"name": "read", "arguments": {"p": 1}})
    assert result == {"echo": {"method": "read", "params": {"p": 1}}}


def test_default_transport_local_tool_missing() -> None:
    """V1's text when the local server is gone."""
    transport = default_transport({}.get)
    with pytest.raises(McpToolNotFoundError) as caught:
        transport("local://gone", {"name": "m", "arguments": {}})
    assert str(caught.value) == "Local server 'gone' not found"


def test_default_transport_sends_other_urls_to_remote() -> None:
    sent: list[tuple[str, dict[str, Any]]] = []

    def remote(url: str, payload: dict[str, Any]) -> Any:
        sent.append((url, payload))
        return {"remote": True}

    transport = default_transport({}.get, remote=remote)
    assert transport("https://tools.example/mcp", {"name": "m", "arguments": {}}) == {
        "remote": True
    }
    assert sent == [("https://tools.example/mcp", {"name": "m", "arguments": {}})]


def test_mcp_calls_default_transport_end_to_end_from_threads() -> None:
    """McpCalls without a transport: local-mode handlers run in process, from any thread."""
    tool = RunTool()
    logs: list[tuple[str, str]] = []
    calls = McpCalls(
        lookup={"files": tool}.get,
        available=lambda: ["files"],
        log=lambda message, level: logs.append((message, level)),
    )
    results: list[Any] = []
    threads = [
        threading.Thread(target=lambda i=i: results.append(calls.direct("files", "n", {"i": i})))
        for i in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(r["echo"]["params"]["i"] for r in results) == [0, 1, 2, 3]
    assert logs == []
