"""The answer a model gets for a call: JSON text of the value, or of the error it can act on."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from toolware import _limits
from toolware.context import PARTIAL_CHUNKS, Kind, ResponseContext
from toolware.encoding import to_json
from toolware.errors import ErrorCategory, ToolwareError
from toolware.integrations._routes import Route
from toolware.registry.names import ACTION_SEPARATOR, MAX_NAME_LENGTH

__all__ = ["content_of", "error_payload"]


def error_payload(
    error: ToolwareError, route: Route | None = None, offered: Iterable[str] = ()
) -> dict[str, Any]:
    """What a model needs from an error: category, message, hint, and the fields, close
    matches (as function names) or ``retry_after`` (seconds, to the millisecond).

    A ``not_found`` error without close matches gets some from ``offered`` (the function
    names the model was given): the registry compares names within one kind, the model
    confuses them across kinds (``notes_add`` for ``notes__add``)."""
    data = error.to_dict()
    content = {key: data[key] for key in ("category", "message", "hint")}
    if data.get("fields"):
        content["fields"] = data["fields"]
    given = candidates = data.get("candidates")
    offered = list(offered)
    named: list[str] = []
    # For a plugin it does not know, the registry suggests plugin names; the model needs a
    # function name, found below among the functions it was offered.
    if candidates and not _unknown_plugin(route, offered):
        named = [_as_function(c, route) for c in candidates]
    if (
        not named
        and error.category is ErrorCategory.NOT_FOUND
        and route is not None
        and len(route.name) <= 2 * MAX_NAME_LENGTH  # an invented 16 MB name: no matching
    ):
        wanted = route.name if route.action is None else f"{route.name}__{route.action}"
        named = difflib.get_close_matches(wanted, offered, n=_limits.MAX_CANDIDATES)
    if named:
        content["candidates"] = named
        if named != given:
            content["hint"] = "did you mean " + " or ".join(repr(n) for n in named) + "?"
    retry_after = data.get("retry_after")
    if retry_after is not None:
        content["retry_after"] = round(retry_after, 3)
    return {"error": content}


def _unknown_plugin(route: Route | None, offered: list[str]) -> bool:
    """Whether ``route`` is an action of a plugin none of the ``offered`` functions belong to."""
    if route is None or route.kind is not Kind.PLUGIN or not offered:
        return False
    prefix = route.name + ACTION_SEPARATOR
    return not any(name.startswith(prefix) for name in offered)


def _as_function(candidate: str, route: Route | None) -> str:
    if route is not None and route.kind is Kind.PLUGIN and "." not in candidate:
        return f"{route.name}{ACTION_SEPARATOR}{candidate}"  # an action of the same plugin
    return candidate.replace(".", ACTION_SEPARATOR)


def content_of(response: ResponseContext, route: Route | None, offered: Iterable[str] = ()) -> str:
    """The JSON text answering a call: its value, or its error (with partial chunks)."""
    if response.error is None:
        return to_json(response.value)
    body = error_payload(response.error, route, offered)
    partial = response.get(PARTIAL_CHUNKS)
    if partial:
        body["partial_chunks"] = list(partial)
    return to_json(body)
