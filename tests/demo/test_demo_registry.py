"""Tests for toolware.demo.registry and toolware.demo:demo_registry, the CLI's default."""

from __future__ import annotations

import subprocess
import sys

from toolware import Kind, LocalRegistry, Registry
from toolware.demo import build_registry, demo_registry


def test_demo_registry_is_built_once_on_first_use() -> None:
    """demo_registry() builds a LocalRegistry on its first call and returns it afterwards."""
    registry = demo_registry()
    assert isinstance(registry, LocalRegistry)
    assert isinstance(registry, Registry)
    assert demo_registry() is registry
    demo_registry.cache_clear()
    assert demo_registry() is not registry


def test_importing_the_demo_builds_nothing() -> None:
    """Importing toolware.demo does not build a registry (nor load the BM25 documents)."""
    code = (
        "import toolware.demo, toolware.demo.registry as r, sys; "
        "sys.exit(r.demo_registry.cache_info().currsize)"
    )
    assert subprocess.run([sys.executable, "-c", code], timeout=60, check=False).returncode == 0


def test_build_registry_has_every_demo_entry() -> None:
    """Tools (the resilience ones too), the notes plugin actions and the docs retriever, each
    with a description."""
    descriptions = build_registry().list()
    assert {(d.kind, d.qualified_name) for d in descriptions} == {
        (Kind.TOOL, "calculator"),
        (Kind.TOOL, "convert_units"),
        (Kind.TOOL, "fetch_report"),
        (Kind.TOOL, "write_report"),
        (Kind.TOOL, "follow_orders"),
        (Kind.TOOL, "fetch_quote"),
        (Kind.TOOL, "legacy_crm"),
        (Kind.TOOL, "send_sms"),
        (Kind.TOOL, "exchange_rate"),
        (Kind.PLUGIN, "notes.add"),
        (Kind.PLUGIN, "notes.list"),
        (Kind.PLUGIN, "notes.search"),
        (Kind.RAG, "docs"),
    }
    assert all(d.description for d in descriptions)
    assert {d.name for d in descriptions if d.streaming} == {"write_report", "follow_orders"}


def test_each_build_is_independent() -> None:
    """Each build has its own notes and its own fetch_report timeout."""
    first, second = build_registry(), build_registry(report_timeout=1.0)
    notes = [r.resolve(Kind.PLUGIN, "notes", "add").function.__self__ for r in (first, second)]
    assert notes[0] is not notes[1]
    timeouts = [r.resolve(Kind.TOOL, "fetch_report").description.timeout for r in (first, second)]
    assert timeouts == [0.2, 1.0]


def test_follow_orders_has_an_idle_timeout_a_build_may_change() -> None:
    """follow_orders streams with a 0.2 s idle timeout by default; write_report has none."""
    default, fast = build_registry(), build_registry(feed_idle_timeout=0.01)
    orders = [r.resolve(Kind.TOOL, "follow_orders").description for r in (default, fast)]
    assert [d.idle_timeout for d in orders] == [0.2, 0.01]
    assert default.resolve(Kind.TOOL, "write_report").description.idle_timeout is None
