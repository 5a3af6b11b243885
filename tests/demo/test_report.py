"""Tests for toolware.demo.report: the slow blocking fetch_report tool."""

from __future__ import annotations

import pytest

from toolware import Kind, default_pipeline
from toolware.demo import build_registry
from toolware.demo.registry import REPORT_DELAY, REPORT_TIMEOUT
from toolware.demo.report import make_fetch_report


def test_returns_the_report() -> None:
    """Without delay the tool answers with the report for the quarter."""
    assert make_fetch_report(0)("Q2", year=2023) == {
        "quarter": "Q2",
        "year": 2023,
        "revenue": 1_250_000,
        "currency": "EUR",
    }


def test_negative_delay_is_refused() -> None:
    """The delay is a duration."""
    with pytest.raises(ValueError, match="delay must be >= 0"):
        make_fetch_report(-1)


def test_default_timeout_is_shorter_than_the_delay() -> None:
    """The demo registry gives fetch_report a timeout below its delay, so it times out."""
    assert REPORT_TIMEOUT < REPORT_DELAY
    description = build_registry().resolve(Kind.TOOL, "fetch_report").description
    assert description.timeout == REPORT_TIMEOUT
    assert description.args_schema["properties"]["quarter"]["enum"] == ["Q1", "Q2", "Q3", "Q4"]


async def test_times_out_without_waiting_for_the_thread() -> None:
    """The caller gets a timeout at the entry's limit while the worker thread still sleeps."""
    registry = build_registry(report_delay=0.05, report_timeout=0.005)
    pipeline = default_pipeline(registry)
    response = await pipeline.invoke("fetch_report", {"quarter": "Q3"})
    assert response.error is not None
    assert response.error.category == "timeout"
    assert response.elapsed < 0.05
