"""MCP calls of the V1 mixin: ``use_mcp_direct`` and ``use_mcp_workflow`` (first version)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from toolware.errors import ErrorCategory, ToolwareError

__all__ = [
    "IntentResolver",
    "McpCallError",
    "McpCalls",
    "Transport",
    "default_transport",
]

Transport = Callable[[str, dict[str, Any]], Any]
"""``transport(mcp_url, payload) -> result``. ``mcp_url`` is ``"local://<tool id>"`` for
local-mode handlers and the handler's ``mcp_url`` otherwise; ``payload`` is
``{"name": method, "arguments": params}``."""


class IntentResolver(Protocol):
    """Turns an intent for a tool without ``handle_intent`` into a result."""

    def __call__(self, tool_id: str, handler: object, intent: str, context: str) -> Any: ...


class McpCallError(ToolwareError):
    """An MCP call of the V1 mixin failed; ``str()`` is the V1 message."""

    category = ErrorCategory.TOOL_FAILED

    def __str__(self) -> str:
        return self.message


class McpCalls:
    """The MCP side of the V1 mixin."""

    def __init__(
        self,
        *,
        lookup: Callable[[str], object | None],
        available: Callable[[], list[str]],
        log: Callable[[str, str], None],
        transport: Transport | None = None,
        intent_resolver: IntentResolver | None = None,
    ) -> None:
        self._lookup = lookup
        self._available = available
        self._log = log
        self._transport = default_transport(lookup) if transport is None else transport
        self._intent_resolver = intent_resolver

    def _handler(self, tool_id: str) -> object:
        handler = self._lookup(tool_id)
        if handler is None:
            raise McpCallError(
                f"Tool '{tool_id}' not found in registry. Available tools: {self._available()}"
            )
        return handler

    def direct(self, tool_id: str, method: str, params: Mapping[str, Any]) -> Any:
        """V1 ``use_mcp_direct``."""
        handler = self._handler(tool_id)
        if getattr(handler, "local_mode", False):
            url = f"local://{tool_id}"
        else:
            url = str(getattr(handler, "mcp_url", ""))
        return self._transport(url, {"name": method, "arguments": dict(params)})

    def intent(self, tool_id: str, intent: str, context: str = "") -> Any:
        """V1 ``use_mcp_workflow``."""
        handler = self._handler(tool_id)
        handle_intent = getattr(handler, "handle_intent", None)
        if callable(handle_intent):
            return handle_intent(intent, context)
        if self._intent_resolver is not None:
            return self._intent_resolver(tool_id, handler, intent, context)
        raise McpCallError(f"Tool '{tool_id}' cannot handle intents")


def default_transport(lookup: Callable[[str], object | None]) -> Transport:
    """``local://`` in process; other URLs over MCP (to come)."""

    def transport(mcp_url: str, payload: dict[str, Any]) -> Any:
        if mcp_url.startswith("local://"):
            handler = lookup(mcp_url.removeprefix("local://"))
            run = getattr(handler, "run", None)
            if not callable(run):
                raise McpCallError(f"Tool '{mcp_url}' has no run method")
            return run({"method": payload["name"], "params": payload["arguments"]})
        raise McpCallError(f"MCP over {mcp_url!r} is not available yet")

    return transport
