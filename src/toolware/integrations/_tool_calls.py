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

The answer's content is JSON text (:func:`toolware.encoding.to_json`): the value, or
``{"error": {...}}`` from :func:`error_payload`.
"""

from __future__ import annotations

import asyncio
import difflib
import json
import logging
import math
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal, NamedTuple

from toolware import _limits
from toolware.clock import Clock
from toolware.context import (
    MAX_COLLECTED_CHUNKS,
    PARTIAL_CHUNKS,
    Kind,
    Principal,
    ResponseContext,
    TraceContext,
    checked_deadline,
)
from toolware.encoding import to_json
from toolware.errors import ErrorCategory, InvalidRequestError, ResultTooLargeError, ToolwareError
from toolware.extras import EMPTY_EXTRAS, ExtraKey, Extras
from toolware.pipeline import Pipeline
from toolware.registry.base import EntryDescription, Registry
from toolware.registry.names import (
    ACTION_SEPARATOR,
    MAX_NAME_LENGTH,
    function_name,
    parse_function_name,
)
from toolware.router import Router

__all__ = [
    "TOOL_CALL_ID",
    "CallProblem",
    "ChunkHook",
    "Route",
    "ToolCall",
    "ToolCallOutcome",
    "error_payload",
    "field",
    "parse_arguments",
    "registry_of",
    "routes",
    "run_calls",
]

logger = logging.getLogger("toolware.integrations.tool_calls")

TOOL_CALL_ID: ExtraKey[str] = ExtraKey("tool_call_id", str)
"""The model's id of the tool call a request answers (``call_…``, ``toolu_…``)."""

Api = Literal["chat", "responses", "anthropic"]
"""Which API a call came from, and so the shape of its answer."""


_JSON_HINT = 'send the arguments as one JSON object, e.g. {"query": "tea"}'


