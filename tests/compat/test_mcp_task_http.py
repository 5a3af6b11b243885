"""TaskHttpTransport against a V1-style tool server on 127.0.0.1 (POST <base>/<task>)."""

from __future__ import annotations

import time
import urllib.error
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import trace

from tests.compat.mcp_server_support import (
    full_backlog_url,
    refused_url,
    running_misbehaving_server,
    running_v1_task_server,
)
from toolware.compat.v1._mcp_task_http import _reason, _shown_url
from toolware.compat.v1.mcp import (
    McpCallRefusedError,
    McpCalls,
    McpHandlerError,
    McpProtocolError,
    McpTimeoutError,
    McpUnavailableError,
    TaskHttpTransport,
    default_transport,
)

SLACK = 8.0


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    with running_v1_task_server() as url:
        yield url


def _call(url: str, name: str, arguments: Any = None, **options: Any) -> Any:
    transport = TaskHttpTransport(timeout=options.pop("timeout", 20.0), **options)
    return transport(url, {"name": name, "arguments": arguments})


def test_a_task_answers_its_output(base: str) -> None:
    result = _call(base, "add", {"a": 2, "b": 5}, headers={"X-Api-Key": "k1"})
    assert result["sum"] == 7
    assert result["seen"]["x-api-key"] == "k1"
    assert result["seen"]["content-type"] == "application/json"
    assert result["seen"]["accept"] == "application/json"
    assert "traceparent" not in result["seen"]


def test_a_trailing_slash_on_the_base_is_fine(base: str) -> None:
    assert _call(base + "/", "add", {"a": 1, "b": 1})["sum"] == 2
    assert _call(base.replace("/tools/math", "/tools/MX"), "add", {"a": 1, "b": 2})["sum"] == 3


def test_the_trace_goes_out_as_headers(base: str) -> None:
    context = trace.SpanContext(
        trace_id=0x0AF7651916CD43DD8448EB211C80319C,
        span_id=0xB7AD6B7169203331,
        is_remote=False,
        trace_flags=trace.TraceFlags(1),
    )
    with trace.use_span(trace.NonRecordingSpan(context)):
        seen = _call(base, "add", {"a": 1, "b": 1})["seen"]
    assert seen["traceparent"] == "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@pytest.mark.parametrize(
    ("name", "arguments", "expected"),
    [
        ("listing", {}, {"content": "[1,2]"}),
        (
            "explode",
            {},
            {"error": {"message": "disk quota exceeded", "code": 500, "retryable": True}},
        ),
        (
            "add",
            {"a": "x"},
            {
                "error": {
                    "message": '[{"loc": ["body", "a"], "msg": "field required", '
                    '"type": "missing"}]',
                    "code": 422,
                }
            },
        ),
        ("teapot", None, {"error": {"message": "short and stout", "code": 418}}),
        ("missing", {}, {"error": {"message": "Not Found", "code": 404}}),
    ],
)
def test_answers_become_v1_results(
    base: str, name: str, arguments: Any, expected: dict[str, Any]
) -> None:
    """HTTP error statuses are V1 error results (the model reads them), as V1's mcp_call had."""
    assert _call(base, name, arguments) == expected


def test_a_long_error_body_is_cut_with_a_marker(base: str) -> None:
    error = _call(base, "overloaded", {})["error"]
    assert error["message"] == "x" * 475 + "... [125 more characters]"
    assert len(error["message"]) == 500
    assert (error["code"], error["retryable"]) == (503, True)


def test_a_body_that_is_not_json(base: str) -> None:
    with pytest.raises(McpProtocolError) as caught:
        _call(base, "garbage", {})
    assert str(caught.value) == (
        f"V1 tool server at {base} answered task 'garbage' with a body that is not JSON"
    )
    assert caught.value.code == -32700


def test_a_slow_task_times_out(base: str) -> None:
    started = time.monotonic()
    with pytest.raises(McpTimeoutError) as caught:
        _call(base, "slow", {}, timeout=0.3)
    assert str(caught.value) == (
        f"V1 tool server at {base} did not answer task 'slow' within 0.3 s"
    )
    assert caught.value.limit == 0.3
    assert time.monotonic() - started < 0.3 + SLACK


def test_connection_refused() -> None:
    url = refused_url().replace("/mcp", "/tools")
    with pytest.raises(McpUnavailableError) as caught:
        _call(url, "add", {})
    assert str(caught.value) == (
        f"V1 tool server at {url} cannot be reached: ConnectionRefusedError: "
        "[Errno 111] Connection refused"
    )


