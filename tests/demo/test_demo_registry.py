"""Tests for toolware.demo.registry and the toolware.demo:registry the CLI uses by default."""

from __future__ import annotations

from toolware import Kind, LocalRegistry, Registry
from toolware.demo import build_registry, registry


def test_module_registry_is_a_registry() -> None:
    """toolware.demo:registry is a LocalRegistry that satisfies the Registry protocol."""
    assert isinstance(registry, LocalRegistry)
    assert isinstance(registry, Registry)


def test_build_registry_has_every_demo_entry() -> None:
    """Tools, the notes plugin actions and the docs retriever, each with a description."""
    descriptions = build_registry().list()
    assert {(d.kind, d.qualified_name) for d in descriptions} == {
        (Kind.TOOL, "calculator"),
        (Kind.TOOL, "convert_units"),
        (Kind.TOOL, "fetch_report"),
        (Kind.PLUGIN, "notes.add"),
        (Kind.PLUGIN, "notes.list"),
        (Kind.PLUGIN, "notes.search"),
        (Kind.RAG, "docs"),
    }
    assert all(d.description for d in descriptions)


def test_each_build_is_independent() -> None:
    """Each build has its own notes and its own fetch_report timeout."""
    first, second = build_registry(), build_registry(report_timeout=1.0)
    notes = [r.resolve(Kind.PLUGIN, "notes", "add").function.__self__ for r in (first, second)]
    assert notes[0] is not notes[1]
    timeouts = [r.resolve(Kind.TOOL, "fetch_report").description.timeout for r in (first, second)]
    assert timeouts == [0.2, 1.0]
