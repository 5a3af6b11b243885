"""Function calling in the OpenAI shape: the tool list an agent sees, and routing its calls back.

Function names cannot contain dots, so a plugin action ``notes.add`` is offered as
``notes__add``. Each tool-call answer goes back as a ``{"role": "tool", ...}`` message whose
content is the value as JSON (:func:`toolware.encoding.to_json`), or
``{"error": {"category", "message", "hint", ...}}``, with ``retry_after`` (seconds, to the
millisecond) when the error says how long to wait (``rate_limited``, ``circuit_open``). A
streamed answer is sent whole, as the list of its chunks; when the stream failed, the chunks
received before the error go with it as ``partial_chunks``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from toolware.context import PARTIAL_CHUNKS, Kind, ResponseContext
from toolware.encoding import to_json
from toolware.errors import ToolwareError
from toolware.registry.base import Registry
from toolware.registry.names import function_name, parse_function_name

__all__ = [
    "Route",
    "error_content",
    "function_name",
    "function_tools",
    "route_for",
    "routes",
    "tool_message",
]


class Route(NamedTuple):
    """Where a function name goes: kind, entry name and plugin action."""

    kind: Kind
    name: str
    action: str | None = None


def function_tools(registry: Registry) -> list[dict[str, Any]]:
    """The ``tools=[...]`` list for a chat-completions request, one per registry entry."""
    return [
        {
            "type": "function",
            "function": {
                "name": function_name(d),
                "description": d.description,
                "parameters": dict(d.args_schema),
            },
        }
        for d in registry.list()
    ]


def routes(registry: Registry) -> dict[str, Route]:
    """Function name to registry route, for every entry."""
    return {function_name(d): Route(d.kind, d.name, d.action) for d in registry.list()}


def route_for(name: str, known: Mapping[str, Route]) -> Route:
    """The route for a function name; unknown names are tried as tools (or plugin actions when
    they contain ``__``) so the registry answers ``not_found`` with its suggestions."""
    found = known.get(name)
    if found is not None:
        return found
    entry, action = parse_function_name(name)
    if action is not None and entry:
        return Route(Kind.PLUGIN, entry, action)
    return Route(Kind.TOOL, name)


def error_content(error: ToolwareError) -> dict[str, Any]:
    """What an agent needs from an error: category, message, hint, and fields, candidates or
    retry_after."""
    data = error.to_dict()
    content = {key: data[key] for key in ("category", "message", "hint")}
    for key in ("fields", "candidates"):
        if data.get(key):
            content[key] = data[key]
    retry_after = data.get("retry_after")
    if retry_after is not None:  # an agent plans around it: milliseconds are enough
        content["retry_after"] = round(retry_after, 3)
    return {"error": content}


def tool_message(call_id: str, response: ResponseContext) -> dict[str, str]:
    """The ``{"role": "tool"}`` message that answers tool call ``call_id``."""
    if response.error is None:
        body = response.value
    else:
        body = error_content(response.error)
        partial = response.get(PARTIAL_CHUNKS)
        if partial:
            body["partial_chunks"] = list(partial)
    return {"role": "tool", "tool_call_id": call_id, "content": to_json(body)}
