"""Tests for toolware.integrations.anthropic: Messages tools, tool_use → tool_result."""

from __future__ import annotations

import json
from typing import Any

import pydantic
import pytest
from anthropic.types import Message, MessageParam, ToolParam, ToolResultBlockParam, ToolUseBlock

from tests.integrations.tool_call_support import TENANT, build_registry, options_bench
from toolware import (
    LocalRegistry,
    PipelineBuilder,
    Principal,
    TraceContext,
    default_pipeline,
)
from toolware.extras import EMPTY_EXTRAS
from toolware.integrations.anthropic import (
    StrictSchemaError,
    StrictSchemaProblem,
    ToolCall,
    execute_tool_calls,
    messages_tools,
    read_tool_calls,
    run_tool_calls,
    strict_problems,
    tool_results_message,
)
from toolware.testing import FakeClock


def tool_use(block_id: str, name: str, arguments: Any) -> dict[str, Any]:
    return {"type": "tool_use", "id": block_id, "name": name, "input": arguments}


def message(*blocks: dict[str, Any]) -> Message:
    """An assistant message built with the SDK's own model."""
    return Message.model_validate(
        {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": "claude-test",
            "content": list(blocks),
            "stop_reason": "tool_use",
            "stop_sequence": None,
            "usage": {"input_tokens": 1, "output_tokens": 1},
        }
    )


@pytest.fixture
def registry() -> LocalRegistry:
    return build_registry()


def test_tools_are_accepted_by_the_sdk_param_type(registry: LocalRegistry) -> None:
    """name, description and input_schema per entry; valid ToolParam."""
    tools = messages_tools(registry)
    adapter = pydantic.TypeAdapter(ToolParam)
    for tool in tools:
        adapter.validate_python(tool)
    assert [t["name"] for t in tools][-2:] == ["notes__add", "docs"]
    assert tools[0] == {
        "name": "add",
        "description": "Add two numbers.",
        "input_schema": registry.list()[0].args_schema,
    }
    assert messages_tools(default_pipeline(registry)) == tools


async def test_tool_use_blocks_get_tool_results_in_order(registry: LocalRegistry) -> None:
    """Text blocks are passed over; each tool_use gets a tool_result, is_error on failure."""
    reply = message(
        {"type": "text", "text": "Let me add and fail."},
        tool_use("toolu_1", "add", {"a": 1, "b": 2}),
        tool_use("toolu_2", "boom", {"reason": "no disk"}),
        tool_use("toolu_3", "count_to", {"n": 2}),
    )
    assert isinstance(reply.content[1], ToolUseBlock)
    async with default_pipeline(registry) as pipeline:
        results = await run_tool_calls(pipeline, reply.content)
    adapter = pydantic.TypeAdapter(ToolResultBlockParam)
    for result in results:
        adapter.validate_python(result)
    assert results[0] == {
        "type": "tool_result",
        "tool_use_id": "toolu_1",
        "content": "3",
        "is_error": False,
    }
    assert results[1]["is_error"] is True
    assert json.loads(results[1]["content"]) == {
        "error": {
            "category": "tool_failed",
            "message": "'boom' raised RuntimeError: no disk",
            "hint": "the tool reported an error; check its arguments or its service",
        }
    }
    assert (results[2]["content"], results[2]["is_error"]) == ("[1, 2]", False)
    user = tool_results_message(results)
    pydantic.TypeAdapter(MessageParam).validate_python(user)
    assert user == {"role": "user", "content": results}


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        ([1, 2], "the arguments must be a JSON object, got list"),
        (
            "{",
            "the arguments are not valid JSON: Expecting property name enclosed in double "
            "quotes: line 1 column 2 (char 1)",
        ),
        (7, "the arguments must be a JSON object, got int"),
    ],
)
async def test_input_that_is_not_an_object_is_an_invalid_request(
    registry: LocalRegistry, arguments: Any, problem: str
) -> None:
    """A plain-dict block whose input is not an object: is_error, nothing run."""
    async with default_pipeline(registry) as pipeline:
        [outcome] = await execute_tool_calls(pipeline, [tool_use("t1", "boom", arguments)])
    assert outcome.message["is_error"] is True
    assert json.loads(outcome.message["content"])["error"] == {
        "category": "invalid_request",
        "message": problem,
        "hint": "send the arguments as one JSON object with the function's parameters as keys",
    }


