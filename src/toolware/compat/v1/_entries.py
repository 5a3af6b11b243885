"""A V1 handler's action as a toolware registry entry.

A V1 handler is one object with ``run({"method": m, "params": p})``: a plugin whose actions are
its methods. Its methods are open (the handler decides which it knows), so an entry is made for
whatever method a call names; arguments are the params, checked only by toolware's argument
boundary (JSON-like data, bounded: iterators, non-dict mappings and non-string keys are refused
with ``invalid_request`` naming the field), and handed to ``run`` as a fresh dict.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from toolware._arguments import check_arguments
from toolware.context import Kind
from toolware.errors import ToolFailedError, ToolwareError
from toolware.registry.base import Entry, EntryDescription

__all__ = [
    "OPEN_SCHEMA",
    "MCP_INPUT",
    "HandlerCall",
    "OpenValidator",
    "handler_description",
    "is_mcp_handler",
    "make_entry",
]

OPEN_SCHEMA: Mapping[str, Any] = {"type": "object"}
"""The arguments schema of a V1 action: any object (V1 handlers declare no parameters)."""

MCP_INPUT = "Tool use input: {method} and {params}"
"""The input string an MCP-type V1 handler receives for a legacy action."""

McpRunner = Callable[[str, object, str], Any]
"""``runner(action_id, handler, input_string) -> result`` for MCP-type handlers."""


def is_mcp_handler(handler: object) -> bool:
    """V1's test: a ``type`` attribute starting with ``"mcp"`` (any case)."""
    kind = getattr(handler, "type", None)
    return isinstance(kind, str) and kind.lower().startswith("mcp")


def handler_description(handler: object) -> str:
    """The entry description: the handler's ``description`` (else its ``brief``), then its
    ``instruction`` as a paragraph of its own."""
    text = _text(handler, "description") or _text(handler, "brief")
    instruction = _text(handler, "instruction")
    if instruction:
        return f"{text}\n\nInstructions: {instruction}" if text else f"Instructions: {instruction}"
    return text


def _text(handler: object, attribute: str) -> str:
    value = getattr(handler, attribute, None)
    return value.strip() if isinstance(value, str) else ""


class OpenValidator:
    """Accepts any JSON-like params within toolware's limits; converts nothing."""

    __slots__ = ("target",)

    def __init__(self, target: str) -> None:
        self.target = target

    def validate(self, arguments: Mapping[str, Any], *, strict: bool = False) -> Mapping[str, Any]:
        check_arguments(arguments, target=self.target)
        return arguments


class HandlerCall:
    """``handler.run({"method": method, "params": params})`` as a keyword-argument function.

    A :class:`ToolwareError` raised by the handler (a V1 handler that wraps a native pipeline)
    is reported as the handler's failure, ``tool_failed`` with the error as its cause: to the
    V1 caller it is an error of the action like any other.
    """

    __slots__ = ("handler", "method")

    def __init__(self, handler: object, method: str) -> None:
        self.handler = handler
        self.method = method

    def __call__(self, /, **params: Any) -> Any:  # "self" may be a param too
        try:
            return self.handler.run({"method": self.method, "params": params})  # type: ignore[attr-defined]
        except ToolwareError as error:
            raise ToolFailedError(error.message) from error


class McpActionCall:
    """A legacy action on an MCP-type handler: its runner gets V1's input string."""

    __slots__ = ("action_id", "handler", "method", "runner")

    def __init__(self, runner: McpRunner, action_id: str, handler: object, method: str) -> None:
        self.runner = runner
        self.action_id = action_id
        self.handler = handler
        self.method = method

    def __call__(self, /, **params: Any) -> Any:  # "self" may be a param too
        text = MCP_INPUT.format(method=self.method, params=params)
        try:
            return self.runner(self.action_id, self.handler, text)
        except ToolwareError as error:
            raise ToolFailedError(error.message) from error


def make_entry(
    kind: Kind,
    name: str,
    action: str | None,
    function: Callable[..., Any],
    description: str,
) -> Entry:
    """An entry running ``function`` (synchronous: on the router's worker threads)."""
    target = name if action is None else f"{name}.{action}"
    return Entry(
        description=EntryDescription(
            name=name,
            kind=kind,
            action=action,
            description=description,
            args_schema=OPEN_SCHEMA,
            tags=frozenset({"v1"}),
        ),
        function=function,
        is_async=False,
        validator=OpenValidator(target),
    )
