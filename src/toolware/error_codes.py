"""What each error category becomes on each transport: one table per transport, at the boundary.

Errors carry a category and ``retryable``; HTTP, JSON-RPC/MCP and the command line each map the
category to their own code here, so a transport never reads codes off the error classes and a
new transport adds a table instead of a class attribute. Every table covers every category (a
test checks it)::

    category          HTTP   JSON-RPC / MCP tools/call                         CLI exit
    invalid_request   422    CallToolResult, isError: true (MCP 2025-11-25)     1
    not_found         404    -32602 Invalid params (unknown tool)               1
    unauthenticated   401    -32010                                             1
    forbidden         403    -32011                                             1
    rate_limited      429    -32012                                             1
    circuit_open      503    -32013                                             1
    timeout           504    -32014                                             1
    unavailable       503    -32015                                             1
    tool_failed       502    CallToolResult, isError: true                      1
    cancelled         499    no response (notifications/cancelled)              1
    internal          500    -32603 Internal error                              1

JSON-RPC/MCP, following the MCP specification (2025-11-25, "Tools: Error Handling"):

- A tool that ran and failed is not a protocol error: the server answers with a
  ``CallToolResult`` whose ``isError`` is true, so the model sees the message and can correct
  itself. Since 2025-11-25 (SEP-1303) the same holds for input validation errors, which is what
  ``invalid_request`` is inside toolware (a malformed ``tools/call`` request is refused by the
  MCP layer before it reaches the pipeline). Servers speaking 2025-06-18 may answer -32602
  instead; :data:`JSONRPC_CODE` is the one place to change.
- An unknown tool is a protocol error, -32602 Invalid params; a bug is -32603 Internal error.
- Cancellation is a ``notifications/cancelled`` notification, and the spec asks the receiver not
  to answer the cancelled request at all: there is no code for it.
- The other categories use the implementation-defined server error range -32000..-32099,
  in a block (-32010..-32015) clear of the codes the MCP specification and SDKs already use
  (-32000 connection closed, -32001 request timeout, -32002 resource not found, -32042 URL
  elicitation required).

The CLI exits 1 for every failed call (the category, message and hint go to stderr, and
``--json`` output carries the category for scripts), 2 for usage errors, 130 when interrupted.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import msgspec

from toolware.errors import ErrorCategory, ToolwareError

__all__ = [
    "EXIT_CALL_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_STATUS",
    "EXIT_USAGE",
    "HTTP_STATUS",
    "JSONRPC_CODE",
    "JSONRPC_INTERNAL_ERROR",
    "JSONRPC_INVALID_PARAMS",
    "MCP_SPEC_VERSION",
    "JsonRpcError",
    "exit_status",
    "http_status",
    "jsonrpc_code",
    "jsonrpc_error",
]

_C = ErrorCategory

MCP_SPEC_VERSION = "2025-11-25"
"""The MCP specification revision :data:`JSONRPC_CODE` follows."""
JSONRPC_INVALID_PARAMS = -32602
JSONRPC_INTERNAL_ERROR = -32603

HTTP_STATUS: Mapping[ErrorCategory, int] = MappingProxyType(
    {
        _C.INVALID_REQUEST: 422,
        _C.NOT_FOUND: 404,
        _C.UNAUTHENTICATED: 401,
        _C.FORBIDDEN: 403,
        _C.RATE_LIMITED: 429,
        _C.CIRCUIT_OPEN: 503,
        _C.TIMEOUT: 504,
        _C.UNAVAILABLE: 503,
        _C.TOOL_FAILED: 502,
        _C.CANCELLED: 499,  # nginx's "client closed request": nobody reads it, but logs do
        _C.INTERNAL: 500,
    }
)
"""The HTTP status of a failed call, by category."""

JSONRPC_CODE: Mapping[ErrorCategory, int | None] = MappingProxyType(
    {
        _C.INVALID_REQUEST: None,  # CallToolResult with isError: true (SEP-1303)
        _C.NOT_FOUND: JSONRPC_INVALID_PARAMS,
        _C.UNAUTHENTICATED: -32010,
        _C.FORBIDDEN: -32011,
        _C.RATE_LIMITED: -32012,
        _C.CIRCUIT_OPEN: -32013,
        _C.TIMEOUT: -32014,
        _C.UNAVAILABLE: -32015,
        _C.TOOL_FAILED: None,  # CallToolResult with isError: true
        _C.CANCELLED: None,  # no response: the client sent notifications/cancelled
        _C.INTERNAL: JSONRPC_INTERNAL_ERROR,
    }
)
"""The JSON-RPC error code an MCP server answers ``tools/call`` with, by category; ``None``
where the specification says the failure is not a JSON-RPC error (see the module docstring)."""

EXIT_OK = 0
EXIT_CALL_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what a shell reports for Ctrl-C

EXIT_STATUS: Mapping[ErrorCategory, int] = MappingProxyType(dict.fromkeys(_C, EXIT_CALL_FAILED))
"""The ``toolware`` command's exit status for a failed call, by category. One status for all:
scripts tell failure from usage errors by the status and read the category from the output."""


class JsonRpcError(msgspec.Struct, frozen=True, kw_only=True):
    """The ``error`` member of a JSON-RPC response: ``code``, ``message`` and ``data``
    (the error's ``to_dict()``, which is bounded and carries no arguments)."""

    code: int
    message: str
    data: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "data": dict(self.data)}


def _category(error: ToolwareError | ErrorCategory) -> ErrorCategory:
    if isinstance(error, ToolwareError):
        return error.category
    if isinstance(error, ErrorCategory):
        return error
    raise TypeError(f"expected a ToolwareError or an ErrorCategory, got {type(error).__name__}")


def http_status(error: ToolwareError | ErrorCategory) -> int:
    """The HTTP status for a failed call (see :data:`HTTP_STATUS`)."""
    return HTTP_STATUS[_category(error)]


def jsonrpc_code(error: ToolwareError | ErrorCategory) -> int | None:
    """The JSON-RPC error code, or ``None`` when MCP reports the failure another way."""
    return JSONRPC_CODE[_category(error)]


def jsonrpc_error(error: ToolwareError) -> JsonRpcError | None:
    """The JSON-RPC ``error`` member for ``error``, or ``None`` when the MCP specification says
    it is not a protocol error: ``tool_failed`` and ``invalid_request`` are answered with a
    ``CallToolResult`` whose ``isError`` is true, and a ``cancelled`` call gets no response."""
    code = JSONRPC_CODE[_category(error)]
    if code is None:
        return None
    return JsonRpcError(code=code, message=error.message, data=error.to_dict())


def exit_status(error: ToolwareError | ErrorCategory) -> int:
    """The ``toolware`` command's exit status for a failed call (see :data:`EXIT_STATUS`)."""
    return EXIT_STATUS[_category(error)]
