"""McpHttpTransport against real servers on 127.0.0.1: an MCP server (the SDK's MCPServer under
uvicorn) and a raw HTTP server that hangs, sends malformed JSON or fails. Typed errors, never a
hang."""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx2
import pytest
from mcp_types import CallToolResult
from opentelemetry import trace
from pydantic import ValidationError

from tests.compat.mcp_server_support import (
    PNG_BYTES,
    refused_url,
    running_mcp_server,
    running_misbehaving_server,
)
from toolware.compat.v1 import _mcp_sync
from toolware.compat.v1.mcp import (
    McpCallRefusedError,
    McpHandlerError,
    McpProtocolError,
    McpTimeoutError,
    McpUnavailableError,
)
from toolware.compat.v1.transport import DEFAULT_TIMEOUT, McpHttpTransport, _mapped, _shown_url

SLACK = 8.0
"""Seconds added to every time bound: the machine is small and shared."""


@pytest.fixture(scope="module")
def mcp_url() -> Iterator[str]:
    with running_mcp_server() as url:
        yield url


@pytest.fixture(scope="module")
def bad_server() -> Iterator[Any]:
    with running_misbehaving_server() as server:
        yield server


def _base(server: Any) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def _call(url: str, name: str, arguments: dict[str, Any] | None = None, **options: Any) -> Any:
    transport = McpHttpTransport(timeout=options.pop("timeout", 20.0), **options)
    return transport(url, {"name": name, "arguments": arguments or {}})


@pytest.mark.parametrize(
    ("name", "arguments", "expected"),
    [
        ("add", {"a": 2, "b": 3}, {"sum": 5}),  # a JSON object in text content
        ("shout", {"text": "hi"}, {"result": "HI"}),  # structured content
        ("plain", {"text": "x"}, {"content": "plain: x"}),  # text that is not JSON
        ("listing", {}, {"content": "[1, 2, 3]"}),  # JSON that is not an object
        (
            "fail",
            {"reason": "no such file"},
            {"error": {"message": "Error executing tool fail: no such file", "code": "tool_error"}},
        ),
        (
            "crash",
            {},
            {"error": {"message": "Error executing tool crash", "code": "tool_error"}},
        ),
        (
            "nope",
            {},
            {"error": {"message": "Unknown tool: nope", "code": "tool_error"}},
        ),
        (
            "validate",
            {"field": "path"},
            {
                "error_type": "parameter_validation_error",
                "guidance": "'path' must be an absolute path",
                "retry_enabled": False,
            },
        ),
        ("meltdown", {}, {"critical": True, "error": "disk gone"}),
    ],
)
def test_results(mcp_url: str, name: str, arguments: dict[str, Any], expected: Any) -> None:
    """Each MCP result shape becomes the V1 dict; tool errors are error results, not raises."""
    assert _call(mcp_url, name, arguments) == expected


def test_non_text_blocks_are_kept(mcp_url: str) -> None:
    result = _call(mcp_url, "picture")
    assert result == {
        "content": "a picture",
        "content_blocks": [
            {
                "type": "image",
                "data": base64.b64encode(PNG_BYTES).decode(),
                "mimeType": "image/png",
            }
        ],
    }


def test_headers_go_with_the_request(mcp_url: str) -> None:
    result = _call(mcp_url, "seen", headers={"Authorization": "Bearer t0k"})
    assert result == {"authorization": "Bearer t0k", "traceparent": None}


def test_the_current_trace_goes_out_in_meta(mcp_url: str) -> None:
    """W3C trace context of the caller's span travels in params._meta."""
    context = trace.SpanContext(
        trace_id=0x0AF7651916CD43DD8448EB211C80319C,
        span_id=0xB7AD6B7169203331,
        is_remote=False,
        trace_flags=trace.TraceFlags(1),
    )
    with trace.use_span(trace.NonRecordingSpan(context)):
        result = _call(mcp_url, "seen")
    assert result["traceparent"] == "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def test_a_json_rpc_error_is_a_protocol_error(mcp_url: str) -> None:
    with pytest.raises(McpProtocolError) as caught:
        _call(mcp_url, "refuse")
    assert str(caught.value) == (
        f"MCP server at {mcp_url} answered the call of 'refuse' with error -32602: "
        "refused by the server"
    )
    assert caught.value.code == -32602
    assert caught.value.retryable is False