def test_arguments_that_are_not_json() -> None:
    with pytest.raises(McpCallRefusedError) as caught:
        _call("http://127.0.0.1:9/tools", "add", {"x": {1, 2}})
    assert str(caught.value) == (
        "MCP arguments of 'add' cannot be sent: TypeError: Object of type set is not "
        "JSON serializable"
    )
    assert caught.value.hint == (
        "pass only JSON values (str, int, float, bool, None, list, dict) as params"
    )
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__ is True


@pytest.mark.parametrize("url", ["local://x", "stdio://x", "http://", 42])
def test_urls_that_are_not_http(url: Any) -> None:
    with pytest.raises(McpHandlerError) as caught:
        _call(url, "add", {})
    assert str(caught.value) == (
        f"Cannot call V1 tool server URL {url!r}: only http:// and https:// URLs are supported"
    )
    assert caught.value.hint == "set the handler's mcp_url to the tool server's base URL"


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"timeout": None}, TypeError, "timeout must be a number of seconds, not NoneType"),
        ({"timeout": "5"}, TypeError, "timeout must be a number of seconds, not str"),
        ({"timeout": True}, TypeError, "timeout must be a number of seconds, not bool"),
        ({"timeout": 0}, ValueError, "timeout must be a finite number of seconds above 0, not 0"),
        (
            {"timeout": float("nan")},
            ValueError,
            "timeout must be a finite number of seconds above 0, not nan",
        ),
        ({"timeout": -1}, ValueError, "timeout must be a finite number of seconds above 0, not -1"),
        ({"headers": {1: "x"}}, TypeError, "headers must map str names to str values"),
    ],
)
def test_options_are_checked(options: dict[str, Any], error: type[Exception], message: str) -> None:
    with pytest.raises(error) as caught:
        TaskHttpTransport(**options)
    assert str(caught.value) == message


def test_defaults() -> None:
    transport = TaskHttpTransport()
    assert (transport.timeout, transport.headers) == (60.0, {})


def test_mcp_calls_with_a_v1_tool_server(base: str) -> None:
    """The migration setup: V1 tool servers keep serving behind McpCalls."""

    class MathTool:
        local_mode = False
        mcp_url = base

    tools: dict[str, object] = {"math": MathTool()}
    logs: list[tuple[str, str]] = []
    calls = McpCalls(
        lookup=tools.get,
        available=lambda: ["math"],
        log=lambda message, level: logs.append((message, level)),
        transport=default_transport(tools.get, remote=TaskHttpTransport(timeout=20)),
    )
    assert calls.direct("math", "add", {"a": 40, "b": 2})["sum"] == 42
    assert calls.direct("math", "explode", {}) == {
        "error": {"message": "disk quota exceeded", "code": 500, "retryable": True}
    }
    assert logs == []


def test_a_connection_that_cannot_be_made_in_time() -> None:
    with full_backlog_url() as url, pytest.raises(McpTimeoutError) as caught:
        _call(url, "add", {}, timeout=0.3)
    assert str(caught.value) == f"V1 tool server at {url} did not answer task 'add' within 0.3 s"


def test_a_body_cut_short() -> None:
    with running_misbehaving_server() as server:
        url = f"http://127.0.0.1:{server.server_address[1]}/cut"
        with pytest.raises(McpUnavailableError) as caught:
            _call(url, "add", {})
    assert str(caught.value) == (
        f"V1 tool server at {url} cannot be reached: "
        "IncompleteRead: IncompleteRead(9 bytes read, 91 more expected)"
    )


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (urllib.error.URLError("tunnel connection failed: 407"), "tunnel connection failed: 407"),
        (
            urllib.error.URLError(ConnectionRefusedError(111, "refused")),
            "ConnectionRefusedError: [Errno 111] refused",
        ),
    ],
)
def test_the_reason_of_an_unreachable_server(error: urllib.error.URLError, reason: str) -> None:
    """urllib gives a reason as text (proxies) or as the OS error: both read as they are."""
    assert _reason(error) == reason


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "https://user:pw@tools.example:8443/v1/math?key=s3cret",
            "https://tools.example:8443/v1/math",
        ),
        ("http://tools.example/v1/math", "http://tools.example/v1/math"),
        ("https://tools.example", "https://tools.example"),
    ],
)
def test_urls_are_shown_without_credentials_or_query(url: str, shown: str) -> None:
    assert _shown_url(url) == shown
