"""Tests for toolware.demo.session: the scripted agent session through the default pipeline."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from toolware import Kind, StatsRecorder, default_pipeline
from toolware.demo import build_registry
from toolware.demo.functions import routes
from toolware.demo.session import EXPECTED_CATEGORIES, SCRIPT, CallOutcome, run_session


@pytest.fixture
async def outcomes_and_stats() -> tuple[list[CallOutcome], StatsRecorder]:
    """The whole script, run with a fast fetch_report that still times out."""
    registry = build_registry(report_delay=0.05, report_timeout=0.005)
    recorder = StatsRecorder()
    pipeline = default_pipeline(registry, recorder=recorder)
    return await run_session(pipeline, routes(registry)), recorder


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
    """Success, invalid_request, tool_failed, timeout and not_found, exactly as scripted."""
    outcomes, _ = outcomes_and_stats
    assert tuple(o.category for o in outcomes) == EXPECTED_CATEGORIES
    assert [o.call_id for o in outcomes] == [f"call_{n}" for n in range(1, 13)]


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


async def test_statistics_count_every_call(
    outcomes_and_stats: tuple[list[CallOutcome], StatsRecorder],
) -> None:
    """The stats interceptor saw all calls; invented names are counted as (unknown)."""
    _, recorder = outcomes_and_stats
    snapshot = recorder.snapshot()
    assert snapshot.calls == len(EXPECTED_CATEGORIES)
    assert snapshot.get("calculator").calls == 3
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