async def test_unknown_names_and_repeated_ids(registry: LocalRegistry) -> None:
    """An invented name is not_found with close matches; a repeated id is not run."""
    async with default_pipeline(registry) as pipeline:
        results = await run_tool_calls(
            pipeline,
            [
                tool_use("t1", "notes_add", {"text": "x"}),
                tool_use("t2", "notes__add", {"text": "y"}),
                tool_use("t2", "notes__add", {"text": "z"}),
            ],
        )
    first, second, third = (json.loads(r["content"]) for r in results)
    assert first["error"]["candidates"] == ["notes__add"]
    assert second == 1
    assert third["error"]["message"] == (
        "tool call id 't2' was already used by call 1 of this batch; this call was not run"
    )
    assert [r["is_error"] for r in results] == [True, False, True]


async def test_options_reach_the_requests() -> None:
    """principal, timeout and the tool_use id go with each request."""
    seen: list[dict[str, Any]] = []
    clock = FakeClock()
    pipeline = PipelineBuilder(clock=clock).route(build_registry(seen)).build()
    await run_tool_calls(
        pipeline,
        [tool_use("toolu_9", "echo_context", {"word": "w"})],
        principal=Principal(id="bob"),
        timeout=3.0,
    )
    await run_tool_calls(
        pipeline,
        [tool_use("toolu_8", "echo_context", {"word": "w"})],
        timeout=3.0,
        deadline=1001.0,
    )
    assert seen == [
        {"principal": "bob", "trace": None, "call_id": "toolu_9", "deadline": 1003.0},
        {"principal": None, "trace": None, "call_id": "toolu_8", "deadline": 1001.0},
    ]
    await pipeline.aclose()


def test_blocks_that_cannot_be_answered_are_refused() -> None:
    """No id: ValueError; an item that is no block: TypeError; other block types pass."""
    with pytest.raises(ValueError, match="tool call 0 has no 'id'"):
        read_tool_calls([{"type": "tool_use", "name": "add", "input": {}}])
    with pytest.raises(TypeError, match="item 1 is not a content block: tuple without a 'type'"):
        read_tool_calls([{"type": "text", "text": "x"}, ("a", "b")])
    assert read_tool_calls([{"type": "thinking", "thinking": "hm"}]) == []
    whole = message(tool_use("t1", "add", {"a": 1}))
    with pytest.raises(TypeError, match=r"got Message; pass message\.content"):
        read_tool_calls(whole)  # type: ignore[arg-type]
    assert read_tool_calls(None) == []
    [call] = read_tool_calls([tool_use("t1", "add", {"a": 1})])
    assert call == ToolCall("t1", "add", {"a": 1}, '{"a": 1}', None, "anthropic")
    [odd] = read_tool_calls([tool_use("t3", "add", {"tags": {"b"}})])  # made by hand
    assert odd.raw_arguments == '{"tags": ["b"]}'
    [nameless] = read_tool_calls([{"type": "tool_use", "id": "t2", "input": {}}])
    assert nameless.problem is not None
    assert nameless.problem.message == "the tool call has no function name (got NoneType)"


def test_strict_tools_follow_anthropic_rules(registry: LocalRegistry) -> None:
    """strict=True closes every object and says strict; what Anthropic refuses is named."""
    with pytest.raises(StrictSchemaError) as caught:
        messages_tools(registry, strict=True)
    assert caught.value.problems == (
        StrictSchemaProblem(
            "docs",
            (
                "$.query: 'minLength' is not supported in anthropic strict mode",
                "$.k: 'minimum' is not supported in anthropic strict mode",
                "$.k: 'maximum' is not supported in anthropic strict mode",
            ),
        ),
    )
    assert strict_problems(registry) == caught.value.problems
    tools = messages_tools(registry, strict="where_possible")
    adapter = pydantic.TypeAdapter(ToolParam)
    for tool in tools:
        adapter.validate_python(tool)
    by_name = {tool["name"]: tool for tool in tools}
    assert "strict" not in by_name["docs"]
    assert by_name["docs"]["input_schema"] == registry.list()[-1].args_schema
    assert by_name["add"] == {
        "name": "add",
        "description": "Add two numbers.",
        "input_schema": {
            "additionalProperties": False,
            "properties": {
                "a": {"title": "A", "type": "integer"},
                "b": {"default": 2, "title": "B", "type": "integer"},
                "note": {
                    "anyOf": [{"type": "string"}, {"type": "null"}],
                    "default": None,
                    "title": "Note",
                },
            },
            "required": ["a"],
            "type": "object",
        },
        "strict": True,
    }


