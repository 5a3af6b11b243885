"""A scripted agent session: assistant turns with tool calls, as a chat-completions API sends them.

Each turn's calls run concurrently, as agents issue parallel tool calls; every call goes through
the pipeline and comes back as a ``{"role": "tool"}`` message, by the machinery of
:mod:`toolware.integrations.openai` (``run_tool_calls``). The script exercises every path:
success, bad arguments, a failing tool, a timeout, a RAG query, plugin actions, a tool name
the model made up, a streamed report read chunk by chunk, and a stream cut short by its idle
timeout; then the resilience stages of :func:`toolware.demo.pipeline.demo_pipeline`: a flaky
quote rescued by retry, a dead CRM whose circuit breaker opens, a burst of texts that hits the
rate limit, and an exchange rate answered from the cache the second time.

A streamed answer is read as it arrives (``on_chunk`` hears each chunk) inside ``async with``,
so the stream is closed however the reading ends; the tool message then carries the list of
chunks, or the error with the chunks received before it (an agent may still use them).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from toolware.context import ResponseContext
from toolware.demo.functions import Route
from toolware.integrations._calls import ToolCall
from toolware.integrations._tool_calls import CallOptions, ToolCallOutcome, run_calls
from toolware.integrations.openai import read_tool_calls
from toolware.markers import CACHE_HIT
from toolware.pipeline import Pipeline

__all__ = ["EXPECTED_CATEGORIES", "SCRIPT", "CallOutcome", "ChunkHook", "TurnHook", "run_session"]

TurnHook = Callable[[int, Mapping[str, Any]], None]
"""``on_turn_start(number, turn)``: a turn's calls are about to run."""
ChunkHook = Callable[[str, int, Any], None]
"""``on_chunk(call_id, number, chunk)``: a streamed call sent its chunk ``number`` (from 1)."""


def _call(number: int, name: str, arguments: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": f"call_{number}",
        "type": "function",
        "function": {"name": name, "arguments": json.dumps(arguments)},
    }


def _turn(content: str, *calls: dict[str, Any]) -> dict[str, Any]:
    return {"role": "assistant", "content": content, "tool_calls": list(calls)}


SCRIPT: tuple[dict[str, Any], ...] = (
    _turn(
        "First the numbers: the ratio, and the marathon distance in km.",
        _call(1, "calculator", {"expression": "2 * (3 + 4) ** 2 / sqrt(16)"}),
        _call(2, "convert_units", {"value": 26.2, "from_unit": "mi", "to_unit": "km"}),
    ),
    _turn(
        "Now the parcel weight in stone, and the revenue per empty slot.",
        _call(3, "convert_units", {"value": 5, "from_unit": "kg", "to_unit": "stone"}),
        _call(4, "calculator", {"expression": "1250000 / (4 - 4)"}),
    ),
    _turn(
        "Fetching the Q3 report; meanwhile I note the plan.",
        _call(5, "fetch_report", {"quarter": "Q3"}),
        _call(6, "notes__add", {"text": "Q3 report requested", "tags": ["reports"]}),
    ),
    _turn(
        "The report timed out. How do timeouts of slow synchronous tools work?",
        _call(7, "docs", {"query": "timeout of a slow synchronous tool", "k": 2}),
    ),
    _turn(
        "Saving what I learned, then reviewing my notes.",
        _call(8, "notes__add", {"text": "a sync tool keeps running after its timeout"}),
        _call(9, "notes__search", {"query": "timeout"}),
        _call(10, "notes__list", {}),
    ),
    _turn(
        "Double-checking with a calculate tool, and listing the server's files.",
        _call(11, "calculate", {"expression": "2 + 2"}),
        _call(12, "calculator", {"expression": "__import__('os').listdir('.')"}),
    ),
    _turn(
        "Drafting the Q3 report; I will read each section as it is written.",
        _call(13, "write_report", {"quarter": "Q3"}),
    ),
    _turn(
        "Following the live order feed for the new orders.",
        _call(14, "follow_orders", {"limit": 3}),
    ),
    _turn(
        "Looking up the ACME share price and the euro in dollars.",
        _call(15, "fetch_quote", {"symbol": "ACME"}),
        _call(16, "exchange_rate", {"base": "EUR", "quote": "USD"}),
    ),
    _turn(
        "Loading the customer's record from the CRM.",
        _call(17, "legacy_crm", {"customer_id": "C-1042"}),
    ),
    _turn(
        "Texting the customer three updates.",
        _call(18, "send_sms", {"to": "+4915550100", "text": "Your quote is ready."}),
        _call(19, "send_sms", {"to": "+4915550100", "text": "ACME trades at 182.35 USD."}),
        _call(20, "send_sms", {"to": "+4915550100", "text": "Call us back any time."}),
    ),
    _turn(
        "Trying the CRM once more, and the euro rate again for the total.",
        _call(21, "legacy_crm", {"customer_id": "C-1042"}),
        _call(22, "exchange_rate", {"base": "EUR", "quote": "USD"}),
    ),
)

