"""What a pipeline's answer becomes on MCP: a ``CallToolResult`` (as a plain dict) or an error.

The table is :data:`toolware.error_codes.JSONRPC_CODE` (one source of truth): a category with a
JSON-RPC code is raised as an :class:`~mcp.shared.exceptions.MCPError` carrying the error's
``to_dict()`` as ``data``; a category without one (``tool_failed``, ``invalid_request``) is a
result with ``isError: true`` whose text is the same JSON, so the model reads the category,
the message and the hint, and can correct its next call. ``cancelled`` has no code because the
client that cancelled gets no answer; a ``cancelled`` error the client did not ask for (a tool
that cancelled itself) is answered as a failed result, so the request is never left pending.

Results are dicts rather than SDK models: the SDK validates and dumps what a handler returns
anyway, so building a model first would only do that work twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mcp.shared.exceptions import MCPError

from toolware.encoding import to_json, to_jsonable
from toolware.error_codes import jsonrpc_code
from toolware.errors import ToolwareError
from toolware.integrations.mcp._server_catalogue import RESULT_KEY

__all__ = ["error_result", "protocol_error", "stream_result", "text_of", "value_result"]


def text_of(value: Any) -> str:
    """The text content for a value: a string as it is, anything else as JSON."""
    return value if type(value) is str else to_json(value)


def value_result(value: Any, *, wrap: bool) -> dict[str, Any]:
    """A successful ``CallToolResult``: the value as text, and as ``structuredContent``."""
    structured = to_jsonable(value)
    text = structured if type(structured) is str else to_json(structured)
    return {
        "content": [{"type": "text", "text": text}],
        "structuredContent": {RESULT_KEY: structured} if wrap else structured,
        "isError": False,
        "resultType": "complete",
    }


def stream_result(chunks: Sequence[Any]) -> dict[str, Any]:
    """A completed stream: one text block per chunk, and every chunk under ``result``."""
    structured = [to_jsonable(chunk) for chunk in chunks]
    return {
        "content": [{"type": "text", "text": text_of(chunk)} for chunk in structured],
        "structuredContent": {RESULT_KEY: structured},
        "isError": False,
        "resultType": "complete",
    }


def error_result(error: ToolwareError, chunks: Sequence[Any] = ()) -> dict[str, Any]:
    """A ``CallToolResult`` with ``isError: true`` carrying ``error.to_dict()`` as JSON text
    and as ``structuredContent.error``; a stream that failed part way keeps the chunks it
    delivered, as text blocks before the error and under ``structuredContent.chunks``."""
    data = error.to_dict()
    content = [{"type": "text", "text": text_of(chunk)} for chunk in chunks]
    content.append({"type": "text", "text": to_json(data)})
    structured: dict[str, Any] = {"error": data}
    if chunks:
        structured["chunks"] = to_jsonable(list(chunks))
    return {
        "content": content,
        "structuredContent": structured,
        "isError": True,
        "resultType": "complete",
    }


def protocol_error(error: ToolwareError) -> MCPError | None:
    """The JSON-RPC error to answer ``error`` with, or ``None`` when it is a result with
    ``isError: true`` (see the module docstring)."""
    code = jsonrpc_code(error)
    if code is None:
        return None
    return MCPError(code=code, message=error.message, data=error.to_dict())