def test_input_of_any_depth_is_read_into_a_call() -> None:
    """Input nested past json.dumps's recursion limit (a block made by hand) is still read:
    its raw text is cut where toolware's encoder stops, and nothing raises."""
    deep: list[Any] = []
    for _ in range(5_000):
        deep = [deep]
    [call] = read_tool_calls([tool_use("t1", "add", {"x": deep})])
    assert (call.id, call.name, call.problem) == ("t1", "add", None)
    assert call.raw_arguments.startswith('{"x": [[[[')
    assert call.raw_arguments.endswith("]]]]}")


TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


async def test_every_option_takes_effect_in_both_functions() -> None:
    """registry, principal, trace, extras, timeout, max_concurrency, max_chunks and on_chunk,
    through run_tool_calls and execute_tool_calls alike."""

    async def execute(*args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        return [outcome.message for outcome in await execute_tool_calls(*args, **kwargs)]

    heard: list[tuple[str, int, Any]] = []
    for run in (run_tool_calls, execute):
        bench = options_bench()
        heard.clear()
        results = await run(
            bench.pipeline,
            [
                tool_use("t1", "echo_context", {"word": "w"}),
                tool_use("t2", "count_to", {"n": 5}),
                tool_use("t3", "work", {"n": 1}),
                tool_use("t4", "work", {"n": 2}),
            ],
            registry=bench.registry,
            principal=Principal(id="ann"),
            trace=TraceContext(traceparent=TRACEPARENT),
            extras=EMPTY_EXTRAS.with_value(TENANT, "acme"),
            timeout=4.0,
            max_concurrency=1,
            max_chunks=2,
            on_chunk=lambda call, number, chunk: heard.append((call.id, number, chunk)),
        )
        assert bench.seen == [
            {"principal": "ann", "trace": TRACEPARENT, "call_id": "t1", "deadline": 1004.0}
        ]
        assert bench.tenants == ["acme"] * 4
        assert (bench.most_at_once, heard) == (1, [("t2", 1, 1), ("t2", 2, 2)])
        cut = json.loads(results[1]["content"])
        assert (cut["error"]["category"], cut["partial_chunks"]) == ("invalid_request", [1, 2])
        assert [r["content"] for r in (results[0], results[2], results[3])] == ['"w"', "1", "2"]
        await bench.pipeline.aclose()


def test_the_raw_text_is_the_input_as_sent() -> None:
    """Text input stays as it is; an object is written as JSON with non-ASCII and NaN as they
    came; a call without a name has no arguments to run."""
    [text, accented, odd] = read_tool_calls(
        [
            tool_use("t1", "add", '{"a": 1}'),
            tool_use("t2", "add", {"note": "café"}),
            tool_use("t3", "add", {"a": float("nan")}),
        ]
    )
    assert text == ToolCall("t1", "add", {"a": 1}, '{"a": 1}', None, "anthropic")
    assert accented.raw_arguments == '{"note": "café"}'
    assert odd.raw_arguments == '{"a": NaN}'
    [nameless] = read_tool_calls([{"type": "tool_use", "id": "t2", "input": {"a": 1}}])
    assert (nameless.arguments, nameless.raw_arguments) == (None, '{"a": 1}')
    with pytest.raises(TypeError) as caught:
        read_tool_calls([("a", "b")])
    assert str(caught.value) == (
        "item 0 is not a content block: tuple without a 'type'; pass message.content"
    )


async def test_a_null_for_an_optional_reaches_validation(registry: LocalRegistry) -> None:
    """Anthropic keeps optionals optional: a null is the model's value, checked as it is."""
    async with default_pipeline(registry) as pipeline:
        [result] = await run_tool_calls(pipeline, [tool_use("t1", "add", {"a": 1, "b": None})])
    assert result["is_error"] is True
    assert json.loads(result["content"])["error"]["category"] == "invalid_request"


async def test_bad_options_are_refused(registry: LocalRegistry) -> None:
    """max_concurrency is checked here as for OpenAI, before anything runs."""
    async with default_pipeline(registry) as pipeline:
        with pytest.raises(ValueError, match=r"^max_concurrency must be a whole number >= 1"):
            await run_tool_calls(pipeline, [], max_concurrency=0)
