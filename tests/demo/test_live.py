"""Tests for toolware.demo.live: the streaming write_report and follow_orders tools."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from toolware import CallTimeoutError, default_pipeline
from toolware.demo import build_registry
from toolware.demo.live import STALL_AFTER, make_follow_orders, make_write_report


async def test_write_report_yields_one_section_at_a_time() -> None:
    """Three sections, in order, for the quarter and year asked."""
    sections = [s async for s in make_write_report(0)("Q1", year=2023)]
    assert [s["title"] for s in sections] == ["Summary", "Regions", "Outlook"]
    assert sections[0]["text"] == "Q1 2023: revenue 1,250,000 EUR, up 8%."


async def test_follow_orders_sends_up_to_limit() -> None:
    """Without a stall the feed sends min(limit, 3) orders."""
    follow = make_follow_orders(0)
    assert [o["id"] async for o in follow(limit=1)] == [101]
    orders = [o async for o in follow()]
    assert orders[STALL_AFTER - 1] == {"id": 102, "item": "monitor arm", "quantity": 5}
    assert [o["id"] for o in orders] == [101, 102, 103]


@pytest.mark.parametrize("factory", [make_write_report, make_follow_orders])
def test_negative_durations_are_refused(factory: Callable[[float], object]) -> None:
    """Pace and stall are durations."""
    with pytest.raises(ValueError, match=r"must be >= 0 seconds, got -1"):
        factory(-1)


async def test_the_stall_is_cut_by_the_idle_timeout() -> None:
    """Through the pipeline, follow_orders delivers two orders, then a timeout error."""
    registry = build_registry(feed_idle_timeout=0.005)
    async with default_pipeline(registry) as pipeline:
        response = await pipeline.invoke("follow_orders", {"limit": 3})
        stream = response.stream
        assert stream is not None
        received: list[int] = []

        async def read() -> None:
            async with stream as chunks:
                async for chunk in chunks:
                    received.append(chunk["id"])

        with pytest.raises(CallTimeoutError, match=r"idle timeout of 0\.005s") as caught:
            await read()
    assert received == [101, 102]
    assert caught.value.category == "timeout"