@dataclass(frozen=True, slots=True)
class CallProblem:
    """Why a call cannot run, answered as ``invalid_request``: the message and the fix."""

    message: str
    hint: str


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One tool call as the model sent it, read from whichever shape it came in.

    ``arguments`` is the parsed JSON object, or ``None`` when ``problem`` says why the call
    cannot run (bad JSON, a duplicate id, no name); ``raw_arguments`` is the text the model
    sent (JSON text for OpenAI, the input re-encoded for Anthropic), for logs and display;
    ``api`` is the API it came from, which decides the shape of its answer.
    """

    id: str
    name: str
    arguments: Mapping[str, Any] | None
    raw_arguments: str
    problem: CallProblem | None = None
    api: Api = "chat"


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


class Route(NamedTuple):
    """Where a function name goes: kind, entry name, plugin action, and the entry's
    description when the registry lists it."""

    kind: Kind
    name: str
    action: str | None = None
    description: EntryDescription | None = None


def field(item: object, name: str) -> Any:
    """``item[name]`` for a mapping, ``item.name`` for an SDK object; ``None`` if absent."""
    if type(item) is dict or isinstance(item, Mapping):  # a dict skips the ABC check
        return item.get(name)
    return getattr(item, name, None)


def registry_of(source: object) -> Registry:
    """The registry behind ``source``: a registry itself, or a pipeline routed to one."""
    if isinstance(source, Pipeline):
        terminal = source.terminal
        if isinstance(terminal, Router):
            return terminal.registry
        raise TypeError(
            f"pipeline {source.name!r} does not route to a registry (its terminal is "
            f"{type(terminal).__name__}), so its tools are unknown; pass registry= as well"
        )
    if isinstance(source, Registry):
        return source
    raise TypeError(f"expected a Registry or a Pipeline routed to one, got {type(source).__name__}")


_ROUTES: dict[int, tuple[tuple[EntryDescription, ...], dict[str, Route]]] = {}
_CONTAINERS = ("tool_calls", "output", "content")  # a message or a response, passed whole
_ROUTES_KEPT = 16
_ROUTES_LOCK = threading.Lock()


def routes(registry: Registry) -> dict[str, Route]:
    """Function name → route, for every entry ``registry.list()`` gives (kept per listing)."""
    listing = registry.list()
    kept = _ROUTES.get(id(listing))
    if kept is not None and kept[0] is listing:
        return kept[1]
    found = {function_name(d): Route(d.kind, d.name, d.action, d) for d in listing}
    with _ROUTES_LOCK:  # event loops in several threads may share a registry
        while len(_ROUTES) >= _ROUTES_KEPT:  # listings change rarely: forget the oldest
            del _ROUTES[next(iter(_ROUTES))]
        _ROUTES[id(listing)] = (listing, found)
    return found


def route_for(name: str, known: Mapping[str, Route]) -> Route:
    """The route for a function name; an unknown name is tried as a tool (as a plugin action
    when it has ``__``), so that the registry answers ``not_found`` with close matches."""
    found = known.get(name)
    if found is not None:
        return found
    entry, action = parse_function_name(name)
    if action is not None and entry:
        return Route(Kind.PLUGIN, entry, action)
    return Route(Kind.TOOL, name)


def parse_arguments(text: object) -> tuple[Mapping[str, Any] | None, CallProblem | None]:
    """The arguments object from the model's JSON text (a mapping passes as it is; empty
    text is ``{}``), or ``None`` and why not."""
    if not isinstance(text, str):
        if isinstance(text, Mapping):
            return text, None
        if text is None:
            return {}, None
        problem = f"the arguments must be a JSON object, got {type(text).__name__}"
        return None, CallProblem(problem, _JSON_HINT)
    if not text:
        return {}, None
    try:
        arguments = json.loads(text)
    except ValueError as exc:
        return None, CallProblem(f"the arguments are not valid JSON: {exc}", _JSON_HINT)
    except RecursionError:  # [[[[...]]]] thousands deep: the parser's stack, not the process
        return None, CallProblem("the arguments are nested too deeply to read", _JSON_HINT)
    if not isinstance(arguments, dict):
        problem = f"the arguments must be a JSON object, got {type(arguments).__name__}"
        return None, CallProblem(problem, _JSON_HINT)
    return arguments, None


def error_payload(
    error: ToolwareError, route: Route | None = None, offered: Iterable[str] = ()
) -> dict[str, Any]:
    """What a model needs from an error: category, message, hint, and the fields, close
    matches (as function names) or ``retry_after`` (seconds, to the millisecond).

    A ``not_found`` error without close matches gets some from ``offered`` (the function
    names the model was given): the registry compares names within one kind, the model
    confuses them across kinds (``notes_add`` for ``notes__add``)."""
    data = error.to_dict()
    content = {key: data[key] for key in ("category", "message", "hint")}
    if data.get("fields"):
        content["fields"] = data["fields"]
    given = candidates = data.get("candidates")
    if (
        not candidates
        and error.category is ErrorCategory.NOT_FOUND
        and route is not None
        and len(route.name) <= 2 * MAX_NAME_LENGTH  # an invented 16 MB name: no matching
    ):
        wanted = route.name if route.action is None else f"{route.name}__{route.action}"
        candidates = difflib.get_close_matches(wanted, list(offered), n=_limits.MAX_CANDIDATES)
    if candidates:
        named = [_as_function(c, route) for c in candidates]
        content["candidates"] = named
        if named != given:
            content["hint"] = "did you mean " + " or ".join(repr(n) for n in named) + "?"
    retry_after = data.get("retry_after")
    if retry_after is not None:
        content["retry_after"] = round(retry_after, 3)
    return {"error": content}


def _as_function(candidate: str, route: Route | None) -> str:
    if route is not None and route.kind is Kind.PLUGIN and "." not in candidate:
        return f"{route.name}{ACTION_SEPARATOR}{candidate}"  # an action of the same plugin
    return candidate.replace(".", ACTION_SEPARATOR)


def content_of(response: ResponseContext, route: Route | None, offered: Iterable[str] = ()) -> str:
    """The JSON text answering a call: its value, or its error (with partial chunks)."""
    if response.error is None:
        return to_json(response.value)
    body = error_payload(response.error, route, offered)
    partial = response.get(PARTIAL_CHUNKS)
    if partial:
        body["partial_chunks"] = list(partial)
    return to_json(body)


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
            problem = CallProblem("the call has no arguments", _JSON_HINT)
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


def read_calls(
    items: Iterable[object], read: Callable[[int, object], ToolCall | None], hint: str
) -> list[ToolCall]:
    """Each item ``read`` turns into a call (``None``: not a call, passed over); ``hint``
    says what to pass when ``items`` is a whole message or a single call."""
    if isinstance(items, str | bytes | Mapping) or (
        not isinstance(items, list | tuple)
        and any(getattr(items, name, None) is not None for name in _CONTAINERS)
    ):
        raise TypeError(f"expected a list of tool calls, got {type(items).__name__}; {hint}")
    calls: list[ToolCall] = []
    for position, item in enumerate(items):
        call = read(position, item)
        if call is not None:
            calls.append(call)
    return calls


def call_id(position: int, item: object, key: str) -> str:
    """The call's id, or a ``ValueError`` naming the item: a call without one cannot be
    answered (the API matches answers to calls by it)."""
    value = field(item, key)
    if not isinstance(value, str) or not value:
        raise ValueError(
            f"tool call {position} has no {key!r} (got {type(value).__name__}); every call "
            "needs the id the model gave it, to answer it"
        )
    return value


def call_name(item: object, key: str = "name") -> tuple[str, CallProblem | None]:
    """The function name, or ``""`` and why it is missing."""
    value = field(item, key)
    if isinstance(value, str) and value:
        return value, None
    return "", CallProblem(
        f"the tool call has no function name (got {type(value).__name__})",
        "call one of the functions offered in tools, by its name",
    )
