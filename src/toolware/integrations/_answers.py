"""The answer a model gets for a call: JSON text of the value, or of the error it can act on."""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterable
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
    if candidates:
        known = frozenset(offered) if route is not None and route.kind is Kind.PLUGIN else ()
        named = [_as_function(c, route, known) for c in candidates]
        if known:  # never suggest a function the model was not offered
            named = [name for name in named if name in known]
    if (
        not named
        and error.category is ErrorCategory.NOT_FOUND
        and route is not None
        and len(route.name) <= 2 * MAX_NAME_LENGTH  # an invented 16 MB name: no matching
    ):
        wanted = route.name if route.action is None else f"{route.name}__{route.action}"
        # Matched among the function names offered: they are function names already.
        named = difflib.get_close_matches(wanted, offered, n=_limits.MAX_CANDIDATES)
    if named:
        content["candidates"] = named
        if named != given:
            content["hint"] = "did you mean " + " or ".join(repr(n) for n in named) + "?"
    retry_after = data.get("retry_after")
    if retry_after is not None:
        content["retry_after"] = round(retry_after, 3)
    return {"error": content}


def _as_function(candidate: str, route: Route | None, offered: Collection[str]) -> str:
    """A registry's candidate as a function name. For a plugin call it is an action of the
    same plugin, unless that is no function offered: then the plugin itself is unknown and
    the candidate is another plugin's name, given with the action the model asked for."""
    if route is not None and route.kind is Kind.PLUGIN and "." not in candidate:
        action = f"{route.name}{ACTION_SEPARATOR}{candidate}"
        if not offered or action in offered or route.action is None:
            return action
        return f"{candidate}{ACTION_SEPARATOR}{route.action}"
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
