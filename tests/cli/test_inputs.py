"""Tests for toolware.cli.inputs: targets, --arg/--json parsing and --app loading."""

from __future__ import annotations

import pytest

from toolware import Kind
from toolware.cli.inputs import (
    DEFAULT_APP,
    Target,
    UsageError,
    load_registry,
    merge_arguments,
    parse_pair,
    parse_target,
    text_parameters,
)
from toolware.demo import build_registry, demo_registry
from toolware.registry.base import Registry


@pytest.mark.parametrize(
    ("pair", "expected"),
    [
        ("k=5", ("k", 5)),
        ("k=5.5", ("k", 5.5)),
        ("k=null", ("k", None)),
        ('k={"a": 1}', ("k", {"a": 1})),
        ("k=five", ("k", "five")),
        (" k =x", ("k", "x")),
        ("k=[1,", ("k", "[1,")),
    ],
)
def test_parse_pair(pair: str, expected: tuple[str, object]) -> None:
    """Values are JSON when they parse as JSON, otherwise the text itself."""
    assert parse_pair(pair) == expected


def test_merge_without_arguments_is_empty() -> None:
    """No --arg and no --json means no arguments."""
    assert merge_arguments([], None) == {}


@pytest.mark.parametrize(
    ("target", "kind", "action", "expected"),
    [
        ("calculator", None, None, Target("calculator", Kind.TOOL, None)),
        ("docs", None, None, Target("docs", Kind.RAG, None)),
        ("notes", None, None, Target("notes", Kind.PLUGIN, None)),
        ("notes.add", None, None, Target("notes", Kind.PLUGIN, "add")),
        ("notes", None, "list", Target("notes", Kind.PLUGIN, "list")),
        ("invented", None, None, Target("invented", Kind.TOOL, None)),
        ("v1.search", "tool", None, Target("v1.search", Kind.TOOL, None)),
        ("notes.add", "plugin", None, Target("notes", Kind.PLUGIN, "add")),
    ],
)
def test_parse_target(target: str, kind: str | None, action: str | None, expected: Target) -> None:
    """Kind comes from --kind, an action, or the registry; tools may have dotted names."""
    registry = build_registry()
    assert parse_target(target, kind=kind, action=action, registry=registry) == expected


def test_load_registry_default_app() -> None:
    """The default --app is the demo registry, built by its factory on first use."""
    assert DEFAULT_APP == "toolware.demo:demo_registry"
    assert load_registry(DEFAULT_APP) is demo_registry()


def test_load_registry_calls_a_factory(monkeypatch: pytest.MonkeyPatch) -> None:
    """An --app attribute that is a zero-argument callable is called for the registry."""
    registry = build_registry()
    monkeypatch.setattr("toolware.demo.registry.build_registry", lambda: registry)
    assert load_registry("toolware.demo.registry:build_registry") is registry


@pytest.mark.parametrize(
    ("factory", "message"),
    [
        (lambda: 3, "returned int, expected a Registry"),
        (lambda: 1 / 0, "it raised ZeroDivisionError: division by zero"),
        (lambda needed: needed, "called with no arguments to get the registry"),
    ],
)
def test_load_registry_refuses_a_bad_factory(
    factory: object, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A factory that fails, needs arguments or returns no registry is a usage error."""
    monkeypatch.setattr("toolware.demo.registry.build_registry", factory)
    with pytest.raises(UsageError, match=message):
        load_registry("toolware.demo.registry:build_registry")


def _target(registry: Registry, text: str) -> Target:
    return parse_target(text, kind=None, action=None, registry=registry)


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("notes.add", {"text"}),  # tags is list[str] | None: JSON
        ("notes.list", {"tag"}),  # str | None
        ("fetch_report", {"quarter"}),  # a Literal of strings
        ("calculator", {"expression"}),
        ("convert_units", {"from_unit", "to_unit"}),
        ("docs", {"query"}),
        ("invented", set()),
    ],
)
def test_text_parameters_come_from_the_schema(target: str, expected: set[str]) -> None:
    """Only parameters whose schema takes text alone keep --arg values as text."""
    registry = build_registry()
    assert text_parameters(registry, _target(registry, target)) == expected


def test_text_parameter_keeps_digits_as_text() -> None:
    """text=2024 stays "2024" for a string parameter; other keys still parse as JSON."""
    pairs = ["text=2024", "k=2024", 'quoted="x"']
    arguments = merge_arguments(pairs, None, text_keys=frozenset({"text", "quoted"}))
    assert arguments == {"text": "2024", "k": 2024, "quoted": '"x"'}


def test_usage_error_is_an_exception() -> None:
    """UsageError carries its message."""
    with pytest.raises(UsageError, match="twice"):
        merge_arguments(["a=1", "a=1"], None)


def test_namespaced_composite_names_are_looked_up_whole() -> None:
    """A dotted name listed by a composite is called as is; a namespaced plugin splits last."""
    from toolware import CompositeRegistry, LocalRegistry, Source

    inner = LocalRegistry("search")

    @inner.tool
    def lookup(q: str) -> str:
        return q

    class Notes:
        def add(self, text: str) -> str:
            return text

    inner.plugin(Notes)
    composite = CompositeRegistry(Source("search", inner, namespace="search"))
    assert parse_target("search.lookup", kind=None, action=None, registry=composite) == Target(
        "search.lookup", Kind.TOOL, None
    )
    assert parse_target("search.notes.add", kind=None, action=None, registry=composite) == Target(
        "search.notes", Kind.PLUGIN, "add"
    )
