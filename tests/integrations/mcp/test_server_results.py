"""What a value, a stream and an error become on MCP (dicts the SDK validates and sends)."""

from __future__ import annotations

from datetime import date

import pytest

from toolware import (
    CallCancelledError,
    CallTimeoutError,
    InternalError,
    InvalidRequestError,
    NotFoundError,
    ToolFailedError,
    ToolwareError,
)
from toolware.integrations.mcp._server_results import (
    error_result,
    protocol_error,
    stream_result,
    text_of,
    value_result,
)


def test_value_result_wrapped_and_plain() -> None:
    """Text is a string as it is, JSON otherwise; wrap puts the value under result."""
    assert value_result(3, wrap=True) == {
        "content": [{"type": "text", "text": "3"}],
        "structuredContent": {"result": 3},
        "isError": False,
        "resultType": "complete",
    }
    assert value_result({"day": date(2024, 5, 1)}, wrap=False) == {
        "content": [{"type": "text", "text": '{"day": "2024-05-01"}'}],
        "structuredContent": {"day": "2024-05-01"},
        "isError": False,
        "resultType": "complete",
    }
    assert value_result("plain", wrap=True)["content"] == [{"type": "text", "text": "plain"}]


def test_stream_result_has_a_block_per_chunk() -> None:
    assert stream_result(["a", {"b": 1}]) == {
        "content": [{"type": "text", "text": "a"}, {"type": "text", "text": '{"b": 1}'}],
        "structuredContent": {"result": ["a", {"b": 1}]},
        "isError": False,
        "resultType": "complete",
    }
    assert text_of({"k": [1, 2]}) == '{"k": [1, 2]}'
    assert text_of("é") == "é"


def test_error_result_carries_the_error_and_the_chunks() -> None:
    error = ToolFailedError("it broke", target="t", request_id="r")
    data = error.to_dict()
    plain = error_result(error)
    assert plain == {
        "content": [{"type": "text", "text": text_of(data)}],
        "structuredContent": {"error": data},
        "isError": True,
        "resultType": "complete",
    }
    partial = error_result(error, [1, "two"])
    assert partial["content"][:2] == [
        {"type": "text", "text": "1"},
        {"type": "text", "text": "two"},
    ]
    assert partial["structuredContent"] == {"error": data, "chunks": [1, "two"]}


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (NotFoundError("no such tool"), -32602),
        (CallTimeoutError("too slow", limit=1.0), -32014),
        (InternalError("a bug"), -32603),
        (ToolFailedError("failed"), None),
        (InvalidRequestError("bad"), None),
        (CallCancelledError("gave up"), None),
    ],
)
def test_protocol_error_follows_the_error_codes_table(
    error: ToolwareError, code: int | None
) -> None:
    """A JSON-RPC error with the message and the error's dict, or None for a result."""
    failure = protocol_error(error)
    if code is None:
        assert failure is None
        return
    assert failure is not None
    assert (failure.code, failure.message, failure.data) == (code, error.message, error.to_dict())
