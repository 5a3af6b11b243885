"""An MCP ``CallToolResult`` as the dict V1 callers expect from ``use_mcp_direct``.

V1 results are dicts, so the adapter turns the MCP result into one, in this order:

1. ``isError: true`` → ``{"error": {"message": <the text content>, "code": "tool_error"}}``, the
   V1 error-result shape (a success at the V1 level: the model reads the message);
2. ``structuredContent`` that is a JSON object → that object;
3. text content that parses as a JSON object → that object (servers that return a dict as
   text, as the SDK's MCPServer does for a tool annotated ``-> dict``);
4. otherwise → ``{"content": <the text content>}``.

Text blocks are joined with ``"\\n"``. Blocks that are not text (images, audio, resources) are
never dropped: in cases 1, 3 and 4 they are added as ``"content_blocks"``, each as its MCP JSON.
"""

from __future__ import annotations

import json
from typing import Any

from mcp_types import CallToolResult, TextContent

__all__ = ["result_to_dict"]

TOOL_ERROR_CODE = "tool_error"


def result_to_dict(result: CallToolResult) -> dict[str, Any]:
    """The V1 dict for one MCP tool result."""
    texts = [block.text for block in result.content if isinstance(block, TextContent)]
    text = "\n".join(texts)
    if result.is_error:
        value: dict[str, Any] = {"error": {"message": text, "code": TOOL_ERROR_CODE}}
    elif isinstance(result.structured_content, dict):
        return dict(result.structured_content)
    else:
        parsed = _json_object(text)
        value = {"content": text} if parsed is None else parsed
    others = [
        block.model_dump(mode="json", by_alias=True, exclude_none=True)
        for block in result.content
        if not isinstance(block, TextContent)
    ]
    if others:
        value["content_blocks"] = others
    return value


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        parsed = json.loads(text)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None
