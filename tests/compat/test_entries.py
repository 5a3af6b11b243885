"""The pieces of a V1 handler's registry entry: descriptions, the MCP-handler test."""

from __future__ import annotations

import pytest

from toolware.compat.v1._entries import handler_description, is_mcp_handler


class Described:
    description = "  Adds numbers  "


class Briefed:
    brief = "adds"
    instruction = "Use add"


class Instructed:
    instruction = " Use add "


@pytest.mark.parametrize(
    ("handler", "text"),
    [
        (Described(), "Adds numbers"),
        (Briefed(), "adds\n\nInstructions: Use add"),
        (Instructed(), "Instructions: Use add"),
        (object(), ""),
    ],
)
def test_handler_description_reads_only_the_attributes_present(handler: object, text: str) -> None:
    assert handler_description(handler) == text


@pytest.mark.parametrize(
    ("kind", "expected"),
    [("mcp", True), ("MCP-remote", True), ("mcpfilesystem", True), ("tool", False), (3, False)],
)
def test_is_mcp_handler(kind: object, expected: bool) -> None:
    class Handler:
        type = kind

    assert is_mcp_handler(Handler()) is expected
    assert is_mcp_handler(object()) is False


def test_make_entry_describes_an_open_synchronous_v1_entry() -> None:
    from toolware.compat.v1._entries import make_entry
    from toolware.context import Kind

    entry = make_entry(Kind.PLUGIN, "calc", "add", len, "Adds numbers")
    description = entry.description
    assert (description.name, description.kind, description.action) == ("calc", Kind.PLUGIN, "add")
    assert description.description == "Adds numbers"
    assert description.args_schema == {"type": "object"}
    assert description.tags == frozenset({"v1"})
    assert (entry.function, entry.is_async) == (len, False)
