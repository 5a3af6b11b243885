"""Running a model's tool calls through a pipeline: the part OpenAI and Anthropic share.

A call is read from an SDK object or a plain dict alike (fields by attribute or key, so the
SDKs need not be importable), its function name mapped back to a registry entry
(``notes__add`` → plugin ``notes``, action ``add``), and its arguments parsed. Every call of a
batch runs concurrently through the pipeline, at most ``max_concurrency`` at a time, and gets
exactly one answer, in the order of the calls:

* arguments that are not JSON, or not a JSON object, are answered ``invalid_request`` without
  running anything (models do send broken JSON: that is the model's mistake, not a crash);
* a second call with an id already seen in the batch is not run, and is answered
  ``invalid_request`` naming the id (the answers could not be told apart);
* a name the registry does not know still goes through the pipeline, so that the stages in
  front (authentication first) answer before the registry says ``not_found``;
* a streamed answer is read to its end (``on_chunk`` hears each chunk) and sent as the list of
  its chunks; a stream that fails part way sends its error with the chunks received before it.

Reading the calls is :mod:`._calls`, mapping names to entries :mod:`._routes`, and the
answer's JSON text (the value, or ``{"error": {...}}``) :mod:`._answers`.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from toolware.clock import Clock
from toolware.context import (
    MAX_COLLECTED_CHUNKS,
    PARTIAL_CHUNKS,
    Principal,
    ResponseContext,
    TraceContext,
    checked_deadline,
)
from toolware.errors import InvalidRequestError, ResultTooLargeError, ToolwareError
from toolware.extras import EMPTY_EXTRAS, ExtraKey, Extras
from toolware.integrations._answers import content_of
from toolware.integrations._calls import JSON_HINT, CallProblem, ToolCall
from toolware.integrations._routes import Route, route_for
from toolware.pipeline import Pipeline

__all__ = [
    "TOOL_CALL_ID",
    "CallOptions",
    "ChunkHook",
    "Render",
    "ToolCallOutcome",
    "call_options",
    "duplicates",
    "run_calls",
]

logger = logging.getLogger("toolware.integrations.tool_calls")

TOOL_CALL_ID: ExtraKey[str] = ExtraKey("tool_call_id", str)
"""The model's id of the tool call a request answers (``call_…``, ``toolu_…``)."""


@dataclass(frozen=True, slots=True)
class ToolCallOutcome:
    """A call, the pipeline's response (never a stream: read to its end), the answer sent
    back to the model (``message``: a chat ``tool`` message, a Responses
    ``function_call_output`` item or an Anthropic ``tool_result`` block) and, for a streamed
    answer, how many chunks arrived (``None``: it did not stream). ``seconds`` is how long
    the call took on the pipeline's clock, its stream read to the end included (0 for a call
    answered without running: bad arguments, a duplicate id)."""

    call: ToolCall
    response: ResponseContext
    message: dict[str, Any]
    chunks: int | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.response.error is None


ChunkHook = Callable[[ToolCall, int, Any], None]
"""``on_chunk(call, number, chunk)``: a streamed answer's chunk ``number`` (from 1) arrived."""


Render = Callable[[ToolCall, ResponseContext, str], dict[str, Any]]


@dataclass(frozen=True, slots=True, kw_only=True)
class CallOptions:
    """What ``run_tool_calls`` passes to every request of a batch."""

    principal: Principal | None = None
    deadline: float | None = None
    trace: TraceContext | None = None
    extras: Extras = EMPTY_EXTRAS
    max_chunks: int = MAX_COLLECTED_CHUNKS
    on_chunk: ChunkHook | None = None
    strict: bool = False


def call_options(
    clock: Clock,
    *,
    principal: Principal | None,
    timeout: float | None,
    deadline: float | None,
    trace: TraceContext | None,
    extras: Extras,
    max_concurrency: int | None,
    max_chunks: int,
    on_chunk: ChunkHook | None,
    strict: bool = False,
) -> CallOptions:
    """The options of one batch, checked (a ``ValueError``/``TypeError`` says what to pass);
    ``timeout`` becomes a deadline shared by the batch's calls."""
    if max_concurrency is not None and (
        isinstance(max_concurrency, bool)
        or not isinstance(max_concurrency, int)
        or max_concurrency < 1
    ):
        raise ValueError(
            f"max_concurrency must be a whole number >= 1, or None for no bound, "
            f"got {max_concurrency!r}"
        )
    if isinstance(max_chunks, bool) or not isinstance(max_chunks, int) or max_chunks < 1:
        raise ValueError(f"max_chunks must be a whole number >= 1, got {max_chunks!r}")
    checked_deadline(deadline)
    if timeout is not None:
        if isinstance(timeout, bool) or not isinstance(timeout, int | float):
            raise TypeError(f"timeout must be a number of seconds, got {timeout!r}")
        if not (timeout > 0 and math.isfinite(timeout)):
            raise ValueError(
                f"timeout must be a finite number of seconds > 0, got {timeout!r}; "
                "pass timeout=None (the default) for no deadline of the batch's own"
            )
        ends = clock.monotonic() + timeout
        deadline = ends if deadline is None else min(deadline, ends)
    return CallOptions(
        principal=principal,
        deadline=deadline,
        trace=trace,
        extras=extras,
        max_chunks=max_chunks,
        on_chunk=on_chunk,
        strict=strict,
    )