def test_connection_refused(caplog: pytest.LogCaptureFixture) -> None:
    url = refused_url()
    with (
        caplog.at_level(logging.WARNING, logger="toolware.compat.v1"),
        pytest.raises(McpUnavailableError) as caught,
    ):
        _call(url, "add")
    assert str(caught.value) == (
        f"MCP server at {url} cannot be reached: ConnectError: All connection attempts failed"
    )
    assert caught.value.retryable is True
    assert type(caught.value) is McpUnavailableError
    records = [r for r in caplog.records if r.name == "toolware.compat.v1"]
    assert [r.getMessage() for r in records] == [
        f"compat.v1.mcp_remote_failed url={url} tool=add category=unavailable"
    ]
    assert records[0].levelno == logging.WARNING
    fields = records[0].__dict__
    assert (fields["url"], fields["tool"], fields["category"]) == (url, "add", "unavailable")


def test_credentials_and_query_stay_out_of_messages() -> None:
    url = refused_url().replace("http://", "http://user:hunter2@") + "?apikey=s3cret"
    with pytest.raises(McpUnavailableError) as caught:
        _call(url, "add")
    assert "hunter2" not in str(caught.value)
    assert "s3cret" not in str(caught.value)
    assert str(caught.value).startswith(f"MCP server at {refused_url_base(url)} cannot")


def refused_url_base(url: str) -> str:
    port = url.split("@", 1)[1].split("/", 1)[0]
    return f"http://{port}/mcp"


def test_a_server_that_hangs_times_out(bad_server: Any) -> None:
    started = time.monotonic()
    with pytest.raises(McpTimeoutError) as caught:
        _call(_base(bad_server) + "/hang", "add", timeout=0.5)
    elapsed = time.monotonic() - started
    assert str(caught.value) == (
        f"MCP server at {_base(bad_server)}/hang did not answer tools/call 'add' within 0.5 s"
    )
    assert caught.value.limit == 0.5
    assert elapsed >= 0.5
    assert elapsed < 0.5 + _mcp_sync.CANCEL_GRACE + SLACK


def test_malformed_json(bad_server: Any) -> None:
    with pytest.raises(McpProtocolError) as caught:
        _call(_base(bad_server) + "/badjson", "add")
    assert str(caught.value) == (
        f"MCP server at {_base(bad_server)}/badjson sent a reply that is not JSON-RPC: "
        "Failed to parse JSON response: 1 validation error for "
        "union[JSONRPCRequest,JSONRPCNotification,JSONRPCResponse,JSONRPCError]"
    )
    assert caught.value.code == -32700


def test_an_http_error_status(bad_server: Any) -> None:
    with pytest.raises(McpProtocolError) as caught:
        _call(_base(bad_server) + "/status500", "add")
    assert str(caught.value) == (
        f"MCP server at {_base(bad_server)}/status500 answered the call of 'add' with error "
        "-32603: Server returned an error response"
    )


@pytest.mark.parametrize(
    "url", ["stdio://github_mcp", "local://files", "ftp://host/mcp", "not a url", "http://"]
)
def test_urls_that_are_not_http_are_refused(url: str) -> None:
    with pytest.raises(McpHandlerError) as caught:
        _call(url, "add")
    assert str(caught.value) == (
        f"Cannot call MCP URL {url!r}: only http:// and https:// URLs are supported"
    )
    assert caught.value.hint == (
        "set the handler's mcp_url to the server's streamable HTTP endpoint, "
        "or local_mode = True to call it in process"
    )


