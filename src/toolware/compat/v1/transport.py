"""The remote half of the V1 MCP transport: ``tools/call`` over MCP streamable HTTP.

:class:`McpHttpTransport` is a :data:`~toolware.compat.v1.mcp.Transport`:
``transport(mcp_url, {"name": method, "arguments": params}) -> dict``. Each call opens a
session with the official ``mcp`` SDK client (``mcp.client.Client`` over
``streamable_http_client``: protocol negotiation, then one ``tools/call``, then the session is
closed), as V1 made one HTTP request per call. The W3C trace context of the caller goes out in
``params._meta`` (:func:`toolware.propagation.inject_mcp_meta`).

The result becomes a dict as :mod:`toolware.compat.v1._mcp_results` describes (structured
content, else a JSON object in the text, else ``{"content": text}``; a tool error is the V1
error result ``{"error": {...}}``). A call that cannot complete raises, never hangs:

- connection refused, reset, DNS failure → :class:`McpUnavailableError` (retryable);
- a JSON-RPC error, malformed JSON, an HTTP error status, a result that is not MCP →
  :class:`McpProtocolError` (with the JSON-RPC ``code``);
- no answer within ``timeout`` seconds → :class:`McpTimeoutError`.

What V1 servers speak: a V1 tool server (``BaseMCPToolServer.build_app()``) served each task
as ``POST <base>/<task>`` with the arguments as the body, not MCP; V1's own remote call POSTed
``{"name", "arguments"}`` to ``mcp_url``. Servers that speak MCP (current V1 tool servers, and
every MCP server) take this transport; V1 task servers take
:class:`~toolware.compat.v1.mcp.TaskHttpTransport`
(``default_transport(lookup, remote=TaskHttpTransport())``).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from toolware.compat.v1._mcp_errors import (
    McpCallError,
    McpCallRefusedError,
    McpHandlerError,
    McpProtocolError,
    McpTimeoutError,
    McpUnavailableError,
)
from toolware.compat.v1._mcp_local import tool_call
from toolware.compat.v1._mcp_results import result_to_dict
from toolware.compat.v1._mcp_sync import run_coroutine
from toolware.errors import describe_exception
from toolware.propagation import inject_mcp_meta

try:
    import httpx2
    import mcp_types
    from mcp.client.client import Client
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared.exceptions import MCPError
    from pydantic import ValidationError
except ImportError as exc:  # pragma: no cover - the extra is installed in development
    raise ImportError(
        "toolware.compat.v1.transport needs the MCP SDK: pip install 'toolware[mcp]'"
    ) from exc

__all__ = ["DEFAULT_TIMEOUT", "McpHttpTransport"]

logger = logging.getLogger("toolware.compat.v1")

DEFAULT_TIMEOUT = 60.0
"""Seconds a remote call may take, the V1 host's default ``timeout``."""


