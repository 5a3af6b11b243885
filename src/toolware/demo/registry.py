"""The demo registry: real tools, a plugin and a RAG retriever.

Nothing is built at import: :func:`demo_registry` builds the shared one on first use (what
``toolware list`` and ``toolware call`` use by default, as ``--app toolware.demo:demo_registry``)
and :func:`build_registry` a fresh one each call.
"""

from __future__ import annotations

import functools

from toolware.demo.bm25 import BM25Index, load_documents
from toolware.demo.calculator import calculator
from toolware.demo.live import make_follow_orders, make_write_report
from toolware.demo.notes import Notes
from toolware.demo.report import make_fetch_report
from toolware.demo.resilience import add_resilience_tools
from toolware.demo.units import convert_units
from toolware.registry.local import LocalRegistry

__all__ = [
    "FEED_IDLE_TIMEOUT",
    "FEED_STALL",
    "REPORT_DELAY",
    "REPORT_TIMEOUT",
    "SECTION_PACE",
    "build_registry",
    "demo_registry",
]

REPORT_DELAY = 0.6
REPORT_TIMEOUT = 0.2
SECTION_PACE = 0.05
FEED_STALL = 30.0
FEED_IDLE_TIMEOUT = 0.2


def build_registry(
    *,
    report_delay: float = REPORT_DELAY,
    report_timeout: float = REPORT_TIMEOUT,
    section_pace: float = SECTION_PACE,
    feed_idle_timeout: float = FEED_IDLE_TIMEOUT,
) -> LocalRegistry:
    """A fresh demo registry (its own notes and counters): calculator, convert_units,
    fetch_report, write_report and follow_orders (streaming), notes, docs, and the resilience
    tools fetch_quote, legacy_crm, send_sms and exchange_rate
    (:mod:`toolware.demo.resilience`).

    ``fetch_report`` sleeps ``report_delay`` seconds and has a default timeout of
    ``report_timeout`` seconds; ``write_report`` takes ``section_pace`` seconds per section;
    ``follow_orders`` stalls for :data:`FEED_STALL` seconds, cut short by its idle timeout of
    ``feed_idle_timeout`` seconds. Tests shrink them.
    """
    registry = LocalRegistry("demo")
    registry.tool(calculator, idempotent=True, tags={"math"})
    registry.tool(convert_units, idempotent=True, tags={"math", "units"})
    registry.tool(make_fetch_report(report_delay), timeout=report_timeout, tags={"reports"})
    registry.tool(make_write_report(section_pace), idempotent=True, tags={"reports"})
    registry.tool(make_follow_orders(FEED_STALL), idle_timeout=feed_idle_timeout, tags={"orders"})
    registry.plugin(Notes)
    registry.retriever(
        BM25Index(load_documents()),
        name="docs",
        description="Search the toolware documentation (timeouts, retries, circuit breakers, "
        "rate limits, caching, validation, errors, registries, statistics, interceptors); best "
        "matches first.",
        default_k=3,
        max_k=8,
    )
    return add_resilience_tools(registry)


@functools.cache
def demo_registry() -> LocalRegistry:
    """The demo registry of this process, built by the first call (its notes are shared by
    every later call). ``demo_registry.cache_clear()`` forgets it: tests do, for fresh notes."""
    return build_registry()
