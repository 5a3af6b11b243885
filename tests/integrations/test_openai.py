"""Tests for toolware.integrations.openai: tools=[...] and running a model's tool calls."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pydantic
import pytest
from openai.types.chat import (
    ChatCompletion,
    ChatCompletionMessageToolCall,
    ChatCompletionToolMessageParam,
    ChatCompletionToolParam,
)
from openai.types.responses import FunctionToolParam, Response, ResponseFunctionToolCall
from openai.types.responses.response_input_item_param import FunctionCallOutput

from tests.integrations.tool_call_support import TENANT, build_registry, options_bench
from toolware import LocalRegistry, PipelineBuilder, Principal, TraceContext, default_pipeline
from toolware.extras import EMPTY_EXTRAS
from toolware.integrations._calls import CallProblem
from toolware.integrations.openai import (
    StrictSchemaError,
    StrictSchemaProblem,
    ToolCall,
    chat_tools,
    execute_tool_calls,
    read_tool_calls,
    responses_tools,
    run_tool_calls,
    strict_problems,
)
from toolware.testing import FakeClock, FakeHandler

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def chat_call(call_id: str, name: str, arguments: str) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def completion(*calls: dict[str, Any]) -> ChatCompletion:
    """A chat completion whose message asks for ``calls``, built with the SDK's own model."""
    return ChatCompletion.model_validate(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 1,
            "model": "gpt-test",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "tool_calls",
                    "message": {"role": "assistant", "content": None, "tool_calls": list(calls)},
                }
            ],
        }
    )


def contents(messages: list[dict[str, Any]]) -> list[Any]:
    return [json.loads(m["content"]) for m in messages]


@pytest.fixture
def registry() -> LocalRegistry:
    return build_registry()


def test_chat_tools_are_accepted_by_the_sdk_param_type(registry: LocalRegistry) -> None:
    """One function per entry (plugin actions as name__action), valid ChatCompletionToolParam."""
    tools = chat_tools(registry)
    names = [t["function"]["name"] for t in tools]
    assert names == [
        "add",
        "echo_context",
        "boom",
        "count_to",
        "flaky_stream",
        "pause",
        "notes__add",
        "docs",
    ]
    adapter = pydantic.TypeAdapter(ChatCompletionToolParam)
    for tool in tools:
        adapter.validate_python(tool)
    assert tools[0] == {
        "type": "function",
        "function": {
            "name": "add",
            "description": "Add two numbers.",
            "parameters": registry.list()[0].args_schema,
        },
    }
    assert "strict" not in tools[0]["function"]


def test_a_pipeline_gives_the_tools_of_its_registry(registry: LocalRegistry) -> None:
    """chat_tools(pipeline) is chat_tools(registry); a pipeline without one is refused."""
    assert chat_tools(default_pipeline(registry)) == chat_tools(registry)
    bare = PipelineBuilder().route(FakeHandler(["x"])).build()
    with pytest.raises(TypeError, match=r"does not route to a registry .* pass registry="):
        chat_tools(bare)
    with pytest.raises(TypeError, match="expected a Registry or a Pipeline routed to one, got"):
        chat_tools(object())  # type: ignore[arg-type]


def test_responses_tools_are_accepted_by_the_sdk_param_type(registry: LocalRegistry) -> None:
    """Responses tools are flat and always say strict (the API would default to true)."""
    tools = responses_tools(registry)
    adapter = pydantic.TypeAdapter(FunctionToolParam)
    for tool in tools:
        adapter.validate_python(tool)
    assert tools[6] == {
        "type": "function",
        "name": "notes__add",
        "description": "Store a note; returns how many there are.",
        "parameters": registry.list()[6].args_schema,
        "strict": False,
    }


