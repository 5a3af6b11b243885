"""One ``tools/call`` on a replica, its failures mapped to toolware's error categories.

=================================  ==============================================
what happens                        the error
=================================  ==============================================
no answer within the timeout        ``timeout`` (the SDK sent notifications/cancelled)
the connection closes or breaks     ``unavailable``, retryable; the replica is down
a result that is not MCP, or does   ``unavailable``, not retryable
not fit the tool's outputSchema
JSON-RPC error -32602               ``invalid_request``
-32012..-32015 with a toolware      ``rate_limited``, ``circuit_open``, ``timeout``,
error as data (toolware's server)   ``unavailable``: category, ``retry_after`` and
                                    retryability kept
another JSON-RPC error              ``tool_failed`` with its code and message
=================================  ==============================================
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import anyio
import mcp_types
from mcp.shared.exceptions import MCPError
from pydantic import ValidationError

from toolware.clock import Clock
from toolware.context import RequestContext
from toolware.error_codes import JSONRPC_CODE
from toolware.errors import (
    CallTimeoutError,
    CircuitOpenError,
    ErrorCategory,
    InvalidRequestError,
    RateLimitedError,
    ToolFailedError,
    ToolwareError,
    UnavailableError,
)
from toolware.integrations.mcp._client_replica import Replica
from toolware.integrations.mcp._client_results import result_value
from toolware.propagation import inject_mcp_meta

__all__ = ["call_tool", "remaining_time"]


def remaining_time(
    name: str, request: RequestContext | None, clock: Clock, default: float
) -> float:
    """The call's time left before its deadline (``default`` without one)."""
    if request is None or request.deadline is None:
        return default
    remaining = request.deadline - clock.monotonic()
    if remaining <= 0:
        raise CallTimeoutError(
            f"{name!r} was not sent: its deadline had passed", limit=0.0, started=False
        )
    return remaining


async def call_tool(
    server: str,
    replica: Replica,
    name: str,
    wrapped: bool,
    request: RequestContext | None,
    arguments: Mapping[str, Any],
    read_timeout: float,
) -> Any:
    """Call ``name`` on ``replica`` (connected) and return the result's value."""
    client = replica.client
    if client is None:  # pragma: no cover - the caller picked a connected replica just now
        raise _lost(server, replica, name)
    meta = inject_mcp_meta(None, request=request).get("_meta")
    try:
        result = await client.call_tool(
            name, dict(arguments), read_timeout_seconds=read_timeout, meta=meta
        )
    except MCPError as exc:
        raise _protocol_error(server, exc, replica, name, read_timeout, request) from exc
    except (ValidationError, RuntimeError) as exc:
        raise UnavailableError(
            f"MCP server {server!r} (replica {replica.label}) returned a malformed result for "
            f"{name!r}: {type(exc).__name__}",
            hint="the server answered something that is not a valid MCP tool result",
            retryable=False,
        ) from exc
    except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError) as exc:
        replica.broken(f"the connection failed during a call ({type(exc).__name__})")
        raise _lost(server, replica, name) from exc
    return result_value(result, target=name, wrapped=wrapped)


def _lost(server: str, replica: Replica, name: str) -> UnavailableError:
    return UnavailableError(
        f"MCP server {server!r} (replica {replica.label}) closed the connection during the "
        f"call to {name!r}",
        hint="retry: the call goes to another replica, or this one once it reconnects",
    )


def _protocol_error(
    server: str,
    exc: MCPError,
    replica: Replica,
    name: str,
    timeout: float,
    request: RequestContext | None,
) -> Exception:
    code, message = exc.error.code, exc.error.message
    if code == mcp_types.CONNECTION_CLOSED:
        replica.broken("the connection closed during a call")
        return _lost(server, replica, name)
    if code == mcp_types.REQUEST_TIMEOUT:
        entry = request.entry if request is not None else None
        return CallTimeoutError(
            f"{name!r} did not answer within {timeout:.3g} s (MCP server {server!r}); the "
            "server was sent notifications/cancelled",
            limit=timeout,
            retryable=entry is not None and entry.may_repeat,
        )
    if code == mcp_types.INVALID_PARAMS:
        return InvalidRequestError(f"MCP server {server!r} refused the call to {name!r}: {message}")
    refusal = _remote_refusal(
        code, exc.error.data, f"MCP server {server!r} refused the call to {name!r}: {message}"
    )
    if refusal is not None:
        return refusal
    return ToolFailedError(
        f"MCP server {server!r} answered the call to {name!r} with error {code}: {message}"
    )


_KEPT = (
    ErrorCategory.RATE_LIMITED,
    ErrorCategory.CIRCUIT_OPEN,
    ErrorCategory.TIMEOUT,
    ErrorCategory.UNAVAILABLE,
)
"""Refusals a toolware server sends as JSON-RPC errors that decide what a caller does next
(wait, retry elsewhere); the others (unauthenticated, forbidden) are about this client's own
access to the server, not the caller's, and stay ``tool_failed``."""


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) and value >= 0 else None


def _remote_refusal(code: int, data: object, message: str) -> ToolwareError | None:
    """A toolware server's refusal, by its code and its typed error in ``data``, kept as
    its category; ``None`` for any other error (another server's use of the code)."""
    if not isinstance(data, Mapping):
        return None
    category = next((c for c in _KEPT if c.value == data.get("category")), None)
    if category is None or JSONRPC_CODE[category] != code:
        return None
    hint = data.get("hint") if isinstance(data.get("hint"), str) else None
    retryable = data.get("retryable") if isinstance(data.get("retryable"), bool) else None
    wait = _number(data.get("retry_after"))
    if category is ErrorCategory.RATE_LIMITED and wait is not None:
        return RateLimitedError(message, retry_after=wait, hint=hint, retryable=retryable)
    if category is ErrorCategory.CIRCUIT_OPEN and wait is not None:
        return CircuitOpenError(message, retry_after=wait, hint=hint, retryable=retryable)
    if category is ErrorCategory.TIMEOUT:
        limit = _number(data.get("limit"))
        return CallTimeoutError(
            message, limit=0.0 if limit is None else limit, hint=hint, retryable=retryable
        )
    if category is ErrorCategory.UNAVAILABLE:
        return UnavailableError(message, hint=hint, retryable=retryable)
    return None
