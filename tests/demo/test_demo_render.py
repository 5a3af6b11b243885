"""Tests for toolware.demo.render: run_demo prints the session and the statistics."""

from __future__ import annotations

import io
import logging
import re

import pytest

from toolware.cli.render import make_console
from toolware.context import Kind
from toolware.demo import build_registry, run_demo
from toolware.demo.render import _resilience
from toolware.demo.session import EXPECTED_CATEGORIES
from toolware.stats import TargetKey, TargetStats

ANSI = re.compile(r"\x1b\[")
BOX = re.compile(r"[\u2500-\u257f]")


def _run(*, terminal: bool) -> tuple[str, list[str | None]]:
    buffer = io.StringIO()
    registry = build_registry(
        report_delay=0.05, report_timeout=0.005, section_pace=0, feed_idle_timeout=0.005
    )
    outcomes = run_demo(make_console(buffer, terminal=terminal), registry=registry)
    return buffer.getvalue(), [o.category for o in outcomes]


def test_plain_demo_shows_calls_answers_and_statistics() -> None:
    """Plain output has the tools, every call and answer, the stats table, and no escapes."""
    text, categories = _run(terminal=False)
    assert tuple(categories) == EXPECTED_CATEGORIES
    assert (
        "pipeline: stats -> timeout -> cache -> retry -> circuit_breaker -> rate_limit when "
        "target in {send_sms} -> validation -> router"
    ) in text
    assert "notes__add" in text
    assert '"type": "function"' in text
    assert '  -> call_1 calculator {"expression": "2 * (3 + 4) ** 2 / sqrt(16)"}' in text
    assert '{"role": "tool", "tool_call_id": "call_1", "content": "24.5"}' in text
    assert re.search(r"fetch_report +tool +1 +timeout=1", text)
    assert re.search(r"\(unknown\) +tool +1 +not_found=1", text)
    assert "errors                         resilience    mean ms  p50 ms  p99 ms" in text
    assert "call_5 fetch_report timed out after" in text
    assert re.search(
        r"write_report streamed 1 time\(s\): 1 completed, 0 failed, 0 abandoned; 3 chunk\(s\), "
        r"first chunk after \d+\.\d ms on average",
        text,
    )
    assert re.search(
        r"follow_orders streamed 1 time\(s\): 0 completed, 1 failed, 0 abandoned; 2 chunk\(s\)",
        text,
    )
    assert re.search(
        r"call_14 follow_orders sent 2 chunk\(s\), then went quiet: its idle timeout closed the "
        r"stream after \d+ ms, and the chunks went to the agent\.",
        text,
    )
    assert not ANSI.search(text)
    assert not BOX.search(text)


def test_terminal_demo_uses_colours_and_boxes() -> None:
    """On a terminal the same demo is drawn with rich colours and box tables."""
    text, _ = _run(terminal=True)
    assert ANSI.search(text)
    assert BOX.search(text)


def test_long_contents_are_shortened_in_the_display() -> None:
    """The RAG answer is longer than the preview and is shown cut, with its length."""
    text, _ = _run(terminal=False)
    assert re.search(r"\.\.\. \(\d+ chars\)", text)


def test_streams_are_shown_chunk_by_chunk_between_call_and_answer() -> None:
    """The call line, then one line per chunk as it arrived, then the answer; a stream cut by
    its idle timeout shows its chunks and then the timeout."""
    text, _ = _run(terminal=False)
    lines = text.splitlines()
    report = lines.index('  -> call_13 write_report {"quarter": "Q3"}')
    assert lines[report + 1 : report + 4] == [
        '  ~  call_13 chunk 1  {"title": "Summary", "text": "Q3 2024: revenue 1,250,000 EUR, '
        'up 8%."}',
        '  ~  call_13 chunk 2  {"title": "Regions", "text": "North 540,000 EUR; South 410,000 '
        'EUR; export 300,000 EUR."}',
        '  ~  call_13 chunk 3  {"title": "Outlook", "text": "Q4 orders already cover 60% of the '
        'target."}',
    ]
    assert re.match(r"  <- ok +\d+\.\d ms  3 chunk\(s\)  \{", lines[report + 4])
    feed = lines.index('  -> call_14 follow_orders {"limit": 3}')
    assert lines[feed + 1 : feed + 3] == [
        '  ~  call_14 chunk 1  {"id": 101, "item": "standing desk", "quantity": 2}',
        '  ~  call_14 chunk 2  {"id": 102, "item": "monitor arm", "quantity": 5}',
    ]
    assert re.match(
        r"  <- timeout +\d+\.\d ms  2 chunk\(s\)  .*produced no chunk within its idle timeout",
        lines[feed + 3],
    )


