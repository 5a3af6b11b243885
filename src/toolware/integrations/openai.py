"""OpenAI tool calling: ``tools=[...]`` from a registry; the model's calls run through a pipeline.

::

    tools = chat_tools(registry)                       # Chat Completions
    completion = await client.chat.completions.create(model=..., messages=..., tools=tools)
    message = completion.choices[0].message
    messages.append(message.model_dump(exclude_none=True))
    messages += await run_tool_calls(pipeline, message.tool_calls)

    tools = responses_tools(registry)                  # Responses API
    response = await client.responses.create(model=..., input=..., tools=tools)
    items += [*response.output, *await run_tool_calls(pipeline, response.output)]

Calls are read from SDK objects (``ChatCompletionMessageFunctionToolCall``,
``ResponseFunctionToolCall``) or plain dicts of the same shape; the ``openai`` package is not
needed for dicts. A chat call is answered with a ``{"role": "tool"}`` message, a Responses
``function_call`` with a ``function_call_output`` item; items of ``response.output`` that are
not calls (messages, reasoning) are passed over. Each answer is JSON text: the value, or
``{"error": {"category", "message", "hint", ...}}`` the model can act on. See
:mod:`toolware.integrations._tool_calls` for bad JSON, duplicate ids, unknown names and streams.

A streamed completion (``stream=True``) is joined into its message first::

    collected = await collect_chat_stream(await client.chat.completions.create(..., stream=True))
    messages += [collected.message, *await run_tool_calls(pipeline, collected.tool_calls)]

``strict=True`` makes every function strict (all properties required, ``additionalProperties:
false``, optional ones nullable) or raises :class:`StrictSchemaError` naming each function that
cannot be; ``strict="where_possible"`` sends those without strict mode instead. Pass
``run_tool_calls(..., strict=True)`` with strict tools: a ``null`` for an optional argument
then means "not given", and the tool gets its default.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from toolware.context import MAX_COLLECTED_CHUNKS, Principal, ResponseContext, TraceContext
from toolware.encoding import to_json
from toolware.extras import EMPTY_EXTRAS, Extras
from toolware.integrations._calls import (
    Api,
    CallProblem,
    ToolCall,
    call_id,
    call_name,
    field,
    parse_arguments,
    read_calls,
)
from toolware.integrations._chat_stream import ChatStreamResult, collect_chat_stream
from toolware.integrations._definitions import (
    Strictness,
    StrictSchemaError,
    StrictSchemaProblem,
    definitions,
)
from toolware.integrations._definitions import strict_problems as _strict_problems
from toolware.integrations._routes import registry_of, routes
from toolware.integrations._strict_schema import OPENAI
from toolware.integrations._tool_calls import (
    TOOL_CALL_ID,
    ChunkHook,
    ToolCallOutcome,
    call_options,
    run_calls,
)
from toolware.pipeline import Pipeline
from toolware.registry.base import Registry

__all__ = [
    "TOOL_CALL_ID",
    "ChatStreamResult",
    "ChunkHook",
    "StrictSchemaError",
    "StrictSchemaProblem",
    "ToolCall",
    "ToolCallOutcome",
    "chat_tools",
    "collect_chat_stream",
    "execute_tool_calls",
    "read_tool_calls",
    "responses_tools",
    "run_tool_calls",
    "strict_problems",
]

_CHAT = "function"  # a chat completion's tool call
_CUSTOM = "custom"  # a chat completion's custom (free-text) tool call
_RESPONSES = "function_call"  # a Responses API output item
_RESPONSES_CUSTOM = "custom_tool_call"


def chat_tools(source: Registry | Pipeline, *, strict: Strictness = False) -> list[dict[str, Any]]:
    """The Chat Completions ``tools=[...]``: ``{"type": "function", "function": {...}}`` per
    entry of ``source`` (a registry, or a pipeline routed to one)."""
    tools: list[dict[str, Any]] = []
    for d in definitions(source, strict):
        function: dict[str, Any] = {
            "name": d.name,
            "description": d.description,
            "parameters": d.parameters,
        }
        if strict is not False:
            function["strict"] = d.strict
        tools.append({"type": "function", "function": function})
    return tools


def responses_tools(
    source: Registry | Pipeline, *, strict: Strictness = False
) -> list[dict[str, Any]]:
    """The Responses API ``tools=[...]``: ``{"type": "function", "name", "description",
    "parameters", "strict"}`` per entry (``strict`` is always said: the API's default is
    true, which would refuse the schemas that are not strict-compatible)."""
    return [
        {
            "type": "function",
            "name": d.name,
            "description": d.description,
            "parameters": d.parameters,
            "strict": d.strict,
        }
        for d in definitions(source, strict)
    ]


def strict_problems(source: Registry | Pipeline) -> tuple[StrictSchemaProblem, ...]:
    """The functions of ``source`` OpenAI's strict mode would refuse, with the reasons."""
    return _strict_problems(source, OPENAI)