def test_strict_tools_make_optionals_required_and_nullable() -> None:
    """All properties required, additionalProperties false, defaults gone, optionals nullable."""
    registry = LocalRegistry()

    @registry.tool
    def add(a: int, b: int = 2, note: str | None = None) -> int:
        """Add."""
        return a + b

    [tool] = chat_tools(registry, strict=True)
    assert tool["function"]["strict"] is True
    assert tool["function"]["parameters"] == {
        "type": "object",
        "properties": {
            "a": {"title": "A", "type": "integer"},
            "b": {"anyOf": [{"type": "integer"}, {"type": "null"}], "title": "B"},
            "note": {"anyOf": [{"type": "string"}, {"type": "null"}], "title": "Note"},
        },
        "required": ["a", "b", "note"],
        "additionalProperties": False,
    }
    [flat] = responses_tools(registry, strict=True)
    assert (flat["strict"], flat["parameters"]) == (True, tool["function"]["parameters"])


def test_strict_refuses_every_function_that_cannot_be_strict(registry: LocalRegistry) -> None:
    """A free-form dict cannot be strict: the error names the function, the path and the fix;
    a retriever's query has minLength, which strict mode does not support either."""

    @registry.tool
    def tag(labels: dict[str, int], names: set[str]) -> int:
        return len(labels)

    with pytest.raises(StrictSchemaError) as caught:
        chat_tools(registry, strict=True)
    assert caught.value.problems == (
        StrictSchemaProblem(
            "docs", ("$.query: 'minLength' is not supported in openai strict mode",)
        ),
        StrictSchemaProblem(
            "tag",
            (
                "$.labels: an object that accepts any further keys ('additionalProperties') "
                "cannot be strict; give it fixed properties (a model or TypedDict instead of a "
                "dict)",
                "$.names: 'uniqueItems' is not supported in openai strict mode",
            ),
        ),
    )
    assert str(caught.value).startswith(
        "2 function(s) cannot be strict: docs: $.query: 'minLength' is not supported in openai "
        "strict mode; tag: $.labels: "
    )
    assert str(caught.value).endswith(
        "; change their signatures, or pass strict='where_possible' to send them without "
        "strict mode"
    )
    assert strict_problems(registry) == caught.value.problems


