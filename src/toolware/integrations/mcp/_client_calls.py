"""One ``tools/call`` on a replica, its failures mapped to toolware's error categories.

=================================  ==============================================
what happens                        the error
=================================  ==============================================
no answer within the timeout        ``timeout`` (the SDK sent notifications/cancelled)
the connection closes or breaks     ``unavailable``, retryable; the replica is down
a result that is not MCP, or does   ``unavailable``, not retryable
not fit the tool's outputSchema
JSON-RPC error -32602               ``invalid_request``
another JSON-RPC error              ``tool_failed`` with its code and message
=================================  ==============================================
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import anyio
import mcp_types
from mcp.shared.exceptions import MCPError
from pydantic import ValidationError

from toolware.clock import Clock
from toolware.context import RequestContext
from toolware.errors import CallTimeoutError, InvalidRequestError, ToolFailedError, UnavailableError
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
    return ToolFailedError(
        f"MCP server {server!r} answered the call to {name!r} with error {code}: {message}"
    )