# The category of each call's answer, in call order (None: a value).
EXPECTED_CATEGORIES: tuple[str | None, ...] = (
    None,
    None,
    "invalid_request",
    "tool_failed",
    "timeout",
    None,
    None,
    None,
    None,
    None,
    "not_found",
    "tool_failed",
    None,
    "timeout",
    None,  # fetch_quote: failed twice, rescued by the third attempt
    None,
    "tool_failed",  # legacy_crm: three attempts failed; its breaker opened
    None,
    None,
    "rate_limited",  # send_sms: the burst of two was spent
    "circuit_open",  # legacy_crm: refused at once while the breaker rests it
    None,  # exchange_rate: a cache hit
)


@dataclass(frozen=True, slots=True)
class CallOutcome:
    """One tool call of the session and the message the agent got back."""

    turn: int
    call_id: str
    function: str
    arguments: str
    message: Mapping[str, str]
    category: str | None
    seconds: float
    chunks: int | None = None
    """Chunks a streamed answer delivered (before its error, if it failed); ``None``: the
    call did not stream."""
    attempts: int = 1
    """How many times the handler was tried (``response.attempts``: retry sets it)."""
    cache_hit: bool = False
    """Answered from the cache (``markers.CACHE_HIT``) without calling the tool."""


def _outcome(turn: int, outcome: ToolCallOutcome) -> CallOutcome:
    response = outcome.response
    return CallOutcome(
        turn=turn,
        call_id=outcome.call.id,
        function=outcome.call.name,
        arguments=outcome.call.raw_arguments,
        message=outcome.message,
        category=None if response.error is None else response.error.category.value,
        seconds=outcome.seconds,
        chunks=outcome.chunks,
        attempts=response.attempts,
        cache_hit=response.get(CACHE_HIT) is True,
    )


def _answer(call: ToolCall, response: ResponseContext, content: str) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": call.id, "content": content}


async def run_session(
    pipeline: Pipeline,
    known: Mapping[str, Route],
    script: Sequence[Mapping[str, Any]] = SCRIPT,
    *,
    on_turn: Callable[[int, Mapping[str, Any], Sequence[CallOutcome]], None] | None = None,
    on_turn_start: TurnHook | None = None,
    on_chunk: ChunkHook | None = None,
) -> list[CallOutcome]:
    """Run every turn of ``script`` in order, the calls of a turn concurrently.

    ``on_turn_start(number, turn)`` is called before a turn's calls run, ``on_chunk(call_id,
    number, chunk)`` as each chunk of a streamed answer arrives, and ``on_turn(number, turn,
    outcomes)`` as each turn finishes, to show progress.
    """
    hook = None
    if on_chunk is not None:
        chunk_hook = on_chunk

        def hook(call: ToolCall, number: int, chunk: Any) -> None:
            chunk_hook(call.id, number, chunk)

    options = CallOptions(on_chunk=hook)
    outcomes: list[CallOutcome] = []
    for number, turn in enumerate(script, start=1):
        calls = read_tool_calls(turn.get("tool_calls"))
        if on_turn_start is not None:
            on_turn_start(number, turn)
        ran = await run_calls(pipeline, calls, known, _answer, options, None)
        done = [_outcome(number, outcome) for outcome in ran]
        if on_turn is not None:
            on_turn(number, turn, done)
        outcomes.extend(done)
    return outcomes
