"""V1 tool servers over plain HTTP: :class:`TaskHttpTransport`.

A V1 tool server (``BaseMCPToolServer.build_app()``, FastAPI) served each task as
``POST <base>/<task>`` with the task's arguments as the JSON body, answering the task's output
model as JSON (and ``GET <base>/schema``). It did not speak MCP, and V1's own direct call
(which POSTed ``{"name", "arguments"}`` to ``mcp_url`` itself) did not match those routes. This
transport calls such servers as they are, with ``mcp_url`` as the base URL, so V1 tool servers
keep serving during a migration::

    McpCalls(..., transport=default_transport(lookup, remote=TaskHttpTransport()))

Answers, following V1's ``mcp_call``:

- 2xx with a JSON object → that object; other JSON → ``{"content": <body text>}``;
- an HTTP error status (the task raised: FastAPI answers 500 with ``{"detail": ...}``; 422 for
  bad arguments; 404 for an unknown task) → the V1 error result
  ``{"error": {"message": <detail or body>, "code": <status>}}``, with ``"retryable": True`` for
  5xx as V1 had it: the model reads it (status 201 from the mixin);
- a body that is not JSON → :class:`McpProtocolError` (code -32700); no connection →
  :class:`McpUnavailableError`; no answer within ``timeout`` seconds (for the connection and
  for each read) → :class:`McpTimeoutError`.

Standard library only (``urllib``): no extra needed. Synchronous; the caller's trace context
goes out as ``traceparent``/``tracestate`` headers.
"""

from __future__ import annotations

import http.client
import json
import math
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit

from toolware._limits import bounded
from toolware.compat.v1._mcp_errors import (
    McpCallRefusedError,
    McpHandlerError,
    McpProtocolError,
    McpTimeoutError,
    McpUnavailableError,
)
from toolware.compat.v1._mcp_local import tool_call
from toolware.errors import describe_exception
from toolware.propagation import inject_http_headers

__all__ = ["TaskHttpTransport"]

PARSE_ERROR = -32700  # JSON-RPC's code for a reply that is not JSON
_MAX_ERROR_BODY = 500  # characters of an error body kept in the error result


class TaskHttpTransport:
    """``transport(mcp_url, payload) -> dict`` for V1 tool servers: ``POST <mcp_url>/<name>``
    with the arguments as the JSON body. ``timeout`` bounds the connection and each read;
    ``headers`` go with every request."""

    def __init__(self, *, timeout: float = 60.0, headers: Mapping[str, str] | None = None) -> None:
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
        name, arguments = tool_call(payload)
        shown = _shown_url(mcp_url)
        try:
            body = json.dumps(arguments).encode()
        except (TypeError, ValueError) as exc:
            raise McpCallRefusedError(
                f"MCP arguments of '{name}' cannot be sent: {describe_exception(exc)}",
                hint="pass only JSON values (str, int, float, bool, None, list, dict) as params",
            ) from None
        headers = inject_http_headers(
            {**self.headers, "content-type": "application/json", "accept": "application/json"}
        )
        request = urllib.request.Request(
            f"{mcp_url.rstrip('/')}/{quote(name, safe='')}",
            data=body,
            headers=dict(headers),
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                return _result(answer.read(), shown, name)
        except urllib.error.HTTPError as exc:
            return _error_result(exc.code, exc.read())
        except TimeoutError as exc:
            raise self._timed_out(shown, name) from exc
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError):  # a connect timeout, wrapped by urllib
                raise self._timed_out(shown, name) from exc
            raise McpUnavailableError(
                f"V1 tool server at {shown} cannot be reached: {_reason(exc)}"
            ) from exc
        except (OSError, http.client.HTTPException) as exc:
            # The connection broke after the answer began (reset, a body cut short).
            raise McpUnavailableError(
                f"V1 tool server at {shown} cannot be reached: {describe_exception(exc)}"
            ) from exc

    def _timed_out(self, shown: str, name: str) -> McpTimeoutError:
        return McpTimeoutError(
            f"V1 tool server at {shown} did not answer task '{name}' within {self.timeout:g} s",
            limit=self.timeout,
        )


def _reason(exc: urllib.error.URLError) -> str:
    reason = exc.reason
    return describe_exception(reason) if isinstance(reason, BaseException) else str(reason)


def _shown_url(url: object) -> str:
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise McpHandlerError(
            f"Cannot call V1 tool server URL {url!r}: only http:// and https:// URLs are supported",
            hint="set the handler's mcp_url to the tool server's base URL",
        )
    port = f":{parts.port}" if parts.port is not None else ""
    return f"{parts.scheme}://{parts.hostname}{port}{parts.path}"


def _result(body: bytes, shown: str, name: str) -> dict[str, Any]:
    text = body.decode("utf-8", errors="replace")
    try:
        value = json.loads(text)
    except ValueError:
        raise McpProtocolError(
            f"V1 tool server at {shown} answered task '{name}' with a body that is not JSON",
            code=PARSE_ERROR,
        ) from None
    return value if isinstance(value, dict) else {"content": text}


def _error_result(status: int, body: bytes) -> dict[str, Any]:
    text = body.decode("utf-8", errors="replace")
    message = text
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and "detail" in parsed:
        detail = parsed["detail"]
        message = detail if isinstance(detail, str) else json.dumps(detail)
    error: dict[str, Any] = {"message": bounded(message, _MAX_ERROR_BODY), "code": status}
    if status >= 500:
        error["retryable"] = True
    return {"error": error}