def test_strict_where_possible_sends_the_others_as_they_are(
    registry: LocalRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    """Those that cannot be strict go without strict mode, unchanged, each logged."""

    @registry.tool
    def tag(labels: dict[str, int]) -> int:
        return len(labels)

    with caplog.at_level(logging.WARNING, "toolware.integrations.definitions"):
        tools = chat_tools(registry, strict="where_possible")
    by_name = {t["function"]["name"]: t["function"] for t in tools}
    assert by_name["tag"]["strict"] is False
    assert by_name["tag"]["parameters"] == registry.list()[-1].args_schema
    assert by_name["add"]["strict"] is True
    assert [r.getMessage() for r in caplog.records] == [
        "definitions.not_strict function=docs reasons=$.query: 'minLength' is not supported in "
        "openai strict mode",
        "definitions.not_strict function=tag reasons=$.labels: an object that accepts any "
        "further keys ('additionalProperties') cannot be strict; give it fixed properties (a "
        "model or TypedDict instead of a dict)",
    ]


def test_strict_refuses_a_bad_value(registry: LocalRegistry) -> None:
    """strict takes True, False or 'where_possible' only."""
    with pytest.raises(ValueError, match="strict must be True, False or 'where_possible', got 'y"):
        chat_tools(registry, strict="yes")  # type: ignore[arg-type]


def test_a_lazy_entry_not_imported_is_offered_open_and_never_strict() -> None:
    """Its arguments are unknown until imported: an open object, and a strict problem."""
    registry = LocalRegistry()
    registry.add_lazy("json:dumps", name="dumps")
    [tool] = chat_tools(registry)
    assert tool["function"]["parameters"] == {"type": "object"}
    assert strict_problems(registry) == (
        StrictSchemaProblem(
            "dumps", ("$: a lazy entry not imported yet; its arguments are unknown",)
        ),
    )


async def test_chat_calls_from_the_sdk_are_answered_in_order(registry: LocalRegistry) -> None:
    """SDK tool calls run through the pipeline; tool messages come back in call order."""
    message = (
        completion(
            chat_call("call_1", "add", '{"a": 1, "b": 4}'),
            chat_call("call_2", "notes__add", '{"text": "hi"}'),
            chat_call("call_3", "docs", '{"query": "tea", "k": 1}'),
            chat_call("call_4", "boom", '{"reason": "disk full"}'),
        )
        .choices[0]
        .message
    )
    assert isinstance(message.tool_calls[0], ChatCompletionMessageToolCall)  # type: ignore[index]
    async with default_pipeline(registry) as pipeline:
        answers = await run_tool_calls(pipeline, message.tool_calls)
    adapter = pydantic.TypeAdapter(ChatCompletionToolMessageParam)
    for answer in answers:
        adapter.validate_python(answer)
    assert [(a["role"], a["tool_call_id"]) for a in answers] == [
        ("tool", "call_1"),
        ("tool", "call_2"),
        ("tool", "call_3"),
        ("tool", "call_4"),
    ]
    assert contents(answers)[:3] == [
        5,
        1,
        [{"id": "guide", "text": "about tea", "score": 1.0, "metadata": {}}],
    ]
    assert contents(answers)[3] == {
        "error": {
            "category": "tool_failed",
            "message": "'boom' raised RuntimeError: disk full",
            "hint": "the tool reported an error; check its arguments or its service",
        }
    }


async def test_responses_output_gets_function_call_outputs(registry: LocalRegistry) -> None:
    """Reasoning and message items are passed over; each function_call gets its output."""
    response = Response.model_validate(
        {
            "id": "resp_1",
            "object": "response",
            "created_at": 1,
            "model": "gpt-test",
            "parallel_tool_calls": True,
            "tool_choice": "auto",
            "tools": [],
            "output": [
                {"type": "reasoning", "id": "rs_1", "summary": []},
                {
                    "type": "function_call",
                    "id": "fc_1",
                    "call_id": "call_a",
                    "name": "add",
                    "arguments": '{"a": 2}',
                },
                {
                    "type": "message",
                    "id": "msg_1",
                    "role": "assistant",
                    "status": "completed",
                    "content": [{"type": "output_text", "text": "hm", "annotations": []}],
                },
                {
                    "type": "function_call",
                    "id": "fc_2",
                    "call_id": "call_b",
                    "name": "add",
                    "arguments": "{",
                },
            ],
        }
    )
    assert isinstance(response.output[1], ResponseFunctionToolCall)
    async with default_pipeline(registry) as pipeline:
        outputs = await run_tool_calls(pipeline, response.output)
    adapter = pydantic.TypeAdapter(FunctionCallOutput)
    for output in outputs:
        adapter.validate_python(output)
    assert outputs[0] == {"type": "function_call_output", "call_id": "call_a", "output": "4"}
    assert outputs[1]["call_id"] == "call_b"
    assert json.loads(outputs[1]["output"]) == {
        "error": {
            "category": "invalid_request",
            "message": "the arguments are not valid JSON: Expecting property name enclosed in "
            "double quotes: line 1 column 2 (char 1)",
            "hint": "send the arguments as one JSON object with the function's parameters as keys",
        }
    }
    assert len(outputs) == 2


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ("not json", "the arguments are not valid JSON: Expecting value: line 1 column 1 (char 0)"),
        ("[1, 2]", "the arguments must be a JSON object, got list"),
        ('"a"', "the arguments must be a JSON object, got str"),
        ("null", "the arguments must be a JSON object, got NoneType"),
        ("[" * 100_000, "the arguments are nested too deeply to read"),
    ],
)
async def test_arguments_that_are_not_a_json_object_are_invalid_requests(
    registry: LocalRegistry, arguments: str, message: str
) -> None:
    """Never an exception: an invalid_request answer the model can correct, nothing run."""
    async with default_pipeline(registry) as pipeline:
        [outcome] = await execute_tool_calls(pipeline, [chat_call("c1", "boom", arguments)])
    assert outcome.response.error is not None
    assert outcome.response.error.category == "invalid_request"
    assert outcome.response.error.message == message
    assert outcome.response.error.request_id == "c1"
    assert json.loads(outcome.message["content"])["error"]["message"] == message
    assert outcome.seconds == 0.0
    assert not outcome.ok


