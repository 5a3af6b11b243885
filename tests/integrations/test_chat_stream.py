"""Tests for toolware.integrations._chat_stream: a streamed completion joined into one message."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import pydantic
import pytest
from openai.types.chat import ChatCompletionAssistantMessageParam, ChatCompletionChunk

from tests.integrations.tool_call_support import build_registry
from toolware import default_pipeline
from toolware.integrations.openai import collect_chat_stream, run_tool_calls


def chunk(delta: dict[str, Any], finish: str | None = None, index: int = 0) -> ChatCompletionChunk:
    """One streamed chunk, built with the SDK's own model."""
    return ChatCompletionChunk.model_validate(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": "gpt-test",
            "choices": [{"index": index, "delta": delta, "finish_reason": finish}],
        }
    )


def piece(index: int, **fields: Any) -> dict[str, Any]:
    return {"tool_calls": [{"index": index, **fields}]}


STREAM = [
    chunk({"role": "assistant", "content": "Adding "}),
    chunk({"content": "now."}),
    chunk(piece(0, id="call_1", type="function", function={"name": "add", "arguments": ""})),
    chunk(piece(1, id="call_2", type="function", function={"name": "notes__add"})),
    chunk(piece(0, function={"arguments": '{"a": '})),
    chunk(piece(1, function={"arguments": '{"text": "hi"}'})),
    chunk(piece(1, function={})),
    chunk(piece(1)),
    chunk(piece(0, function={"arguments": "40}"})),
    chunk({}, finish="tool_calls"),
    chunk({"content": "other choice"}, index=1),
]


async def test_deltas_join_into_the_message_the_api_would_send() -> None:
    """Content joined, tool calls joined by index; a valid assistant message param."""
    collected = await collect_chat_stream(STREAM)
    assert collected.finish_reason == "tool_calls"
    assert collected.message == {
        "role": "assistant",
        "content": "Adding now.",
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "add", "arguments": '{"a": 40}'},
            },
            {
                "id": "call_2",
                "type": "function",
                "function": {"name": "notes__add", "arguments": '{"text": "hi"}'},
            },
        ],
    }
    pydantic.TypeAdapter(ChatCompletionAssistantMessageParam).validate_python(collected.message)
    other = await collect_chat_stream(STREAM, choice=1)
    assert other.message == {"role": "assistant", "content": "other choice"}
    assert (other.finish_reason, other.tool_calls) == (None, [])


async def test_an_async_stream_of_dicts_runs_through_the_pipeline() -> None:
    """Plain dict chunks from an async iterator; the collected calls are run as usual."""

    async def stream() -> AsyncIterator[dict[str, Any]]:
        for item in STREAM[:-1]:  # the last one is of another choice
            yield item.model_dump()

    collected = await collect_chat_stream(stream())
    async with default_pipeline(build_registry()) as pipeline:
        answers = await run_tool_calls(pipeline, collected.tool_calls)
    assert [json.loads(a["content"]) for a in answers] == [42, 1]


async def test_arguments_cut_short_are_answered_not_raised() -> None:
    """A stream stopped by its length limit leaves broken JSON: invalid_request for the model."""
    collected = await collect_chat_stream(
        [
            chunk(
                piece(
                    0, id="call_1", type="function", function={"name": "add", "arguments": '{"a"'}
                )
            ),
            chunk({}, finish="length"),
        ]
    )
    assert collected.finish_reason == "length"
    assert collected.message["content"] is None
    async with default_pipeline(build_registry()) as pipeline:
        [answer] = await run_tool_calls(pipeline, collected.tool_calls)
    assert json.loads(answer["content"])["error"]["category"] == "invalid_request"


async def test_refusals_are_kept_and_a_bad_index_is_refused() -> None:
    """A refusal is joined like content; a tool call delta without an index is an error."""
    collected = await collect_chat_stream([chunk({"refusal": "I can"}), chunk({"refusal": "not."})])
    assert collected.message == {"role": "assistant", "content": None, "refusal": "I cannot."}
    bad = {"choices": [{"index": 0, "delta": {"tool_calls": [{"id": "x"}]}}]}
    with pytest.raises(ValueError, match="a streamed tool call delta has no integer 'index'"):
        await collect_chat_stream([bad])
    empty = {"choices": [{"index": 0, "delta": None, "finish_reason": "stop"}]}
    assert (await collect_chat_stream([empty])).finish_reason == "stop"


async def test_every_entry_of_a_chunk_is_read() -> None:
    """Entries for other choices, or without a delta, do not end the chunk's reading; a
    name and a type come in pieces or as sent; a bad index is refused saying what to pass."""
    mixed = {
        "choices": [
            {"index": 1, "delta": {"content": "other"}},
            {"index": 0, "delta": None, "finish_reason": None},
            {"index": 0, "delta": {"content": "mine"}},
        ]
    }
    split = [
        {"choices": [{"index": 0, "delta": piece(0, id="c1", type="custom")}]},
        {"choices": [{"index": 0, "delta": piece(0, function={"name": "notes"})}]},
        {"choices": [{"index": 0, "delta": piece(0, function={"name": "__add"})}]},
    ]
    collected = await collect_chat_stream([mixed, *split])
    assert collected.message == {
        "role": "assistant",
        "content": "mine",
        "tool_calls": [
            {"id": "c1", "type": "custom", "function": {"name": "notes__add", "arguments": ""}}
        ],
    }
    bad = {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": "0"}]}}]}
    message = (
        "a streamed tool call delta has no integer 'index' (got '0'); pass the chunks of one "
        "Chat Completions stream"
    )
    with pytest.raises(ValueError, match=re.escape(message) + "$"):
        await collect_chat_stream([bad])
