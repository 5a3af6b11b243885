"""The demo registry: real tools, a plugin and a RAG retriever.

Nothing is built at import: :func:`demo_registry` builds the shared one on first use (what
``toolware list`` and ``toolware call`` use by default, as ``--app toolware.demo:demo_registry``)
and :func:`build_registry` a fresh one each call.
"""

from __future__ import annotations

import functools

from toolware.demo.bm25 import BM25Index, load_documents
from toolware.demo.calculator import calculator
from toolware.demo.notes import Notes
from toolware.demo.report import make_fetch_report
from toolware.demo.units import convert_units
from toolware.registry.local import LocalRegistry

__all__ = ["REPORT_DELAY", "REPORT_TIMEOUT", "build_registry", "demo_registry"]

REPORT_DELAY = 0.6
REPORT_TIMEOUT = 0.2


def build_registry(
    *, report_delay: float = REPORT_DELAY, report_timeout: float = REPORT_TIMEOUT
) -> LocalRegistry:
    """A fresh demo registry (its own notes): calculator, convert_units, fetch_report, notes,
    docs.

    ``fetch_report`` sleeps ``report_delay`` seconds and has a default timeout of
    ``report_timeout`` seconds; tests shrink both.
    """
    registry = LocalRegistry("demo")
    registry.tool(calculator, idempotent=True, tags={"math"})
    registry.tool(convert_units, idempotent=True, tags={"math", "units"})
    registry.tool(make_fetch_report(report_delay), timeout=report_timeout, tags={"reports"})
    registry.plugin(Notes)
    registry.retriever(
        BM25Index(load_documents()),
        name="docs",
        description="Search the toolware documentation (timeouts, retries, validation, errors, "
        "registries, statistics, interceptors); best matches first.",
        default_k=3,
        max_k=7,
    )
    return registry


@functools.cache
def demo_registry() -> LocalRegistry:
    """The demo registry of this process, built by the first call (its notes are shared by
    every later call). ``demo_registry.cache_clear()`` forgets it: tests do, for fresh notes."""
    return build_registry()