async def test_empty_arguments_mean_no_arguments(registry: LocalRegistry) -> None:
    """Models send "" for a function without parameters; it is {} (and a dict passes as is)."""
    async with default_pipeline(registry) as pipeline:
        answers = await run_tool_calls(
            pipeline,
            [
                chat_call("c1", "flaky_stream", ""),
                {
                    "id": "c2",
                    "type": "function",
                    "function": {"name": "add", "arguments": {"a": 1}},
                },
            ],
        )
    assert contents(answers)[0]["partial_chunks"] == ["a", "b"]
    assert contents(answers)[1] == 3


async def test_an_unknown_function_is_not_found_with_function_names(
    registry: LocalRegistry,
) -> None:
    """Close matches are given as function names (notes__add, not notes.add)."""
    async with default_pipeline(registry) as pipeline:
        answers = await run_tool_calls(
            pipeline,
            [
                chat_call("c1", "ad", '{"a": 1}'),
                chat_call("c2", "notes__ad", '{"text": "x"}'),
                chat_call("c3", "notes_add", '{"text": "x"}'),
            ],
        )
    errors = [c["error"] for c in contents(answers)]
    assert [e["category"] for e in errors] == ["not_found"] * 3
    assert errors[0]["candidates"] == ["add"]
    assert errors[0]["hint"] == "did you mean 'add'?"
    assert errors[1]["candidates"] == ["notes__add"]
    assert errors[1]["hint"] == "did you mean 'notes__add'?"
    assert errors[2]["candidates"] == ["notes__add"]
    assert errors[2]["hint"] == "did you mean 'notes__add'?"


async def test_a_repeated_call_id_is_answered_but_not_run(registry: LocalRegistry) -> None:
    """One answer per call, in order; the repeat is invalid_request naming the id."""
    async with default_pipeline(registry) as pipeline:
        answers = await run_tool_calls(
            pipeline,
            [
                chat_call("same", "notes__add", '{"text": "one"}'),
                chat_call("other", "notes__add", '{"text": "two"}'),
                chat_call("same", "notes__add", '{"text": "three"}'),
            ],
        )
    assert [a["tool_call_id"] for a in answers] == ["same", "other", "same"]
    assert contents(answers)[:2] == [1, 2]
    assert contents(answers)[2] == {
        "error": {
            "category": "invalid_request",
            "message": "tool call id 'same' was already used by call 0 of this batch; this "
            "call was not run",
            "hint": "give each tool call its own id",
        }
    }


async def test_calls_that_cannot_be_answered_are_refused(registry: LocalRegistry) -> None:
    """No id: ValueError naming the call; no type: TypeError; a single dict: TypeError."""
    pipeline = default_pipeline(registry)
    with pytest.raises(ValueError, match="tool call 1 has no 'id' \\(got NoneType\\)"):
        await run_tool_calls(
            pipeline, [chat_call("c1", "add", "{}"), {"type": "function", "function": {}}]
        )
    with pytest.raises(ValueError, match="tool call 0 has no 'call_id'"):
        await run_tool_calls(pipeline, [{"type": "function_call", "name": "add"}])
    with pytest.raises(TypeError, match="item 0 is not a tool call: int without a 'type'"):
        await run_tool_calls(pipeline, [3])
    with pytest.raises(TypeError, match="expected a list of tool calls, got dict"):
        await run_tool_calls(pipeline, chat_call("c1", "add", "{}"))  # type: ignore[arg-type]
    whole = completion(chat_call("c1", "add", "{}")).choices[0].message
    with pytest.raises(
        TypeError,
        match=r"got ChatCompletionMessage; pass message\.tool_calls, or response\.output",
    ):
        await run_tool_calls(pipeline, whole)  # type: ignore[arg-type]
    assert await run_tool_calls(pipeline, None) == []
    await pipeline.aclose()


