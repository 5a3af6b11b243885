"""The MCP calls of the V1 mixin: ``use_mcp_direct`` and ``use_mcp_workflow``.

:class:`McpCalls` is what the mixin delegates to; it is synchronous like V1 and raises
:class:`McpCallError` subclasses whose ``str()`` is the message the mixin shows after
``"[ERROR] "`` (status 500; a malformed call, :class:`McpCallRefusedError`, is a 400).

Direct calls (``{"mcp": {"tool": t, "method": m, "params": p}}``):

1. the handler is looked up by tool id (``lookup``: the workflow context's
   ``config_loader.tools`` first, then the tool registry); none →
   ``"Tool '<id>' not found in registry. Available tools: [...]"`` (V1's text);
2. ``params`` may be a dict, ``None`` (``{}``), or a string holding a JSON object or a Python
   dict literal (agents often send one; V1 parsed it the same way); anything else, or a string
   that is neither, is refused (**Fix**: V1 replaced an unreadable string by ``{}``);
3. a handler with a truthy ``local_mode`` is called in process at ``"local://<id>"``; else one
   with an ``mcp_url`` at that URL; else ``"Tool '<id>' has no MCP URL configuration"`` (V1's
   text; V1 also guessed local mode from class names containing "mcp", "filesystem", "forms"
   or "github", which the adapter does not do: set ``local_mode``);
4. the transport gets ``(url, {"name": method, "arguments": params})`` and its result is
   returned as it is; nothing is retried;
5. a dict result is logged through ``log`` as V1 did (the host adds ``"Agent <name>: "``):

   - a truthy ``critical``: ``"CRITICAL MCP TOOL FAILURE: <tool>.<method> - <error>"``,
     level ``"error"`` (``<error>`` is the result's ``error``, or ``Unknown error``);
   - else ``error_type == "parameter_validation_error"``:
     ``"Parameter validation failed for <tool>.<method>: <guidance>"``, level ``"warning"``
     (``<guidance>`` defaults to ``Parameter validation failed``), then
     ``"Retry enabled for <tool>.<method> - agent should correct parameters and try again"``
     (``"info"``) or, when ``retry_enabled`` is false,
     ``"Retry disabled for <tool>.<method> - agent will receive error without retry
     suggestion"`` (``"warning"``).

   An error result (``{"error": {...}}``) is otherwise an ordinary result: status 201.
   V1 logged these lines from ``to_middleware`` only, with an emoji before ``CRITICAL``; the
   adapter logs them for every direct call (``use_mcp_direct`` too), without the emoji.

Intent calls (``{"mcp": {"tool": t, "intent": i, "context": c}}``): the handler's
``handle_intent(intent, context)`` when it has one, else the adapter's ``intent_resolver``,
else :class:`McpHandlerError`. V1 ran a workflow file shipped next to the tool with the
input :func:`intent_input` builds; a resolver that does the same passes that string on.

The default transport (:func:`default_transport`) runs ``local://`` calls in process as V1 did
(see :mod:`toolware.compat.v1._mcp_local`) and sends the others over MCP streamable HTTP
(:class:`toolware.compat.v1.transport.McpHttpTransport`, whose SDK is imported on the first
remote call only). V1 tool servers that predate MCP (``POST <base>/<task>``) are called with
``default_transport(lookup, remote=TaskHttpTransport())`` (:mod:`._mcp_task_http`).
"""

from __future__ import annotations

import ast
import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from toolware.compat.v1._mcp_errors import (
    McpCallError,
    McpCallRefusedError,
    McpHandlerError,
    McpProtocolError,
    McpTimeoutError,
    McpToolNotFoundError,
    McpUnavailableError,
)
from toolware.compat.v1._mcp_local import call_local, tool_call
from toolware.compat.v1._mcp_task_http import TaskHttpTransport

if TYPE_CHECKING:
    from toolware.compat.v1.transport import McpHttpTransport

__all__ = [
    "LOCAL_SCHEME",
    "IntentResolver",
    "McpCallError",
    "McpCallRefusedError",
    "McpCalls",
    "McpHandlerError",
    "McpProtocolError",
    "McpTimeoutError",
    "McpToolNotFoundError",
    "McpUnavailableError",
    "TaskHttpTransport",
    "Transport",
    "default_transport",
    "intent_input",
]