class McpHttpTransport:
    """``transport(mcp_url, payload) -> dict`` over MCP streamable HTTP (http:// and https://).

    ``timeout`` bounds the whole call (connection, negotiation and ``tools/call``); ``headers``
    go with every HTTP request (``{"Authorization": "Bearer ..."}``). Synchronous, and safe to
    call from any thread, including one whose event loop is running: the SDK's async client
    runs on a private loop in a private thread.
    """

    def __init__(
        self, *, timeout: float = DEFAULT_TIMEOUT, headers: Mapping[str, str] | None = None
    ) -> None:
        if isinstance(timeout, bool) or not isinstance(timeout, int | float):
            raise TypeError(f"timeout must be a number of seconds, not {type(timeout).__name__}")
        if not math.isfinite(timeout) or timeout <= 0:
            raise ValueError(f"timeout must be a finite number of seconds above 0, not {timeout}")
        if headers is not None and not all(
            isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
        ):
            raise TypeError("headers must map str names to str values")
        self.timeout = float(timeout)
        self.headers: dict[str, str] = dict(headers or {})

    def __call__(self, mcp_url: str, payload: dict[str, Any]) -> dict[str, Any]:
        shown = _shown_url(mcp_url)
        name, arguments = tool_call(payload)
        _check_serialisable(name, arguments)
        meta = inject_mcp_meta().get("_meta")
        try:
            result = run_coroutine(
                lambda: self._call(mcp_url, name, arguments, meta), timeout=self.timeout
            )
        except TimeoutError:
            raise McpTimeoutError(
                f"MCP server at {shown} did not answer tools/call '{name}' within "
                f"{self.timeout:g} s",
                limit=self.timeout,
            ) from None
        except Exception as exc:
            error = _mapped(exc, shown, name, self.timeout)
            logger.warning(
                "compat.v1.mcp_remote_failed url=%s tool=%s category=%s",
                shown,
                name,
                error.category.value,
                extra={"url": shown, "tool": name, "category": error.category.value},
            )
            raise error from exc
        return result_to_dict(result)

    async def _call(
        self, url: str, name: str, arguments: dict[str, Any], meta: Any
    ) -> mcp_types.CallToolResult:
        # As the SDK makes its default client (redirects off), with our timeout and headers.
        http = httpx2.AsyncClient(headers=self.headers, timeout=httpx2.Timeout(self.timeout))
        async with (
            http,
            Client(streamable_http_client(url, http_client=http), cache=None) as client,
        ):
            return await client.call_tool(name, arguments, meta=meta)


def _shown_url(url: object) -> str:
    """The URL for messages, without credentials or query (API keys live there); refused
    unless it is an http(s) URL."""
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise McpHandlerError(
            f"Cannot call MCP URL {url!r}: only http:// and https:// URLs are supported",
            hint="set the handler's mcp_url to the server's streamable HTTP endpoint, "
            "or local_mode = True to call it in process",
        )
    port = f":{parts.port}" if parts.port is not None else ""
    return f"{parts.scheme}://{parts.hostname}{port}{parts.path}"


def _check_serialisable(name: str, arguments: dict[str, Any]) -> None:
    try:
        json.dumps(arguments)
    except (TypeError, ValueError) as exc:
        raise McpCallRefusedError(
            f"MCP arguments of '{name}' cannot be sent: {describe_exception(exc)}",
            hint="pass only JSON values (str, int, float, bool, None, list, dict) as params",
        ) from None


def _leaf(exc: BaseException) -> BaseException:
    """The first real error inside the SDK's (nested) task-group exception groups."""
    while isinstance(exc, BaseExceptionGroup):  # never empty: the constructor refuses that
        exc = exc.exceptions[0]
    return exc


def _mapped(exc: BaseException, shown: str, name: str, limit: float) -> McpCallError:
    leaf = _leaf(exc)
    if isinstance(leaf, MCPError):
        if leaf.code == mcp_types.PARSE_ERROR:
            return McpProtocolError(
                f"MCP server at {shown} sent a reply that is not JSON-RPC: "
                f"{leaf.message.partition(chr(10))[0]}",
                code=leaf.code,
            )
        return McpProtocolError(
            f"MCP server at {shown} answered the call of '{name}' with error {leaf.code}: "
            f"{leaf.message}",
            code=leaf.code,
        )
    if isinstance(leaf, httpx2.TimeoutException | TimeoutError):
        return McpTimeoutError(
            f"MCP server at {shown} did not answer tools/call '{name}' in time: "
            f"{describe_exception(leaf)}",
            limit=limit,
        )
    if isinstance(leaf, httpx2.TransportError | OSError):
        return McpUnavailableError(
            f"MCP server at {shown} cannot be reached: {describe_exception(leaf)}"
        )
    if isinstance(leaf, ValidationError):
        return McpProtocolError(
            f"MCP server at {shown} sent a tools/call result that is not MCP: "
            f"{leaf.error_count()} validation error(s)",
            code=mcp_types.INTERNAL_ERROR,
        )
    return McpProtocolError(
        f"MCP call to {shown} failed: {describe_exception(leaf)}",
        code=mcp_types.INTERNAL_ERROR,
    )