async def test_calls_without_a_name_and_custom_calls_are_invalid(
    registry: LocalRegistry,
) -> None:
    """A call with no function name, or a custom free-text tool call, is answered, not run."""
    calls = [
        {"id": "c1", "type": "function", "function": {"arguments": "{}"}},
        {"id": "c2", "type": "function"},
        {"id": "c3", "type": "custom", "custom": {"name": "grep", "input": "x"}},
        {"type": "custom_tool_call", "call_id": "c4", "name": "grep", "input": "x"},
    ]
    async with default_pipeline(registry) as pipeline:
        outcomes = await execute_tool_calls(pipeline, calls)
    errors = [json.loads(o.message.get("content") or o.message["output"]) for o in outcomes]
    assert [e["error"]["message"] for e in errors] == [
        "the tool call has no function name (got NoneType)",
        "the tool call has no function name (got NoneType)",
        "custom (free-text) tools are not run by toolware",
        "custom (free-text) tools are not run by toolware",
    ]
    assert errors[2]["error"]["hint"] == (
        "offer the function tools of chat_tools() or responses_tools() instead"
    )
    assert [o.call.api for o in outcomes] == ["chat", "chat", "chat", "responses"]
    assert outcomes[2].call.name == "grep"
    assert outcomes[3].message["type"] == "function_call_output"


async def test_principal_trace_deadline_and_call_id_reach_the_tool(
    registry: LocalRegistry,
) -> None:
    """Each request carries the batch's principal, trace and deadline, and its own call id."""
    seen: list[dict[str, Any]] = []
    registry = build_registry(seen)
    clock = FakeClock()
    pipeline = PipelineBuilder(clock=clock).route(registry).build()
    trace = TraceContext(traceparent=TRACEPARENT)
    await run_tool_calls(
        pipeline,
        [chat_call("c1", "echo_context", '{"word": "a"}')],
        principal=Principal(id="alice"),
        trace=trace,
        timeout=5.0,
    )
    await run_tool_calls(
        pipeline,
        [chat_call("c2", "echo_context", '{"word": "b"}')],
        timeout=5.0,
        deadline=clock.monotonic() + 2.0,
    )
    await run_tool_calls(
        pipeline, [chat_call("c3", "echo_context", '{"word": "c"}')], deadline=1003.0
    )
    assert seen == [
        {"principal": "alice", "trace": TRACEPARENT, "call_id": "c1", "deadline": 1005.0},
        {"principal": None, "trace": None, "call_id": "c2", "deadline": 1002.0},
        {"principal": None, "trace": None, "call_id": "c3", "deadline": 1003.0},
    ]
    await pipeline.aclose()


async def test_calls_of_a_batch_run_concurrently() -> None:
    """Two calls that each wait for the other finish only if they run at the same time."""
    registry = LocalRegistry()
    arrived = {"first": asyncio.Event(), "second": asyncio.Event()}

    @registry.tool
    async def meet(me: str, other: str) -> str:
        arrived[me].set()
        await asyncio.wait_for(arrived[other].wait(), 5.0)
        return me

    async with default_pipeline(registry) as pipeline:
        answers = await run_tool_calls(
            pipeline,
            [
                chat_call("c1", "meet", '{"me": "first", "other": "second"}'),
                chat_call("c2", "meet", '{"me": "second", "other": "first"}'),
            ],
        )
    assert contents(answers) == ["first", "second"]