def _read(position: int, item: object) -> ToolCall | None:
    kind = field(item, "type")
    if kind == _CHAT or (kind is None and field(item, "function") is not None):
        function = field(item, "function")
        ident = call_id(position, item, "id")
        name, missing = call_name(function)
        raw = field(function, "arguments") if function is not None else None
        return _call(ident, name, raw, missing, "chat")
    if kind == _RESPONSES:
        ident = call_id(position, item, "call_id")
        name, missing = call_name(item)
        return _call(ident, name, field(item, "arguments"), missing, "responses")
    if kind in (_CUSTOM, _RESPONSES_CUSTOM):
        key = "id" if kind == _CUSTOM else "call_id"
        custom = field(item, "custom") if kind == _CUSTOM else item
        custom_name = field(custom, "name") if custom is not None else None
        return ToolCall(
            call_id(position, item, key),
            custom_name if isinstance(custom_name, str) else "",
            None,
            "",
            CallProblem(
                "custom (free-text) tools are not run by toolware",
                "offer the function tools of chat_tools() or responses_tools() instead",
            ),
            api="chat" if kind == _CUSTOM else "responses",
        )
    if isinstance(kind, str):
        return None  # a message, reasoning or another output item: not a call to answer
    raise TypeError(
        f"item {position} is not a tool call: {type(item).__name__} without a 'type'; pass "
        "message.tool_calls or response.output"
    )


def _call(ident: str, name: str, raw: object, missing: CallProblem | None, api: Api) -> ToolCall:
    arguments, problem = parse_arguments(raw)
    text = raw if isinstance(raw, str) else ("" if raw is None else to_json(raw))
    problem = missing or problem
    return ToolCall(ident, name, None if problem else arguments, text, problem, api)


def read_tool_calls(calls: Iterable[object] | None) -> list[ToolCall]:
    """The calls of a chat message's ``tool_calls`` or a response's ``output``, parsed.

    Raises ``ValueError`` for a call without an id (it could not be answered) and
    ``TypeError`` for an item that is no call at all; bad arguments are the call's
    ``problem``, answered ``invalid_request`` when run."""
    return read_calls(calls or (), _read, "pass message.tool_calls, or response.output")


def _render(call: ToolCall, response: ResponseContext, content: str) -> dict[str, Any]:
    if call.api == "responses":
        return {"type": "function_call_output", "call_id": call.id, "output": content}
    return {"role": "tool", "tool_call_id": call.id, "content": content}


async def execute_tool_calls(
    pipeline: Pipeline,
    calls: Iterable[object] | None,
    *,
    registry: Registry | None = None,
    strict: bool = False,
    principal: Principal | None = None,
    timeout: float | None = None,  # noqa: ASYNC109 - the calls' deadline, not a cancel scope
    deadline: float | None = None,
    trace: TraceContext | None = None,
    extras: Extras = EMPTY_EXTRAS,
    max_concurrency: int | None = None,
    max_chunks: int = MAX_COLLECTED_CHUNKS,
    on_chunk: ChunkHook | None = None,
) -> list[ToolCallOutcome]:
    """Run the model's tool calls through ``pipeline``; one :class:`ToolCallOutcome` per call,
    in order, with the response and the answer (``outcome.message``).

    ``registry`` maps function names to entries (default: the one ``pipeline`` routes to).
    ``principal``, ``trace`` and ``extras`` go with every request (each also carries
    :data:`TOOL_CALL_ID`); ``timeout`` (seconds from now) or ``deadline`` (on the pipeline
    clock) bound the whole batch. ``max_concurrency`` bounds the calls in flight (``None``: all
    at once); ``max_chunks`` bounds a streamed answer; ``on_chunk(call, number, chunk)`` hears
    each chunk as it arrives (an exception from it cancels the batch and propagates).
    """
    options = call_options(
        pipeline.clock,
        principal=principal,
        timeout=timeout,
        deadline=deadline,
        trace=trace,
        extras=extras,
        max_concurrency=max_concurrency,
        max_chunks=max_chunks,
        on_chunk=on_chunk,
        strict=strict,
    )
    parsed = read_tool_calls(calls)
    known = routes(registry if registry is not None else registry_of(pipeline))
    return await run_calls(pipeline, parsed, known, _render, options, max_concurrency)


async def run_tool_calls(
    pipeline: Pipeline,
    calls: Iterable[object] | None,
    *,
    registry: Registry | None = None,
    strict: bool = False,
    principal: Principal | None = None,
    timeout: float | None = None,  # noqa: ASYNC109 - the calls' deadline, not a cancel scope
    deadline: float | None = None,
    trace: TraceContext | None = None,
    extras: Extras = EMPTY_EXTRAS,
    max_concurrency: int | None = None,
    max_chunks: int = MAX_COLLECTED_CHUNKS,
    on_chunk: ChunkHook | None = None,
) -> list[dict[str, Any]]:
    """The answers to the model's tool calls, in order: a ``{"role": "tool", "tool_call_id",
    "content"}`` message per chat call, a ``{"type": "function_call_output", "call_id",
    "output"}`` item per Responses call. Options as :func:`execute_tool_calls`."""
    outcomes = await execute_tool_calls(
        pipeline,
        calls,
        registry=registry,
        strict=strict,
        principal=principal,
        timeout=timeout,
        deadline=deadline,
        trace=trace,
        extras=extras,
        max_concurrency=max_concurrency,
        max_chunks=max_chunks,
        on_chunk=on_chunk,
    )
    return [outcome.message for outcome in outcomes]
