"""A ``tools/call`` result turned into a value, or into a typed error.

The rule, in order:

1. ``isError: true`` → :class:`~toolware.errors.ToolFailedError` whose message carries the
   result's text content (the tool's own words, which an agent needs to correct its call).
2. ``structuredContent`` present → that value. A server that wraps a non-object result as
   ``{"result": value}`` and says so (FastMCP marks its output schema with
   ``x-fastmcp-wrap-result: true``) gives ``value`` itself.
3. Otherwise the content blocks: no block → ``None``; one text block → its text; anything
   else → a list of the blocks as JSON objects (``{"type": "image", "data": ..., ...}``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import mcp_types

from toolware.errors import ToolFailedError, UnavailableError

__all__ = ["WRAP_MARKER", "result_value"]

WRAP_MARKER = "x-fastmcp-wrap-result"
"""The output-schema key by which FastMCP says it wrapped a non-object result in ``result``."""


def wraps_result(output_schema: Mapping[str, Any] | None) -> bool:
    """Whether a tool's output schema says its structured results are ``{"result": value}``."""
    return bool(output_schema) and output_schema.get(WRAP_MARKER) is True  # type: ignore[union-attr]


def _texts(result: mcp_types.CallToolResult) -> list[str]:
    return [block.text for block in result.content if isinstance(block, mcp_types.TextContent)]


def result_value(result: mcp_types.CallToolResult, *, target: str, wrapped: bool) -> Any:
    """The value of a successful result; raises for ``isError`` (see the module's rule)."""
    if result.is_error:
        text = "; ".join(_texts(result)) or "no message"
        raise ToolFailedError(f"{target!r} reported an error: {text}")
    structured = result.structured_content
    if structured is not None:
        if not wrapped:
            return structured
        if isinstance(structured, Mapping) and "result" in structured:
            return structured["result"]
        raise UnavailableError(
            f"{target!r} returned a malformed result: its output schema says the value is "
            "wrapped in 'result', but the structured content has no 'result' key",
            hint="the MCP server is broken; report it to its maintainers",
            retryable=False,
        )
    blocks = result.content
    if not blocks:
        return None
    if len(blocks) == 1 and isinstance(blocks[0], mcp_types.TextContent):
        return blocks[0].text
    return [block.model_dump(mode="json", by_alias=True, exclude_none=True) for block in blocks]
