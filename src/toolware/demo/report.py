"""A slow synchronous tool, to show a timeout that does not block the caller.

``fetch_report`` blocks its worker thread with ``time.sleep``. Registered with a default
timeout shorter than that, the caller gets a ``timeout`` error on time while the thread
finishes in the background: Python cannot interrupt a running thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

__all__ = ["Quarter", "make_fetch_report"]

Quarter = Literal["Q1", "Q2", "Q3", "Q4"]


def make_fetch_report(delay: float) -> Callable[..., dict[str, object]]:
    """A ``fetch_report`` tool that takes ``delay`` seconds."""
    if delay < 0:
        raise ValueError(f"delay must be >= 0 seconds, got {delay}")

    def fetch_report(quarter: Quarter, year: int = 2024) -> dict[str, object]:
        """Fetch the quarterly sales report from the (slow) reporting service."""
        time.sleep(delay)  # stands in for a slow, blocking HTTP client
        return {"quarter": quarter, "year": year, "revenue": 1_250_000, "currency": "EUR"}

    return fetch_report
