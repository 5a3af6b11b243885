"""A model's tool calls read from SDK objects or plain dicts alike, into :class:`ToolCall`.

Fields are read by key from a mapping and by attribute from an SDK object (:func:`field`), so
the SDKs need not be importable. What cannot run (arguments that are not a JSON object, a
missing name) becomes the call's :class:`CallProblem`, answered ``invalid_request``; what
cannot even be answered (no id, an item that is no call) raises.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "JSON_HINT",
    "Api",
    "CallProblem",
    "ToolCall",
    "call_id",
    "call_name",
    "field",
    "parse_arguments",
    "read_calls",
]

Api = Literal["chat", "responses", "anthropic"]
"""Which API a call came from, and so the shape of its answer."""


JSON_HINT = "send the arguments as one JSON object with the function's parameters as keys"


@dataclass(frozen=True, slots=True)
class CallProblem:
    """Why a call cannot run, answered as ``invalid_request``: the message and the fix."""

    message: str
    hint: str


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One tool call as the model sent it, read from whichever shape it came in.

    ``arguments`` is the parsed JSON object, or ``None`` when ``problem`` says why the call
    cannot run (bad JSON, a duplicate id, no name); ``raw_arguments`` is the text the model
    sent (JSON text for OpenAI, the input re-encoded for Anthropic), for logs and display;
    ``api`` is the API it came from, which decides the shape of its answer.
    """

    id: str
    name: str
    arguments: Mapping[str, Any] | None
    raw_arguments: str
    problem: CallProblem | None = None
    api: Api = "chat"


def field(item: object, name: str) -> Any:
    """``item[name]`` for a mapping, ``item.name`` for an SDK object; ``None`` if absent."""
    if type(item) is dict or isinstance(item, Mapping):  # a dict skips the ABC check
        return item.get(name)
    return getattr(item, name, None)


def parse_arguments(text: object) -> tuple[Mapping[str, Any] | None, CallProblem | None]:
    """The arguments object from the model's JSON text (a mapping passes as it is; empty
    text is ``{}``), or ``None`` and why not."""
    if not isinstance(text, str):
        if isinstance(text, Mapping):
            return text, None
        if text is None:
            return {}, None
        problem = f"the arguments must be a JSON object, got {type(text).__name__}"
        return None, CallProblem(problem, JSON_HINT)
    if not text:
        return {}, None
    try:
        arguments = json.loads(text, parse_constant=_not_json)
    except ValueError as exc:
        return None, CallProblem(f"the arguments are not valid JSON: {exc}", JSON_HINT)
    except RecursionError:  # [[[[...]]]] thousands deep: the parser's stack, not the process
        return None, CallProblem("the arguments are nested too deeply to read", JSON_HINT)
    if not isinstance(arguments, dict):
        problem = f"the arguments must be a JSON object, got {type(arguments).__name__}"
        return None, CallProblem(problem, JSON_HINT)
    return arguments, None


def _not_json(constant: str) -> Any:
    # Python's parser takes NaN and Infinity; JSON has no such numbers, and a NaN run
    # through a tool comes back as null: the model is told instead.
    raise ValueError(f"{constant} is not a JSON number")


_CONTAINERS = ("tool_calls", "output", "content")  # a message or a response, passed whole


def read_calls(
    items: Iterable[object], read: Callable[[int, object], ToolCall | None], hint: str
) -> list[ToolCall]:
    """Each item ``read`` turns into a call (``None``: not a call, passed over); ``hint``
    says what to pass when ``items`` is a whole message or a single call."""
    if isinstance(items, str | bytes | Mapping) or (
        not isinstance(items, list | tuple)
        and any(getattr(items, name, None) is not None for name in _CONTAINERS)
    ):
        raise TypeError(f"expected a list of tool calls, got {type(items).__name__}; {hint}")
    calls: list[ToolCall] = []
    for position, item in enumerate(items):
        call = read(position, item)
        if call is not None:
            calls.append(call)
    return calls


def call_id(position: int, item: object, key: str) -> str:
    """The call's id, or a ``ValueError`` naming the item: a call without one cannot be
    answered (the API matches answers to calls by it)."""
    value = field(item, key)
    if not isinstance(value, str) or not value:
        raise ValueError(
            f"tool call {position} has no {key!r} (got {type(value).__name__}); every call "
            "needs the id the model gave it, to answer it"
        )
    return value


def call_name(item: object, key: str = "name") -> tuple[str, CallProblem | None]:
    """The function name, or ``""`` and why it is missing."""
    value = field(item, key)
    if isinstance(value, str) and value:
        return value, None
    return "", CallProblem(
        f"the tool call has no function name (got {type(value).__name__})",
        "call one of the functions offered in tools, by its name",
    )