def duplicates(calls: Sequence[ToolCall]) -> list[ToolCall]:
    """``calls`` with every repeat of an id marked as a problem (the first one runs)."""
    seen: dict[str, int] = {}
    marked: list[ToolCall] = []
    for position, call in enumerate(calls):
        first = seen.setdefault(call.id, position)
        if first != position and call.problem is None:
            call = replace(
                call,
                arguments=None,
                problem=CallProblem(
                    f"tool call id {call.id!r} was already used by call {first} of this batch; "
                    "this call was not run",
                    "give each tool call its own id",
                ),
            )
        marked.append(call)
    return marked


async def run_calls(
    pipeline: Pipeline,
    calls: Sequence[ToolCall],
    known: Mapping[str, Route],
    render: Render,
    options: CallOptions,
    max_concurrency: int | None,
) -> list[ToolCallOutcome]:
    """Run ``calls`` concurrently (at most ``max_concurrency`` at once); one outcome per
    call, in order. An exception from ``on_chunk`` cancels the other calls and propagates."""
    calls = duplicates(calls)
    limit = None if max_concurrency is None else asyncio.Semaphore(max_concurrency)
    if len(calls) == 1:  # no task for a single call: it is the common case, and cheaper
        return [await _run_one(pipeline, calls[0], known, render, options, limit)]
    tasks = [
        asyncio.ensure_future(_run_one(pipeline, call, known, render, options, limit))
        for call in calls
    ]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        # Only the caller's own code (on_chunk) raises here: stop the other calls, wait for
        # them to end, and raise its exception as it is (as a single call would).
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


async def _run_one(
    pipeline: Pipeline,
    call: ToolCall,
    known: Mapping[str, Route],
    render: Render,
    options: CallOptions,
    limit: asyncio.Semaphore | None,
) -> ToolCallOutcome:
    route = route_for(call.name, known)
    problem = call.problem
    if problem is not None or call.arguments is None:
        if problem is None:  # a ToolCall made by hand without arguments
            problem = CallProblem("the call has no arguments", JSON_HINT)
        error = InvalidRequestError(problem.message, hint=problem.hint)
        logger.info(
            "tool_calls.refused call_id=%s function=%s",
            call.id,
            call.name,
            extra={"call_id": call.id, "function": call.name},
        )
        response = ResponseContext.failure(error.bind(call.id, call.name))
        return ToolCallOutcome(call, response, render(call, response, content_of(response, route)))
    clock = pipeline.clock
    if limit is None:
        started = clock.monotonic()
        response, chunks = await _invoke(pipeline, call, route, options)
    else:
        async with limit:  # the wait for a slot is not the call's time
            started = clock.monotonic()
            response, chunks = await _invoke(pipeline, call, route, options)
    message = render(call, response, content_of(response, route, known))
    return ToolCallOutcome(call, response, message, chunks, clock.monotonic() - started)


async def _invoke(
    pipeline: Pipeline, call: ToolCall, route: Route, options: CallOptions
) -> tuple[ResponseContext, int | None]:
    arguments = call.arguments
    description = route.description
    if options.strict and description is not None and isinstance(arguments, dict):
        from toolware.integrations._strict_schema import drop_absent_nulls

        arguments = drop_absent_nulls(description.args_schema, arguments)
    response = await pipeline.invoke(
        route.name,
        arguments,
        kind=route.kind,
        action=route.action,
        principal=options.principal,
        deadline=options.deadline,
        trace=options.trace,
        extras=options.extras.with_value(TOOL_CALL_ID, call.id),
    )
    stream = response.stream
    if stream is None:
        return response, None
    received: list[Any] = []
    on_chunk = options.on_chunk
    try:
        async with stream as chunks:
            async for chunk in chunks:
                if len(received) >= options.max_chunks:
                    raise ResultTooLargeError(
                        f"the stream of {call.name!r} has more than {options.max_chunks} "
                        "chunks, the most one tool answer carries",
                        limit=options.max_chunks,
                        request_id=stream.request_id,
                        target=stream.target,
                    )
                received.append(chunk)
                if on_chunk is not None:
                    on_chunk(call, len(received), chunk)
    except ToolwareError as error:
        extras = response.extras.with_value(PARTIAL_CHUNKS, tuple(received))
        return response.evolve(stream=None, error=error, extras=extras), len(received)
    return response.evolve(stream=None, value=received), len(received)
