"""result_to_dict: an MCP CallToolResult (real SDK types) as the dict V1 callers expect."""

from __future__ import annotations

from typing import Any

import pytest
from mcp_types import CallToolResult, ImageContent, TextContent

from toolware.compat.v1._mcp_results import result_to_dict


def _text(*texts: str) -> list[Any]:
    return [TextContent(type="text", text=text) for text in texts]


IMAGE = ImageContent(type="image", data="aGk=", mime_type="image/png")
IMAGE_JSON = {"type": "image", "data": "aGk=", "mimeType": "image/png"}


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (
            CallToolResult(content=_text('{"a": 1}'), structured_content={"b": 2}),
            {"b": 2},
        ),
        (CallToolResult(content=_text('{"a": 1}')), {"a": 1}),
        (CallToolResult(content=_text("{}")), {}),
        (CallToolResult(content=_text("[1, 2]")), {"content": "[1, 2]"}),
        (CallToolResult(content=_text("plain words")), {"content": "plain words"}),
        (CallToolResult(content=_text("one", "two")), {"content": "one\ntwo"}),
        (CallToolResult(content=[]), {"content": ""}),
        (
            CallToolResult(content=_text('["x"]'), structured_content=["x"]),
            {"content": '["x"]'},
        ),
        (
            CallToolResult(content=_text("no such file"), is_error=True),
            {"error": {"message": "no such file", "code": "tool_error"}},
        ),
        (
            CallToolResult(content=_text("bad"), structured_content={"b": 2}, is_error=True),
            {"error": {"message": "bad", "code": "tool_error"}},
        ),
        (
            CallToolResult(content=[*_text("a chart"), IMAGE]),
            {"content": "a chart", "content_blocks": [IMAGE_JSON]},
        ),
        (
            CallToolResult(content=[IMAGE, *_text('{"k": "v"}')]),
            {"k": "v", "content_blocks": [IMAGE_JSON]},
        ),
        (
            CallToolResult(content=[IMAGE], is_error=True),
            {"error": {"message": "", "code": "tool_error"}, "content_blocks": [IMAGE_JSON]},
        ),
    ],
)
def test_result_to_dict(result: CallToolResult, expected: dict[str, Any]) -> None:
    assert result_to_dict(result) == expected


def test_structured_content_is_copied() -> None:
    structured = {"b": 2}
    converted = result_to_dict(CallToolResult(content=[], structured_content=structured))
    converted["b"] = 3
    assert structured == {"b": 2}


def test_other_blocks_are_written_as_json() -> None:
    """A block built in process may hold Python values (a tuple in ``_meta``): the V1 dict
    gets their JSON form, as it would have come over the wire."""
    image = ImageContent(
        type="image", data="aGk=", mime_type="image/png", _meta={"tags": ("a", "b")}
    )
    converted = result_to_dict(CallToolResult(content=[image]))
    assert converted == {
        "content": "",
        "content_blocks": [
            {
                "type": "image",
                "data": "aGk=",
                "mimeType": "image/png",
                "_meta": {"tags": ["a", "b"]},
            }
        ],
    }
    assert type(converted["content_blocks"][0]["_meta"]["tags"]) is list
