"""Streaming tools: a report written section by section, and an order feed that stalls.

``write_report`` is an async generator: each section is a chunk, sent as soon as it is
written, so the caller can show the summary while the outlook is still being drafted.
``follow_orders`` sends a couple of orders and then stalls, as a live feed whose upstream went
quiet does; registered with an ``idle_timeout``, the caller gets the orders it was sent and
then a ``timeout`` error, instead of waiting on a silent connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

from typing_extensions import TypedDict  # pydantic needs it on Python < 3.12

from toolware.demo.report import Quarter

__all__ = ["STALL_AFTER", "Order", "Section", "make_follow_orders", "make_write_report"]

STALL_AFTER = 2
"""Orders ``follow_orders`` sends before its feed stalls."""


class Section(TypedDict):
    """One section of the report."""

    title: str
    text: str


class Order(TypedDict):
    """One order from the feed."""

    id: int
    item: str
    quantity: int


_ORDERS = (("standing desk", 2), ("monitor arm", 5), ("desk lamp", 1))


def _sections(quarter: str, year: int) -> tuple[Section, ...]:
    return (
        {"title": "Summary", "text": f"{quarter} {year}: revenue 1,250,000 EUR, up 8%."},
        {"title": "Regions", "text": "North 540,000 EUR; South 410,000 EUR; export 300,000 EUR."},
        {"title": "Outlook", "text": "Q4 orders already cover 60% of the target."},
    )


def _check_seconds(name: str, seconds: float) -> None:
    if seconds < 0:
        raise ValueError(f"{name} must be >= 0 seconds, got {seconds}")


def make_write_report(pace: float) -> Callable[..., AsyncIterator[Section]]:
    """A ``write_report`` tool that takes ``pace`` seconds to write each section."""
    _check_seconds("pace", pace)

    async def write_report(quarter: Quarter, year: int = 2024) -> AsyncIterator[Section]:
        """Write the quarterly sales report, streamed section by section as each is ready."""
        for section in _sections(quarter, year):
            await asyncio.sleep(pace)  # stands in for the time a section takes to write
            yield section

    return write_report


def make_follow_orders(stall: float) -> Callable[..., AsyncIterator[Order]]:
    """A ``follow_orders`` tool whose feed goes quiet for ``stall`` seconds after
    :data:`STALL_AFTER` orders."""
    _check_seconds("stall", stall)

    async def follow_orders(limit: int = 10) -> AsyncIterator[Order]:
        """Follow the live order feed, streaming each new order, at most limit of them."""
        for number in range(min(limit, len(_ORDERS))):
            if number == STALL_AFTER:
                await asyncio.sleep(stall)  # the upstream feed goes quiet
            item, quantity = _ORDERS[number]
            yield Order(id=101 + number, item=item, quantity=quantity)

    return follow_orders