async def test_max_concurrency_bounds_the_calls_in_flight() -> None:
    """With max_concurrency=2, never more than 2 of 5 calls run at once; order is kept."""
    registry = LocalRegistry()
    state = {"now": 0, "most": 0}

    @registry.tool
    async def work(n: int) -> int:
        state["now"] += 1
        state["most"] = max(state["most"], state["now"])
        for _ in range(3):
            await asyncio.sleep(0)
        state["now"] -= 1
        return n

    calls = [chat_call(f"c{n}", "work", json.dumps({"n": n})) for n in range(5)]
    async with default_pipeline(registry) as pipeline:
        answers = await run_tool_calls(pipeline, calls, max_concurrency=2)
        assert (contents(answers), state["most"]) == ([0, 1, 2, 3, 4], 2)
        state["most"] = 0
        await run_tool_calls(pipeline, calls)
        assert state["most"] == 5


async def test_bad_options_are_refused(registry: LocalRegistry) -> None:
    """max_concurrency and max_chunks must be whole numbers >= 1."""
    pipeline = default_pipeline(registry)
    for bad in (0, True, 1.5):
        with pytest.raises(
            ValueError,
            match=f"max_concurrency must be a whole number >= 1, or None for no bound, got {bad!r}",
        ):
            await run_tool_calls(pipeline, [], max_concurrency=bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_chunks must be a whole number >= 1, got 0"):
        await run_tool_calls(pipeline, [], max_chunks=0)
    with pytest.raises(ValueError, match="timeout must be a finite number of seconds > 0, got 0"):
        await run_tool_calls(pipeline, [], timeout=0)
    with pytest.raises(TypeError, match="timeout must be a number of seconds, got '5'"):
        await run_tool_calls(pipeline, [], timeout="5")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="deadline must be a finite time"):
        await run_tool_calls(pipeline, [], deadline=float("nan"))
    await pipeline.aclose()


async def test_a_streamed_answer_is_collected_into_one_message(registry: LocalRegistry) -> None:
    """The chunks as a list; on_chunk hears each; a failure mid-stream keeps what came."""
    heard: list[tuple[str, int, Any]] = []

    def on_chunk(call: ToolCall, number: int, chunk: Any) -> None:
        heard.append((call.id, number, chunk))

    async with default_pipeline(registry) as pipeline:
        outcomes = await execute_tool_calls(
            pipeline,
            [chat_call("c1", "count_to", '{"n": 3}'), chat_call("c2", "flaky_stream", "{}")],
            on_chunk=on_chunk,
        )
    assert json.loads(outcomes[0].message["content"]) == [1, 2, 3]
    assert (outcomes[0].chunks, outcomes[1].chunks) == (3, 2)
    assert sorted(heard) == [
        ("c1", 1, 1),
        ("c1", 2, 2),
        ("c1", 3, 3),
        ("c2", 1, "a"),
        ("c2", 2, "b"),
    ]
    failed = json.loads(outcomes[1].message["content"])
    assert failed["partial_chunks"] == ["a", "b"]
    assert failed["error"]["category"] == "tool_failed"
    assert outcomes[0].ok
    assert not outcomes[1].ok


async def test_a_stream_longer_than_max_chunks_is_cut(registry: LocalRegistry) -> None:
    """Past max_chunks the stream is closed and answered invalid_request with what came."""
    async with default_pipeline(registry) as pipeline:
        [outcome] = await execute_tool_calls(
            pipeline, [chat_call("c1", "count_to", '{"n": 10}')], max_chunks=4
        )
    content = json.loads(outcome.message["content"])
    assert content["error"]["category"] == "invalid_request"
    assert content["error"]["message"] == (
        "the stream of 'count_to' has more than 4 chunks, the most one tool answer carries"
    )
    assert content["partial_chunks"] == [1, 2, 3, 4]