def test_plain_calls_show_no_chunk_count() -> None:
    """Only streamed answers carry a chunk count."""
    text, _ = _run(terminal=False)
    (answer,) = [line for line in text.splitlines() if '"tool_call_id": "call_1"' in line]
    assert "chunk" not in answer


def test_resilience_shows_in_answers_table_and_summary() -> None:
    """The rescued call shows attempts=3, the repeat a cache hit, the breaker opening as it
    happens; the table counts retries and hits; the summary explains each behaviour."""
    text, _ = _run(terminal=False)
    lines = text.splitlines()
    (quote,) = [line for line in lines if '"tool_call_id": "call_15"' in line]
    assert re.match(r"  <- ok +\d+\.\d ms  attempts=3  \{", quote)
    (hit,) = [line for line in lines if '"tool_call_id": "call_22"' in line]
    assert re.match(r"  <- ok +\d+\.\d ms  cache hit  \{", hit)
    (first_rate,) = [line for line in lines if '"tool_call_id": "call_16"' in line]
    assert "cache hit" not in first_rate
    assert "attempts" not in first_rate
    crm = lines.index('  -> call_17 legacy_crm {"customer_id": "C-1042"}')
    assert lines[crm + 1] == "  !! circuit_breaker legacy_crm: closed -> open (consecutive)"
    assert re.match(r"  <- tool_failed +\d+\.\d ms  attempts=3  \{", lines[crm + 2])
    assert re.search(r"fetch_quote +tool +1 +- +retries=2 ", text)
    assert re.search(r"legacy_crm +tool +2 +circuit_open=1, tool_failed=1 +retries=2 ", text)
    assert re.search(r"exchange_rate +tool +2 +- +cache_hits=1 ", text)
    assert re.search(r"send_sms +tool +3 +rate_limited=1 +- ", text)
    assert "call_15 fetch_quote failed 2 time(s), then retry rescued it: attempts=3." in lines
    assert "call_17 legacy_crm failed all 3 attempts (tool_failed): retry gave up." in lines
    handed = (
        r" without running \(retry_after=(59\.\d|60\.0) s, longer than the call's timeout, so "
        r"retry handed it straight to the agent\)\.$"
    )
    assert re.search(r"^call_20 send_sms was refused by the rate limit" + handed, text, re.M)
    assert re.search(r"^call_21 legacy_crm was refused by the open breaker" + handed, text, re.M)
    assert "call_22 exchange_rate was answered from the cache: the tool was not called." in lines
    assert "22 calls: 13 answered with a value, 9 with an error the agent can act on." in lines


def test_breaker_warning_reaches_configured_logging_only(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The breaker's warning still reaches a configured handler; the NullHandler that keeps
    Python's last-resort handler off stderr is removed after the demo."""
    toolware_logger = logging.getLogger("toolware")
    handlers = list(toolware_logger.handlers)
    with caplog.at_level(logging.WARNING, logger="toolware"):
        _run(terminal=False)
    opened = [r for r in caplog.records if r.getMessage().startswith("circuit_breaker.opened")]
    assert [r.name for r in opened] == ["toolware.interceptors.circuit_breaker"]
    assert toolware_logger.handlers == handlers


@pytest.mark.parametrize(
    ("counts", "shown"),
    [
        ({}, ""),
        ({"retries": 2}, "retries=2"),
        ({"cache_hits": 1}, "cache_hits=1"),
        ({"fallbacks": 3}, "fallbacks=3"),
        ({"hedges": 4}, "hedges=4"),
        (
            {"retries": 1, "cache_hits": 2, "fallbacks": 3, "hedges": 4},
            "retries=1, cache_hits=2, fallbacks=3, hedges=4",
        ),
    ],
)
def test_resilience_column_lists_the_non_zero_counts(counts: dict[str, int], shown: str) -> None:
    """Retries, cache hits, fallbacks and hedges, in that order, only those above zero."""
    stats = TargetStats(
        key=TargetKey(Kind.TOOL, "t"),
        calls=5,
        errors={},
        total_seconds=0.0,
        min_seconds=0.0,
        max_seconds=0.0,
        bucket_bounds=(),
        bucket_counts=(),
        **counts,
    )
    assert _resilience(stats) == shown
