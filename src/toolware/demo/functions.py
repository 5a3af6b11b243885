"""Function calling in the OpenAI shape, for the demo: a thin layer over
:mod:`toolware.integrations.openai`.

Function names cannot contain dots, so a plugin action ``notes.add`` is offered as
``notes__add``. Each tool-call answer goes back as a ``{"role": "tool", ...}`` message whose
content is the value as JSON (:func:`toolware.encoding.to_json`), or
``{"error": {"category", "message", "hint", ...}}``, with ``retry_after`` (seconds, to the
millisecond) when the error says how long to wait (``rate_limited``, ``circuit_open``). A
streamed answer is sent whole, as the list of its chunks; when the stream failed, the chunks
received before the error go with it as ``partial_chunks``.
"""

from __future__ import annotations

from typing import Any

from toolware.context import ResponseContext
from toolware.errors import ToolwareError
from toolware.integrations._answers import content_of, error_payload
from toolware.integrations._routes import Route, route_for, routes
from toolware.integrations.openai import chat_tools
from toolware.registry.base import Registry
from toolware.registry.names import function_name

__all__ = [
    "Route",
    "error_content",
    "function_name",
    "function_tools",
    "route_for",
    "routes",
    "tool_message",
]


def function_tools(registry: Registry) -> list[dict[str, Any]]:
    """The ``tools=[...]`` list for a chat-completions request, one per registry entry."""
    return chat_tools(registry)


def error_content(error: ToolwareError) -> dict[str, Any]:
    """What an agent needs from an error: category, message, hint, and fields, candidates or
    retry_after."""
    return error_payload(error)


def tool_message(call_id: str, response: ResponseContext) -> dict[str, str]:
    """The ``{"role": "tool"}`` message that answers tool call ``call_id``."""
    return {"role": "tool", "tool_call_id": call_id, "content": content_of(response, None)}
