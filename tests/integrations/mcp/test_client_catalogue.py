"""A remote tools/list turned into entries: descriptions, duplicates, the entry's shape."""

from __future__ import annotations

from typing import Any

from tests.integrations.mcp.lowlevel_servers import tool
from toolware import Kind
from toolware.integrations.mcp._client_catalogue import build_catalogue


def _caller(name: str, wrapped: bool) -> Any:
    async def call(**arguments: Any) -> Any:
        return (name, wrapped, arguments)

    return call


def test_the_description_falls_back_to_the_title_then_to_nothing() -> None:
    tools = [
        tool("both", description="Does both.", title="Both"),
        tool("titled", title="Titled tool"),
        tool("bare"),
    ]
    catalogue = build_catalogue(tools, server="raw", caller=_caller)
    described = {d.name: d.description for d in catalogue.listing}
    assert described == {"both": "Does both.", "titled": "Titled tool", "bare": ""}


def test_a_duplicate_without_a_description_is_shown_as_empty() -> None:
    tools = [tool("dup"), tool("dup", description="second")]
    catalogue = build_catalogue(tools, server="raw", caller=_caller)
    assert dict(catalogue.ambiguous) == {
        "dup": "MCP server 'raw' lists the tool 'dup' 2 times (descriptions '', 'second'); "
        "calls to it are refused until the server lists it once"
    }
    assert catalogue.listing == ()


async def test_entries_are_async_and_run_the_caller() -> None:
    """The router awaits the entry's function in the event loop (no worker thread)."""
    catalogue = build_catalogue([tool("t")], server="raw", caller=_caller)
    entry = catalogue.entries[(Kind.TOOL, "t", None)]
    assert entry.is_async is True
    assert await entry.function(x=1) == ("t", False, {"x": 1})