Transport = Callable[[str, dict[str, Any]], Any]
"""``transport(mcp_url, payload) -> result``. ``mcp_url`` is ``"local://<tool id>"`` for
local-mode handlers and the handler's ``mcp_url`` otherwise; ``payload`` is
``{"name": method, "arguments": params}``."""

LOCAL_SCHEME = "local://"
"""The URL prefix of in-process (local-mode) calls."""


class IntentResolver(Protocol):
    """Runs an intent for a tool that has no ``handle_intent``: what V1's per-tool workflow
    did. Gets the tool id, its handler, the intent and the context (``""`` when none)."""

    def __call__(self, tool_id: str, handler: object, intent: str, context: str) -> Any: ...


def intent_input(intent: str, context: str = "") -> str:
    """The input V1 gave an intent workflow: ``"Intent: <intent>"``, plus
    ``"\\nContext: <context>"`` when there is a context."""
    return f"Intent: {intent}\nContext: {context}" if context else f"Intent: {intent}"


class McpCalls:
    """The MCP side of the V1 mixin (see the module docstring for the exact behaviour).

    ``lookup(tool_id)`` returns the handler or ``None``; ``available()`` lists the ids shown
    when a tool is not found; ``log(message, level)`` is the host's logger. ``transport``
    defaults to :func:`default_transport` over ``lookup``.
    """

    def __init__(
        self,
        *,
        lookup: Callable[[str], object | None],
        available: Callable[[], list[str]],
        log: Callable[[str, str], None],
        transport: Transport | None = None,
        intent_resolver: IntentResolver | None = None,
    ) -> None:
        for option, value in (("lookup", lookup), ("available", available), ("log", log)):
            if not callable(value):
                raise TypeError(f"{option} must be callable, not {type(value).__name__}")
        for option, optional in (("transport", transport), ("intent_resolver", intent_resolver)):
            if optional is not None and not callable(optional):
                kind = type(optional).__name__
                raise TypeError(f"{option} must be callable or None, not {kind}")
        self._lookup = lookup
        self._available = available
        self._log = log
        self._transport = default_transport(lookup) if transport is None else transport
        self._intent_resolver = intent_resolver

    def direct(self, tool_id: str, method: str, params: Mapping[str, Any]) -> Any:
        """V1 ``use_mcp_direct``: the transport's result (a dict)."""
        handler = self._handler(tool_id)
        if not isinstance(method, str):
            raise McpCallRefusedError(
                f"MCP 'method' must be a string, not {type(method).__name__}",
                hint='send {"mcp": {"tool": ..., "method": "<name>", "params": {...}}}',
            )
        arguments = _arguments(tool_id, method, params)
        url = _url(tool_id, handler)
        result = self._transport(url, {"name": method, "arguments": arguments})
        if isinstance(result, dict):
            self._log_result(tool_id, method, result)
        return result

    def intent(self, tool_id: str, intent: str, context: str = "") -> Any:
        """V1 ``use_mcp_workflow``: the result of the handler's ``handle_intent``, else of
        the intent resolver."""
        handler = self._handler(tool_id)
        if context is None:
            context = ""
        for field, value in (("intent", intent), ("context", context)):
            if not isinstance(value, str):
                raise McpCallRefusedError(
                    f"MCP '{field}' must be a string, not {type(value).__name__}",
                    hint='send {"mcp": {"tool": ..., "intent": "<text>", "context": "<text>"}}',
                )
        handle_intent = getattr(handler, "handle_intent", None)
        if callable(handle_intent):
            return handle_intent(intent, context)
        if self._intent_resolver is not None:
            return self._intent_resolver(tool_id, handler, intent, context)
        raise McpHandlerError(
            f"Tool '{tool_id}' cannot handle intents: it has no handle_intent(intent, context) "
            "and no intent resolver is configured",
            hint="give the tool a handle_intent method, pass intent_resolver= to the adapter, "
            "or call a method directly",
        )

    def _handler(self, tool_id: str) -> object:
        if not isinstance(tool_id, str):
            raise McpCallRefusedError(
                f"MCP 'tool' must be a string, not {type(tool_id).__name__}",
                hint='send {"mcp": {"tool": "<tool id>", ...}}',
            )
        handler = self._lookup(tool_id)
        if handler is None:
            raise McpToolNotFoundError(
                f"Tool '{tool_id}' not found in registry. Available tools: {self._available()}"
            )
        return handler

    def _log_result(self, tool_id: str, method: str, result: dict[str, Any]) -> None:
        call = f"{tool_id}.{method}"
        if result.get("critical"):
            error = result.get("error", "Unknown error")
            self._log(f"CRITICAL MCP TOOL FAILURE: {call} - {error}", "error")
        elif result.get("error_type") == "parameter_validation_error":
            guidance = result.get("guidance", "Parameter validation failed")
            self._log(f"Parameter validation failed for {call}: {guidance}", "warning")
            if result.get("retry_enabled", True):
                self._log(
                    f"Retry enabled for {call} - agent should correct parameters and try again",
                    "info",
                )
            else:
                self._log(
                    f"Retry disabled for {call} - agent will receive error without retry "
                    "suggestion",
                    "warning",
                )