async def test_an_exception_from_on_chunk_cancels_the_batch(registry: LocalRegistry) -> None:
    """The hook is the caller's code: its exception propagates (the other calls are cancelled)."""

    def on_chunk(call: ToolCall, number: int, chunk: Any) -> None:
        raise KeyError("display broke")

    async with default_pipeline(registry) as pipeline:
        with pytest.raises(KeyError, match="display broke"):
            await run_tool_calls(
                pipeline,
                [
                    chat_call("c1", "count_to", '{"n": 2}'),
                    chat_call("c2", "pause", '{"seconds": 5}'),
                ],
                on_chunk=on_chunk,
            )
        # the other call (a 5 s pause) was cancelled, not waited for: the pipeline still works
        assert await run_tool_calls(pipeline, [chat_call("c3", "add", '{"a": 1}')]) == [
            {"role": "tool", "tool_call_id": "c3", "content": "3"}
        ]


async def test_strict_calls_send_null_for_left_out_optionals(registry: LocalRegistry) -> None:
    """With strict=True, null for an optional that refuses null means "use the default"; a
    nullable one keeps its null; without strict=True the null reaches validation."""
    call = chat_call("c1", "add", '{"a": 1, "b": null, "note": null}')
    async with default_pipeline(registry) as pipeline:
        strict = await run_tool_calls(pipeline, [call], strict=True)
        loose = await run_tool_calls(pipeline, [call])
    assert contents(strict) == [3]
    error = contents(loose)[0]["error"]
    assert (error["category"], error["fields"][0]["field"]) == ("invalid_request", "b")


async def test_a_pipeline_to_a_plain_handler_needs_the_registry(registry: LocalRegistry) -> None:
    """registry= names the functions when the pipeline's terminal is not a registry."""
    inner = default_pipeline(registry)
    outer = PipelineBuilder().route(inner).build()
    with pytest.raises(TypeError, match="pass registry= as well"):
        await run_tool_calls(outer, [chat_call("c1", "notes__add", '{"text": "x"}')])
    answers = await run_tool_calls(
        outer, [chat_call("c1", "notes__add", '{"text": "x"}')], registry=registry
    )
    assert contents(answers) == [1]
    await outer.aclose()


def test_read_tool_calls_keeps_what_the_model_sent() -> None:
    """Parsed arguments, the raw text, the API it came from."""
    [chat, responses] = read_tool_calls(
        [
            chat_call("c1", "add", '{"a": 1}'),
            {"type": "function_call", "call_id": "c2", "name": "add", "arguments": "{}"},
        ]
    )
    assert chat == ToolCall("c1", "add", {"a": 1}, '{"a": 1}', None, "chat")
    assert responses == ToolCall("c2", "add", {}, "{}", None, "responses")


async def test_a_misspelt_plugin_is_answered_with_its_function_name(
    registry: LocalRegistry,
) -> None:
    """A plugin name the registry does not know (Notes__add, notes__add__x): its close
    matches are plugins, so the answer names the function, never plugin '__' plugin."""
    async with default_pipeline(registry) as pipeline:
        answers = await run_tool_calls(
            pipeline,
            [
                chat_call("c1", "Notes__add", '{"text": "x"}'),
                chat_call("c2", "notes__add__x", '{"text": "x"}'),
            ],
        )
    errors = [c["error"] for c in contents(answers)]
    assert [e["category"] for e in errors] == ["not_found"] * 2
    assert [e["candidates"] for e in errors] == [["notes__add"], ["notes__add"]]
    assert [e["hint"] for e in errors] == ["did you mean 'notes__add'?"] * 2


