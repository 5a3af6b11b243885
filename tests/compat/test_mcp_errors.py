"""The V1 MCP error tree: categories, retryability, str() without the hint, to_dict, pickling."""

from __future__ import annotations

import pickle

import pytest

from toolware.compat.v1.mcp import (
    McpCallError,
    McpCallRefusedError,
    McpHandlerError,
    McpProtocolError,
    McpTimeoutError,
    McpToolNotFoundError,
    McpUnavailableError,
)
from toolware.errors import (
    CallTimeoutError,
    ErrorCategory,
    InvalidRequestError,
    NotFoundError,
    ToolwareError,
    UnavailableError,
)

CASES = [
    (McpToolNotFoundError("m"), NotFoundError, ErrorCategory.NOT_FOUND, False),
    (McpCallRefusedError("m"), InvalidRequestError, ErrorCategory.INVALID_REQUEST, False),
    (McpHandlerError("m"), ToolwareError, ErrorCategory.INTERNAL, False),
    (McpUnavailableError("m"), UnavailableError, ErrorCategory.UNAVAILABLE, True),
    (McpProtocolError("m", code=-32602), UnavailableError, ErrorCategory.UNAVAILABLE, False),
    (McpTimeoutError("m", limit=2.0), CallTimeoutError, ErrorCategory.TIMEOUT, False),
]


@pytest.mark.parametrize(("error", "native", "category", "retryable"), CASES)
def test_tree(
    error: McpCallError, native: type[ToolwareError], category: ErrorCategory, retryable: bool
) -> None:
    """Each is an McpCallError and the native error of its category."""
    assert isinstance(error, McpCallError)
    assert isinstance(error, native)
    assert error.category is category
    assert error.retryable is retryable
    assert error.hint  # every one says what to do
    assert str(error) == "m"  # the V1 message alone; the mixin adds "[ERROR] "
    assert error.to_dict()["hint"] == error.hint


def test_protocol_error_carries_the_code() -> None:
    error = McpProtocolError("broken", code=-32700)
    assert error.code == -32700
    assert error.to_dict()["code"] == -32700
    assert error.hint == "check that mcp_url is the server's MCP endpoint (streamable HTTP)"


def test_timeout_carries_the_limit() -> None:
    error = McpTimeoutError("slow", limit=1.5)
    assert error.to_dict()["limit"] == 1.5
    assert error.hint == "raise the transport's timeout, or make the tool faster"


@pytest.mark.parametrize(("error", "native", "category", "retryable"), CASES)
def test_pickles(
    error: McpCallError, native: type[ToolwareError], category: ErrorCategory, retryable: bool
) -> None:
    """Errors cross process pools (the pipeline's worker processes) intact."""
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert copy.to_dict() == error.to_dict()


def test_protocol_error_takes_the_common_options() -> None:
    error = McpProtocolError(
        "broken", code=-32600, hint="fix the server", retryable=True, target="fs.read"
    )
    assert (error.code, error.hint, error.retryable, error.target) == (
        -32600,
        "fix the server",
        True,
        "fs.read",
    )
