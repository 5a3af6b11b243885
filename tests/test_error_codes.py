"""Tests for toolware.error_codes: the per-transport tables and their lookups."""

from __future__ import annotations

import json

import pytest

from toolware import error_codes
from toolware.error_codes import (
    EXIT_CALL_FAILED,
    EXIT_INTERRUPTED,
    EXIT_STATUS,
    EXIT_USAGE,
    HTTP_STATUS,
    JSONRPC_CODE,
    JsonRpcError,
    exit_status,
    http_status,
    jsonrpc_code,
    jsonrpc_error,
)
from toolware.errors import (
    CallCancelledError,
    CallTimeoutError,
    ErrorCategory,
    ForbiddenError,
    InternalError,
    InvalidRequestError,
    NotFoundError,
    ToolFailedError,
)

C = ErrorCategory


@pytest.mark.parametrize(
    "table", [HTTP_STATUS, JSONRPC_CODE, EXIT_STATUS], ids=["http", "rpc", "cli"]
)
def test_every_category_is_in_every_table(table: object) -> None:
    """No transport can meet a category it has no code for."""
    assert set(table) == set(ErrorCategory)  # type: ignore[call-overload]


def test_http_statuses() -> None:
    """The HTTP table is the one in the module docstring."""
    assert dict(HTTP_STATUS) == {
        C.INVALID_REQUEST: 422,
        C.NOT_FOUND: 404,
        C.UNAUTHENTICATED: 401,
        C.FORBIDDEN: 403,
        C.RATE_LIMITED: 429,
        C.CIRCUIT_OPEN: 503,
        C.TIMEOUT: 504,
        C.UNAVAILABLE: 503,
        C.TOOL_FAILED: 502,
        C.CANCELLED: 499,
        C.INTERNAL: 500,
    }
    assert http_status(ForbiddenError("no")) == 403
    assert http_status(C.TIMEOUT) == 504


def test_jsonrpc_codes_follow_the_mcp_specification() -> None:
    """Unknown tool -32602, bug -32603, the rest in the server range; tool failures, input
    validation and cancellation are not JSON-RPC errors."""
    assert JSONRPC_CODE[C.NOT_FOUND] == -32602
    assert JSONRPC_CODE[C.INTERNAL] == -32603
    for category in (C.TOOL_FAILED, C.INVALID_REQUEST, C.CANCELLED):
        assert JSONRPC_CODE[category] is None
    ranged = [code for code in JSONRPC_CODE.values() if code not in (None, -32602, -32603)]
    assert len(ranged) == 6
    assert len(set(ranged)) == len(ranged)
    for code in ranged:
        assert code is not None
        assert -32099 <= code <= -32000
        assert code not in (-32000, -32001, -32002, -32042)  # taken by MCP and its SDKs


def test_jsonrpc_error_carries_code_message_and_bounded_data() -> None:
    """A protocol error has the code, the message and the error's to_dict() as data."""
    error = CallTimeoutError("too slow", limit=2.0, request_id="r1", target="search")
    reply = jsonrpc_error(error)
    assert reply == JsonRpcError(code=-32014, message="too slow", data=error.to_dict())
    assert reply is not None
    assert json.loads(json.dumps(reply.to_dict()))["data"]["limit"] == 2.0
    assert jsonrpc_error(NotFoundError("no tool 'x'")) is not None
    assert jsonrpc_code(InternalError("bug")) == -32603


@pytest.mark.parametrize(
    "error",
    [ToolFailedError("broke"), InvalidRequestError("bad"), CallCancelledError("gone")],
    ids=lambda e: type(e).__name__,
)
def test_jsonrpc_error_is_none_where_mcp_has_no_protocol_error(error: Exception) -> None:
    """isError results and cancellations are not JSON-RPC errors."""
    assert jsonrpc_error(error) is None  # type: ignore[arg-type]


def test_cli_exit_statuses() -> None:
    """Every failed call exits 1; usage errors 2; interrupted 130."""
    assert set(EXIT_STATUS.values()) == {EXIT_CALL_FAILED}
    assert exit_status(ToolFailedError("x")) == exit_status(C.NOT_FOUND) == 1
    assert (EXIT_USAGE, EXIT_INTERRUPTED) == (2, 130)


def test_lookups_refuse_other_types() -> None:
    """A string or an arbitrary exception is refused with TypeError naming its type."""
    with pytest.raises(TypeError, match="got ValueError"):
        http_status(ValueError("x"))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="got str"):
        exit_status("timeout")  # type: ignore[arg-type]


def test_tables_are_read_only() -> None:
    """The tables cannot be changed by accident at run time."""
    with pytest.raises(TypeError):
        HTTP_STATUS[C.TIMEOUT] = 408  # type: ignore[index]


def test_all_is_pinned() -> None:
    """The module's public names are exactly these, and all exist."""
    assert sorted(error_codes.__all__) == [
        "EXIT_CALL_FAILED",
        "EXIT_INTERRUPTED",
        "EXIT_OK",
        "EXIT_STATUS",
        "EXIT_USAGE",
        "HTTP_STATUS",
        "JSONRPC_CODE",
        "JSONRPC_INTERNAL_ERROR",
        "JSONRPC_INVALID_PARAMS",
        "JsonRpcError",
        "MCP_SPEC_VERSION",
        "exit_status",
        "http_status",
        "jsonrpc_code",
        "jsonrpc_error",
    ]
    for name in error_codes.__all__:
        assert hasattr(error_codes, name)


def test_a_json_rpc_error_serialises_with_the_spec_member_names() -> None:
    """to_dict() has exactly 'code', 'message' and 'data'."""
    error = JsonRpcError(code=-32602, message="bad", data={"category": "invalid_request"})
    assert error.to_dict() == {
        "code": -32602,
        "message": "bad",
        "data": {"category": "invalid_request"},
    }