def test_arguments_that_are_not_json_are_refused_before_sending(bad_server: Any) -> None:
    before = len(bad_server.seen_headers)
    with pytest.raises(McpCallRefusedError) as caught:
        _call(_base(bad_server) + "/badjson", "add", {"when": object()})
    assert str(caught.value) == (
        "MCP arguments of 'add' cannot be sent: TypeError: "
        "Object of type object is not JSON serializable"
    )
    assert caught.value.hint == (
        "pass only JSON values (str, int, float, bool, None, list, dict) as params"
    )
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__ is True
    assert len(bad_server.seen_headers) == before


async def test_works_from_inside_a_running_event_loop(mcp_url: str) -> None:
    """A coroutine calling the synchronous V1 API: no nested-loop error."""
    assert _call(mcp_url, "add", {"a": 1, "b": 1}) == {"sum": 2}
    await asyncio.sleep(0)


def test_works_from_worker_threads_at_once(mcp_url: str) -> None:
    transport = McpHttpTransport(timeout=20)
    with ThreadPoolExecutor(4) as pool:
        results = list(
            pool.map(
                lambda i: transport(mcp_url, {"name": "add", "arguments": {"a": i, "b": 10}}),
                range(4),
            )
        )
    assert results == [{"sum": 10}, {"sum": 11}, {"sum": 12}, {"sum": 13}]


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"timeout": "5"}, TypeError, "timeout must be a number of seconds, not str"),
        ({"timeout": True}, TypeError, "timeout must be a number of seconds, not bool"),
        ({"timeout": 0}, ValueError, "timeout must be a finite number of seconds above 0, not 0"),
        (
            {"timeout": float("inf")},
            ValueError,
            "timeout must be a finite number of seconds above 0, not inf",
        ),
        ({"headers": {"x": 1}}, TypeError, "headers must map str names to str values"),
    ],
)
def test_options_are_checked(options: dict[str, Any], error: type[Exception], message: str) -> None:
    with pytest.raises(error) as caught:
        McpHttpTransport(**options)
    assert str(caught.value) == message


def test_defaults() -> None:
    transport = McpHttpTransport()
    assert transport.timeout == DEFAULT_TIMEOUT == 60.0
    assert transport.headers == {}


def _validation_error() -> ValidationError:
    try:
        CallToolResult.model_validate({"content": "not a list"})
    except ValidationError as exc:
        return exc
    raise AssertionError("the result should not validate")


@pytest.mark.parametrize(
    ("raised", "error", "message"),
    [
        (
            httpx2.ReadTimeout("read timed out"),
            McpTimeoutError,
            "MCP server at U did not answer tools/call 'add' in time: ReadTimeout: read timed out",
        ),
        (
            ExceptionGroup("outer", [ExceptionGroup("inner", [ConnectionResetError("reset")])]),
            McpUnavailableError,
            "MCP server at U cannot be reached: ConnectionResetError: reset",
        ),
        (
            _validation_error(),
            McpProtocolError,
            "MCP server at U sent a tools/call result that is not MCP: 1 validation error(s)",
        ),
        (
            RuntimeError("odd"),
            McpProtocolError,
            "MCP call to U failed: RuntimeError: odd",
        ),
    ],
)
def test_sdk_failures_are_mapped(
    raised: BaseException, error: type[Exception], message: str
) -> None:
    """What the SDK raises (nested in its task-group exception groups) becomes a typed error."""
    mapped = _mapped(raised, "U", "add", 3.0)
    assert type(mapped) is error
    assert str(mapped) == message
    if isinstance(mapped, McpProtocolError):  # not MCP, or the SDK failed: JSON-RPC's internal
        assert mapped.code == -32603
    if isinstance(mapped, McpTimeoutError):
        assert mapped.limit == 3.0


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://user:pw@mcp.example:8443/mcp?key=s3cret", "https://mcp.example:8443/mcp"),
        ("http://mcp.example/mcp", "http://mcp.example/mcp"),
        ("https://mcp.example", "https://mcp.example"),
    ],
)
def test_urls_are_shown_without_credentials_or_query(url: str, shown: str) -> None:
    assert _shown_url(url) == shown