async def test_every_option_takes_effect_in_both_functions() -> None:
    """registry, principal, trace, extras, timeout, max_concurrency, max_chunks, on_chunk and
    strict, through run_tool_calls and execute_tool_calls alike."""

    async def execute(*args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        return [outcome.message for outcome in await execute_tool_calls(*args, **kwargs)]

    heard: list[tuple[str, int, Any]] = []
    for run in (run_tool_calls, execute):
        bench = options_bench()
        heard.clear()
        answers = await run(
            bench.pipeline,
            [
                chat_call("c1", "echo_context", '{"word": "w"}'),
                chat_call("c2", "count_to", '{"n": 5}'),
                chat_call("c3", "work", '{"n": 1}'),
                chat_call("c4", "work", '{"n": 2}'),
                chat_call("c5", "add", '{"a": 1, "b": null}'),
            ],
            registry=bench.registry,
            strict=True,
            principal=Principal(id="ann"),
            trace=TraceContext(traceparent=TRACEPARENT),
            extras=EMPTY_EXTRAS.with_value(TENANT, "acme"),
            timeout=4.0,
            max_concurrency=1,
            max_chunks=2,
            on_chunk=lambda call, number, chunk: heard.append((call.id, number, chunk)),
        )
        assert bench.seen == [
            {"principal": "ann", "trace": TRACEPARENT, "call_id": "c1", "deadline": 1004.0}
        ]
        assert bench.tenants == ["acme"] * 5
        assert (bench.most_at_once, heard) == (1, [("c2", 1, 1), ("c2", 2, 2)])
        cut = json.loads(answers[1]["content"])
        assert (cut["error"]["category"], cut["partial_chunks"]) == ("invalid_request", [1, 2])
        assert [a["content"] for a in answers if a is not answers[1]] == ['"w"', "1", "2", "3"]
        await bench.pipeline.aclose()


def test_calls_of_every_shape_are_read() -> None:
    """A chat call without 'type' (made by hand) is read by its 'function'; a Responses call
    without a name cannot run; custom calls keep their id and name, with no arguments."""
    [untyped] = read_tool_calls([{"id": "c1", "function": {"name": "add", "arguments": "{}"}}])
    assert untyped == ToolCall("c1", "add", {}, "{}", None, "chat")
    [nameless] = read_tool_calls([{"type": "function_call", "call_id": "c2", "arguments": "{}"}])
    assert (nameless.name, nameless.arguments, nameless.api) == ("", None, "responses")
    assert nameless.problem is not None
    assert nameless.problem.message == "the tool call has no function name (got NoneType)"
    problem = CallProblem(
        "custom (free-text) tools are not run by toolware",
        "offer the function tools of chat_tools() or responses_tools() instead",
    )
    assert read_tool_calls(
        [
            {"id": "c3", "type": "custom", "custom": {"name": "grep", "input": "x"}},
            {"type": "custom_tool_call", "call_id": "c4", "name": "sed", "input": "y"},
        ]
    ) == [
        ToolCall("c3", "grep", None, "", problem, "chat"),
        ToolCall("c4", "sed", None, "", problem, "responses"),
    ]
    with pytest.raises(ValueError, match="tool call 0 has no 'call_id'"):
        read_tool_calls([{"type": "custom_tool_call", "name": "sed"}])


async def test_raw_arguments_and_the_default_of_strict(registry: LocalRegistry) -> None:
    """Arguments sent as an object are kept as JSON text, none as ""; a custom call without
    a name has ""; an item that is no call says what to pass; strict is off by default."""
    [sent_object, sent_none, custom] = read_tool_calls(
        [
            {"id": "c1", "type": "function", "function": {"name": "add", "arguments": {"a": 1}}},
            {"id": "c2", "type": "function", "function": {"name": "add", "arguments": None}},
            {"id": "c3", "type": "custom", "custom": {"name": 5}},
        ]
    )
    assert (sent_object.arguments, sent_object.raw_arguments) == ({"a": 1}, '{"a": 1}')
    assert (sent_none.arguments, sent_none.raw_arguments) == ({}, "")
    assert custom.name == ""
    with pytest.raises(TypeError) as caught:
        read_tool_calls([chat_call("c1", "add", "{}"), 5])  # type: ignore[list-item]
    assert str(caught.value) == (
        "item 1 is not a tool call: int without a 'type'; pass message.tool_calls or "
        "response.output"
    )
    async with default_pipeline(registry) as pipeline:
        [outcome] = await execute_tool_calls(
            pipeline, [chat_call("c1", "add", '{"a": 1, "b": null}')]
        )
    assert json.loads(outcome.message["content"])["error"]["category"] == "invalid_request"