def _arguments(tool_id: str, method: str, params: object) -> dict[str, Any]:
    if params is None:
        return {}
    if isinstance(params, Mapping):
        return dict(params)
    if isinstance(params, str):
        parsed = _parsed_params(params)
        if isinstance(parsed, dict):
            return parsed
        raise McpCallRefusedError(
            f"MCP params of {tool_id}.{method} are a string that is not a JSON object",
            hint='send params as an object: "params": {"name": "value"}',
        )
    raise McpCallRefusedError(
        f"MCP params of {tool_id}.{method} must be a dict, not {type(params).__name__}",
        hint='send params as an object: "params": {"name": "value"}',
    )


def _parsed_params(text: str) -> object:
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        # Python literals only (no calls, no names): what V1 accepted for "{'path': '/tmp'}".
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None


def _url(tool_id: str, handler: object) -> str:
    if getattr(handler, "local_mode", False):
        return LOCAL_SCHEME + tool_id
    mcp_url = getattr(handler, "mcp_url", None)
    if isinstance(mcp_url, str) and mcp_url:
        return mcp_url
    raise McpHandlerError(
        f"Tool '{tool_id}' has no MCP URL configuration",
        hint="set the handler's mcp_url, or local_mode = True to call it in process",
    )


class _DefaultTransport:
    """``local://<id>`` in process through ``lookup``; anything else over MCP."""

    def __init__(self, lookup: Callable[[str], object | None], remote: Transport | None) -> None:
        self._lookup = lookup
        self._remote = remote

    def __call__(self, mcp_url: str, payload: dict[str, Any]) -> Any:
        if isinstance(mcp_url, str) and mcp_url.startswith(LOCAL_SCHEME):
            tool_id = mcp_url.removeprefix(LOCAL_SCHEME)
            name, arguments = tool_call(payload)
            handler = self._lookup(tool_id)
            if handler is None:
                raise McpToolNotFoundError(f"Local server '{tool_id}' not found")
            return call_local(tool_id, handler, name, arguments)
        if self._remote is None:
            self._remote = _http_transport()
        return self._remote(mcp_url, payload)


def _http_transport() -> McpHttpTransport:
    # Imported here: the MCP SDK costs its import time only to those who call a remote tool.
    from toolware.compat.v1.transport import McpHttpTransport

    return McpHttpTransport()


def default_transport(
    lookup: Callable[[str], object | None], *, remote: Transport | None = None
) -> Transport:
    """The transport :class:`McpCalls` uses by default: ``local://<tool id>`` calls the
    handler ``lookup`` finds in process (as V1 did: ``call_task``, ``run_async`` or ``run``);
    other URLs go to ``remote``, by default an
    :class:`~toolware.compat.v1.transport.McpHttpTransport` (MCP over streamable HTTP, 60 s
    timeout) made on the first remote call."""
    return _DefaultTransport(lookup, remote)
