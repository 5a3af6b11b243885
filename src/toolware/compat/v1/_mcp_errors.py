"""The errors of the V1 MCP calls, in one tree under :class:`McpCallError`::

    McpCallError (ToolwareError)       str() is the V1 message, without the hint
    ├── McpToolNotFoundError           not_found         no handler with that tool id
    ├── McpCallRefusedError            invalid_request   the call is malformed: params that
    │                                                    are not an object, a tool id or
    │                                                    method that is not a string,
    │                                                    arguments that are not JSON
    ├── McpHandlerError                internal          the handler cannot take the call as
    │                                                    it is configured: no MCP URL, no
    │                                                    intent handling, no run method, a
    │                                                    URL that is not http(s)
    ├── McpUnavailableError            unavailable       the MCP server cannot be reached or
    │                                                    broke the protocol
    │   └── McpProtocolError           unavailable       it answered with a JSON-RPC error or
    │                                                    something that is not MCP; ``code``
    └── McpTimeoutError                timeout           no answer within ``limit`` seconds

Each also derives from the toolware error of its category (``NotFoundError``,
``InvalidRequestError``, ``UnavailableError``, ``CallTimeoutError``), so native handlers that
catch those catch these too. The V1 mixin answers ``(500, "[ERROR] " + str(error))`` for them
as V1 did for its ``ValueError`` s (a malformed call, ``invalid_request``, is a ``400``), so
``str()`` is the bare message (V1's text where V1 had one) and the hint is kept apart in
``hint`` and ``to_dict()``. A handler's misconfiguration is ``internal`` so that the mixin's
strict mode keeps V1's 500 for it.
"""

from __future__ import annotations

from typing import Any

from typing_extensions import Unpack

from toolware.errors import (
    CallTimeoutError,
    ErrorCategory,
    ErrorOptions,
    InvalidRequestError,
    NotFoundError,
    ToolwareError,
    UnavailableError,
)

__all__ = [
    "McpCallError",
    "McpCallRefusedError",
    "McpHandlerError",
    "McpProtocolError",
    "McpTimeoutError",
    "McpToolNotFoundError",
    "McpUnavailableError",
]


class McpCallError(ToolwareError):
    """An MCP call of the V1 mixin failed; ``str()`` is the message alone (the V1 text)."""

    def __str__(self) -> str:
        return self.message


class McpToolNotFoundError(McpCallError, NotFoundError):
    """No handler with that id in the workflow context's ``config_loader.tools`` nor in the
    tool registry."""

    default_hint = "call one of the available tools, or register the tool first"


class McpCallRefusedError(McpCallError, InvalidRequestError):
    """The call is malformed (params, tool id, method or arguments); nothing was called."""


class McpHandlerError(McpCallError):
    """The handler found cannot take the call as it is configured (no ``mcp_url`` and no
    ``local_mode``, no intent handling, no ``run``, a URL that is not http(s))."""

    category = ErrorCategory.INTERNAL
    default_hint = "fix the tool's configuration"


class McpUnavailableError(McpCallError, UnavailableError):
    """The MCP server cannot be reached (connection refused, reset, DNS) or broke the protocol."""


class McpProtocolError(McpUnavailableError):
    """The MCP server answered, but with a JSON-RPC error or with something that is not MCP
    (malformed JSON, an HTTP error status). ``code`` is the JSON-RPC error code."""

    default_retryable = False
    default_hint = "check that mcp_url is the server's MCP endpoint (streamable HTTP)"

    def __init__(self, message: str, *, code: int, **options: Unpack[ErrorOptions]) -> None:
        super().__init__(message, **options)
        self.code = code

    def details(self) -> dict[str, Any]:
        return {"code": self.code}


class McpTimeoutError(McpCallError, CallTimeoutError):
    """The MCP server did not answer within ``limit`` seconds; the call was abandoned."""

    default_hint = "raise the transport's timeout, or make the tool faster"
