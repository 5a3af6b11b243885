"""Tests for toolware.demo.session: the scripted agent session through the demo pipeline."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from toolware import Kind, StatsRecorder, default_pipeline
from toolware.demo import build_registry
from toolware.demo.functions import routes
from toolware.demo.pipeline import BREAKER_BREAK, demo_pipeline
from toolware.demo.session import EXPECTED_CATEGORIES, SCRIPT, CallOutcome, run_session
from toolware.errors import ErrorCategory
from toolware.state.memory import MemoryState


@pytest.fixture
async def outcomes_and_stats() -> tuple[list[CallOutcome], StatsRecorder]:
    """The whole script, run with a fast fetch_report and order feed that still time out."""
    registry = build_registry(
        report_delay=0.05, report_timeout=0.005, section_pace=0, feed_idle_timeout=0.005
    )
    recorder = StatsRecorder()
    state = MemoryState()
    pipeline = demo_pipeline(registry, state=state, recorder=recorder)
    try:
        return await run_session(pipeline, routes(registry)), recorder
    finally:
        await state.aclose()


def test_script_uses_the_openai_tool_call_shape() -> None:
    """Every call has an id, type function, a name and arguments as a JSON string."""
    calls = [call for turn in SCRIPT for call in turn["tool_calls"]]
    assert [call["id"] for call in calls] == [f"call_{n}" for n in range(1, len(calls) + 1)]
    for turn in SCRIPT:
        assert turn["role"] == "assistant"
    for call in calls:
        assert call["type"] == "function"
        assert isinstance(json.loads(call["function"]["arguments"]), dict)


async def test_each_call_gets_the_expected_category(
    outcomes_and_stats: tuple[list[CallOutcome], StatsRecorder],
) -> None:
    """Success, invalid_request, tool_failed, timeout, not_found, rate_limited and
    circuit_open, exactly as scripted."""
    outcomes, _ = outcomes_and_stats
    assert tuple(o.category for o in outcomes) == EXPECTED_CATEGORIES
    assert [o.call_id for o in outcomes] == [f"call_{n}" for n in range(1, 23)]


async def test_answers_are_tool_messages(
    outcomes_and_stats: tuple[list[CallOutcome], StatsRecorder],
) -> None:
    """Each answer is a role=tool message for its call, with JSON content."""
    outcomes, _ = outcomes_and_stats
    by_id = {o.call_id: json.loads(o.message["content"]) for o in outcomes}
    for outcome in outcomes:
        assert outcome.message["role"] == "tool"
        assert outcome.message["tool_call_id"] == outcome.call_id
    assert by_id["call_1"] == 24.5
    assert by_id["call_2"] == pytest.approx(42.1648128)
    assert by_id["call_3"]["error"]["fields"][0]["field"] == "to_unit"
    assert "ZeroDivisionError" in by_id["call_4"]["error"]["message"]
    assert by_id["call_5"]["error"]["category"] == "timeout"
    assert by_id["call_7"][0]["id"] == "timeouts"
    assert len(by_id["call_7"]) == 2
    assert by_id["call_10"] == [
        {"id": 1, "text": "Q3 report requested", "tags": ["reports"]},
        {"id": 2, "text": "a sync tool keeps running after its timeout", "tags": []},
    ]
    assert by_id["call_11"]["error"]["hint"] == "did you mean 'calculator'?"
    assert "not allowed" in by_id["call_12"]["error"]["message"]
    assert [section["title"] for section in by_id["call_13"]] == ["Summary", "Regions", "Outlook"]
    assert by_id["call_14"]["error"]["category"] == "timeout"
    assert "idle timeout of 0.005s (after 2 chunk(s))" in by_id["call_14"]["error"]["message"]
    assert [order["id"] for order in by_id["call_14"]["partial_chunks"]] == [101, 102]


async def test_only_retried_calls_report_attempts_and_only_the_repeat_is_a_hit(
    outcomes_and_stats: tuple[list[CallOutcome], StatsRecorder],
) -> None:
    """fetch_quote and the first legacy_crm call took 3 attempts; the second exchange_rate call
    was the only cache hit."""
    outcomes, _ = outcomes_and_stats
    attempts = {o.call_id: o.attempts for o in outcomes if o.attempts != 1}
    assert attempts == {"call_15": 3, "call_17": 3}
    assert [o.call_id for o in outcomes if o.cache_hit] == ["call_22"]


async def test_resilience_answers(
    outcomes_and_stats: tuple[list[CallOutcome], StatsRecorder],
) -> None:
    """The rescued quote, the dead CRM then its open breaker, the spent SMS burst and the
    cached rate, as the agent sees them (retry_after in the message)."""
    outcomes, _ = outcomes_and_stats
    by_id = {o.call_id: json.loads(o.message["content"]) for o in outcomes}
    assert by_id["call_15"] == {"symbol": "ACME", "price": 182.35, "currency": "USD"}
    assert by_id["call_16"] == by_id["call_22"] == {"base": "EUR", "quote": "USD", "rate": 1.0842}
    crm = by_id["call_17"]["error"]
    assert crm["category"] == "tool_failed"
    assert "ConnectionError" in crm["message"]
    assert "retry_after" not in crm
    assert [by_id[f"call_{n}"]["message_id"] for n in (18, 19)] == ["sms-1", "sms-2"]
    limited = by_id["call_20"]["error"]
    assert limited["category"] == "rate_limited"
    assert 59.0 < limited["retry_after"] <= 60.0  # one text a minute, after a burst of two
    opened = by_id["call_21"]["error"]
    assert opened["category"] == "circuit_open"
    assert BREAKER_BREAK - 1.0 < opened["retry_after"] <= BREAKER_BREAK
    assert "legacy_crm" in opened["message"]


async def test_streamed_calls_count_their_chunks(
    outcomes_and_stats: tuple[list[CallOutcome], StatsRecorder],
) -> None:
    """A streamed call records the chunks it delivered; other calls record None."""
    outcomes, recorder = outcomes_and_stats
    chunks = {o.call_id: o.chunks for o in outcomes if o.chunks is not None}
    assert chunks == {"call_13": 3, "call_14": 2}
    orders = recorder.snapshot().get("follow_orders")
    assert (orders.streams_failed, orders.chunks) == (1, 2)
    assert recorder.snapshot().get("write_report").streams_completed == 1


async def test_statistics_count_every_call(
    outcomes_and_stats: tuple[list[CallOutcome], StatsRecorder],
) -> None:
    """The stats interceptor saw all calls; invented names are counted as (unknown)."""
    _, recorder = outcomes_and_stats
    snapshot = recorder.snapshot()
    assert snapshot.calls == len(EXPECTED_CATEGORIES)
    assert snapshot.get("calculator").calls == 3
    assert (snapshot.get("fetch_quote").retries, snapshot.get("legacy_crm").retries) == (2, 2)
    assert snapshot.get("exchange_rate").cache_hits == 1
    assert snapshot.get("exchange_rate").calls == 2
    assert snapshot.get("send_sms").errors == {ErrorCategory.RATE_LIMITED: 1}
    assert snapshot.get("legacy_crm").errors == {
        ErrorCategory.TOOL_FAILED: 1,
        ErrorCategory.CIRCUIT_OPEN: 1,
    }
    assert sum(t.retries for t in snapshot.targets) == 4
    assert sum(t.cache_hits for t in snapshot.targets) == 1
    assert snapshot.get("follow_orders").error_count == 1
    assert snapshot.get("calculator").error_count == 2
    assert snapshot.get("(unknown)").calls == 1
    assert snapshot.get("notes", kind=Kind.PLUGIN, action="add").calls == 2


async def test_turn_callback_and_broken_arguments() -> None:
    """on_turn sees each turn; arguments that are not a JSON object are invalid_request."""
    registry = build_registry()
    script = [
        {
            "role": "assistant",
            "content": "oops",
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "x", "arguments": "{"}},
                {"id": "c2", "type": "function", "function": {"name": "x", "arguments": "[]"}},
                {"id": "c3", "type": "function", "function": {"name": "docs", "arguments": ""}},
            ],
        }
    ]
    seen: list[tuple[int, int]] = []

    def on_turn(number: int, turn: Mapping[str, Any], done: Sequence[CallOutcome]) -> None:
        seen.append((number, len(done)))

    outcomes = await run_session(
        default_pipeline(registry), routes(registry), script, on_turn=on_turn
    )
    assert [o.category for o in outcomes] == ["invalid_request"] * 3
    assert "not valid JSON" in json.loads(outcomes[0].message["content"])["error"]["message"]
    assert "JSON object" in json.loads(outcomes[1].message["content"])["error"]["message"]
    assert seen == [(1, 3)]


async def test_hooks_see_turns_start_and_chunks_arrive() -> None:
    """on_turn_start runs before a turn's calls, on_chunk as each chunk arrives, in order."""
    registry = build_registry(section_pace=0, feed_idle_timeout=0.005)
    script = [
        {
            "role": "assistant",
            "content": "stream",
            "tool_calls": [
                {
                    "id": "s1",
                    "type": "function",
                    "function": {"name": "follow_orders", "arguments": '{"limit": 3}'},
                }
            ],
        }
    ]
    seen: list[tuple[Any, ...]] = []
    outcomes = await run_session(
        default_pipeline(registry),
        routes(registry),
        script,
        on_turn_start=lambda number, turn: seen.append(("start", number, turn["content"])),
        on_chunk=lambda call_id, number, chunk: seen.append((call_id, number, chunk["id"])),
        on_turn=lambda number, turn, done: seen.append(("end", number, len(done))),
    )
    assert seen == [("start", 1, "stream"), ("s1", 1, 101), ("s1", 2, 102), ("end", 1, 1)]
    assert (outcomes[0].category, outcomes[0].chunks) == ("timeout", 2)
