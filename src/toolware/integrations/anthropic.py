"""Anthropic tool use: Messages API ``tools=[...]`` from a registry, ``tool_use`` → ``tool_result``.

::

    tools = messages_tools(registry)
    message = await client.messages.create(model=..., messages=messages, tools=tools, ...)
    if message.stop_reason == "tool_use":
        messages += [
            {"role": "assistant", "content": message.content},
            tool_results_message(await run_tool_calls(pipeline, message.content)),
        ]

``run_tool_calls`` takes a message's ``content``: each ``tool_use`` block (an SDK
``ToolUseBlock`` or a plain dict; the ``anthropic`` package is not needed for dicts) is run
through the pipeline, and answered with a ``tool_result`` block whose ``content`` is JSON text:
the value, or ``{"error": {"category", "message", "hint", ...}}`` with ``is_error: true``.
Other blocks (text, thinking, server tools Anthropic runs itself) are passed over. Bad input,
duplicate ids, unknown names and streamed answers are handled as for OpenAI (see
:mod:`toolware.integrations._tool_calls`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from toolware.context import MAX_COLLECTED_CHUNKS, Principal, ResponseContext, TraceContext
from toolware.encoding import to_json
from toolware.extras import EMPTY_EXTRAS, Extras
from toolware.integrations._calls import (
    ToolCall,
    call_id,
    call_name,
    field,
    parse_arguments,
    read_calls,
)
from toolware.integrations._definitions import (
    Strictness,
    StrictSchemaError,
    StrictSchemaProblem,
    definitions,
)
from toolware.integrations._definitions import strict_problems as _strict_problems
from toolware.integrations._routes import registry_of, routes
from toolware.integrations._strict_schema import ANTHROPIC
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
    "ChunkHook",
    "StrictSchemaError",
    "StrictSchemaProblem",
    "ToolCall",
    "ToolCallOutcome",
    "execute_tool_calls",
    "messages_tools",
    "read_tool_calls",
    "run_tool_calls",
    "strict_problems",
    "tool_results_message",
]

_TOOL_USE = "tool_use"


def messages_tools(
    source: Registry | Pipeline, *, strict: Strictness = False
) -> list[dict[str, Any]]:
    """The Messages API ``tools=[...]``: ``{"name", "description", "input_schema"}`` per entry
    of ``source`` (a registry, or a pipeline routed to one).

    ``strict=True`` adds ``"strict": true`` with every object closed
    (``additionalProperties: false``), or raises :class:`StrictSchemaError` naming each
    function Anthropic's strict mode cannot take (numeric bounds, length limits, recursive
    models, free-form dicts...); ``strict="where_possible"`` sends those without it."""
    tools: list[dict[str, Any]] = []
    for d in definitions(source, strict, ANTHROPIC):
        tool: dict[str, Any] = {
            "name": d.name,
            "description": d.description,
            "input_schema": d.parameters,
        }
        if d.strict:
            tool["strict"] = True
        tools.append(tool)
    return tools


def strict_problems(source: Registry | Pipeline) -> tuple[StrictSchemaProblem, ...]:
    """The functions of ``source`` Anthropic's strict mode would refuse, with the reasons."""
    return _strict_problems(source, ANTHROPIC)


def _read(position: int, item: object) -> ToolCall | None:
    kind = field(item, "type")
    if kind == _TOOL_USE:
        ident = call_id(position, item, "id")
        name, missing = call_name(item)
        raw = field(item, "input")
        arguments, problem = parse_arguments(raw)
        problem = missing or problem
        text = raw if isinstance(raw, str) else _text(raw)
        return ToolCall(ident, name, None if problem else arguments, text, problem, "anthropic")
    if isinstance(kind, str):
        return None  # text, thinking, a server tool's block: not a call for us to answer
    raise TypeError(
        f"item {position} is not a content block: {type(item).__name__} without a 'type'; "
        "pass message.content"
    )


def _text(value: object) -> str:
    try:  # the input came from JSON: plain json.dumps is enough, and much cheaper
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):  # a block made by hand may hold anything
        return to_json(value)  # (including nesting too deep for json.dumps: to_json caps it)


def read_tool_calls(content: Iterable[object] | None) -> list[ToolCall]:
    """The ``tool_use`` blocks of a message's ``content``, parsed (``ValueError`` for a block
    without an id, ``TypeError`` for an item that is no content block)."""
    return read_calls(content or (), _read, "pass message.content")


def _render(call: ToolCall, response: ResponseContext, content: str) -> dict[str, Any]:
    return {
        "type": "tool_result",
        "tool_use_id": call.id,
        "content": content,
        "is_error": response.error is not None,
    }


async def execute_tool_calls(
    pipeline: Pipeline,
    content: Iterable[object] | None,
    *,
    registry: Registry | None = None,
    principal: Principal | None = None,
    timeout: float | None = None,  # noqa: ASYNC109 - the calls' deadline, not a cancel scope
    deadline: float | None = None,
    trace: TraceContext | None = None,
    extras: Extras = EMPTY_EXTRAS,
    max_concurrency: int | None = None,
    max_chunks: int = MAX_COLLECTED_CHUNKS,
    on_chunk: ChunkHook | None = None,
) -> list[ToolCallOutcome]:
    """Run the ``tool_use`` blocks of ``content`` through ``pipeline``; one
    :class:`ToolCallOutcome` per block, in order (``outcome.message`` is its ``tool_result``).
    Options as :func:`toolware.integrations.openai.execute_tool_calls`."""
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
    )
    parsed = read_tool_calls(content)
    known = routes(registry if registry is not None else registry_of(pipeline))
    return await run_calls(pipeline, parsed, known, _render, options, max_concurrency)


async def run_tool_calls(
    pipeline: Pipeline,
    content: Iterable[object] | None,
    *,
    registry: Registry | None = None,
    principal: Principal | None = None,
    timeout: float | None = None,  # noqa: ASYNC109 - the calls' deadline, not a cancel scope
    deadline: float | None = None,
    trace: TraceContext | None = None,
    extras: Extras = EMPTY_EXTRAS,
    max_concurrency: int | None = None,
    max_chunks: int = MAX_COLLECTED_CHUNKS,
    on_chunk: ChunkHook | None = None,
) -> list[dict[str, Any]]:
    """A ``{"type": "tool_result", "tool_use_id", "content", "is_error"}`` block per
    ``tool_use`` block of ``content``, in order. Options as :func:`execute_tool_calls`."""
    outcomes = await execute_tool_calls(
        pipeline,
        content,
        registry=registry,
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


def tool_results_message(results: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The user message that carries ``results`` back: ``{"role": "user", "content": [...]}``
    (the API wants every ``tool_result`` of a turn in one message, before any text)."""
    return {"role": "user", "content": list(results)}
