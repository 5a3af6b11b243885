"""Tests for toolware.registry.composite: registries as sources, a failing source, lazy
entries behind a composite, the fast lookup, and collision reports."""

import logging
import sys
from pathlib import Path

import pytest

from toolware import (
    CompositeRegistry,
    Entry,
    EntryDescription,
    ErrorCategory,
    Kind,
    LocalRegistry,
    RegistryCollisionError,
    Source,
    UnavailableError,
    UnknownEntryError,
    default_pipeline,
)
from toolware.registry import HealthStatus, RegistryHealth
from toolware.registry.base import FastLookup, PendingImports, fast_lookup
from toolware.testing import FakeClock


def local(name: str, *tools: str) -> LocalRegistry:
    """A local registry whose tools return '<registry>:<tool>'."""
    registry = LocalRegistry(name)
    for tool in tools:
        registry.add(lambda _t=tool: f"{name}:{_t}", name=tool)
    return registry


class FailingCatalogue:
    """A remote source that cannot list its entries; resolve raises ``error`` for ``names``."""

    name = "remote"

    def __init__(self, error: Exception, names: frozenset[str] = frozenset()) -> None:
        self.error = error
        self.names = names

    @property
    def revision(self) -> int:
        return 0

    def resolve(self, kind: Kind, name: str, action: str | None = None) -> Entry:
        if name in self.names:
            raise self.error
        raise UnknownEntryError(f"no {kind.value} named {name!r}")

    def list(self) -> tuple[EntryDescription, ...]:
        raise ConnectionError("catalogue at https://user:s3cret@remote unreachable")

    async def health(self) -> RegistryHealth:
        return RegistryHealth(status=HealthStatus.OK, entries=0)


def test_registries_are_accepted_as_sources_named_by_their_name() -> None:
    """CompositeRegistry(a, b) works: each registry is a source named by its .name."""
    a, b = local("a", "x"), local("b", "y")
    composite = CompositeRegistry(a, b)
    assert composite.sources() == {"a": a, "b": b}
    assert composite.resolve(Kind.TOOL, "y").function() == "b:y"


def test_duplicate_registry_names_are_refused_with_the_fix() -> None:
    """Two registries both named 'local' need names; the error shows how."""
    with pytest.raises(ValueError, match=r"unique.*Source\('local_2', registry\)"):
        CompositeRegistry(LocalRegistry(), LocalRegistry())


def test_a_non_registry_is_refused_at_construction() -> None:
    """Something that is neither a Source nor a registry is refused, not failed on later."""
    with pytest.raises(TypeError, match=r"got dict; wrap it: Source\('name', registry\)"):
        CompositeRegistry({"a": 1})  # type: ignore[arg-type]


async def test_a_source_that_cannot_list_does_not_take_the_others_down(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Healthy sources keep answering; the broken one's names are unavailable, named."""
    remote = FailingCatalogue(RuntimeError("db password=hunter2"), frozenset({"search"}))
    composite = CompositeRegistry(local("ok", "calc"), remote)
    pipeline = default_pipeline(composite)
    assert (await pipeline.invoke("calc")).unwrap() == "ok:calc"

    with caplog.at_level(logging.WARNING, logger="toolware.registry"):
        response = await pipeline.invoke("search")
    assert response.error is not None
    assert response.error.category is ErrorCategory.UNAVAILABLE
    assert "registry source 'remote' failed (RuntimeError)" in response.error.message
    assert "hunter2" not in str(response.error.to_dict())
    assert any("hunter2" in str(r.exc_info[1]) for r in caplog.records if r.exc_info)

    missing = await pipeline.invoke("nothing")
    assert missing.error is not None
    assert missing.error.category is ErrorCategory.NOT_FOUND

    health = await composite.health()
    assert health.status is HealthStatus.DEGRADED
    assert health.problems == {"remote": "cannot list its entries (ConnectionError)"}
    assert "s3cret" not in str(health.problems)
    assert [d.name for d in composite.list()] == ["calc"]


def test_a_broken_source_that_still_resolves_is_used() -> None:
    """A source whose list() fails but whose resolve() works still serves its names."""
    entry = local("r", "search").resolve(Kind.TOOL, "search")

    class ListBroken(FailingCatalogue):
        def resolve(self, kind: Kind, name: str, action: str | None = None) -> Entry:
            if name == "search":
                return entry
            return super().resolve(kind, name, action)

    composite = CompositeRegistry(
        Source("ok", local("ok", "calc")),
        Source("remote", ListBroken(RuntimeError()), namespace="remote"),
    )
    assert composite.resolve(Kind.TOOL, "remote.search") is entry
    with pytest.raises(UnknownEntryError):
        composite.resolve(Kind.TOOL, "search")  # outside the namespace: not asked


def test_toolware_errors_from_a_broken_source_pass_through() -> None:
    """A typed error from the source's resolve is kept as it is."""
    remote = FailingCatalogue(UnavailableError("remote is restarting"), frozenset({"search"}))
    composite = CompositeRegistry(local("ok", "calc"), remote)
    with pytest.raises(UnavailableError, match="remote is restarting"):
        composite.resolve(Kind.TOOL, "search")


def test_failed_lazy_import_behind_a_composite_is_unavailable() -> None:
    """A lazy entry whose import fails is unavailable through the composite, not not_found."""
    inner = LocalRegistry("inner")
    inner.add_lazy("toolware_no_such_module_z:thing")
    composite = CompositeRegistry(Source("outer", local("outer", "calc")), Source("inner", inner))
    assert [(d.name, d.loaded) for d in composite.list()] == [("calc", True), ("thing", False)]
    with pytest.raises(UnavailableError, match="could not be imported"):
        composite.resolve(Kind.TOOL, "thing")


def test_lazy_plugin_actions_resolve_through_a_composite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lazy plugin's actions are unknown until imported; the composite asks its source."""
    module = "lazy_composite_plugin"
    (tmp_path / f"{module}.py").write_text(
        "class Glossary:\n    def lookup(self, term: str) -> str:\n        return term.upper()\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    inner = LocalRegistry("inner", clock=FakeClock())
    inner.add_lazy(f"{module}:Glossary", kind=Kind.PLUGIN)
    composite = CompositeRegistry(Source("ns", inner, namespace="ns"))
    try:
        assert composite.is_pending(Kind.PLUGIN, "ns.glossary") is True
        assert module not in sys.modules
        entry = composite.resolve(Kind.PLUGIN, "ns.glossary", "lookup")
        assert entry.function(term="rag") == "RAG"
        assert composite.is_pending(Kind.PLUGIN, "ns.glossary") is True  # index is stale
        assert composite.lookup((Kind.PLUGIN, "ns.glossary", "lookup")) is None
        composite.list()  # re-indexes
        assert composite.is_pending(Kind.PLUGIN, "ns.glossary") is False
        assert composite.lookup((Kind.PLUGIN, "ns.glossary", "lookup")) is entry
    finally:
        sys.modules.pop(module, None)


def test_is_pending_is_false_for_unknown_names_and_sources_without_it() -> None:
    """Only a source that declares PendingImports can make a name pending."""
    remote = FailingCatalogue(RuntimeError())
    composite = CompositeRegistry(local("ok", "calc"))
    assert composite.is_pending(Kind.TOOL, "nothing") is False
    assert composite.is_pending(Kind.TOOL, "calc") is False
    assert not isinstance(remote, PendingImports)
    assert isinstance(composite, PendingImports)


def test_composite_has_a_fast_lookup_through_its_sources() -> None:
    """lookup() returns the source's entry for exposed names, None when it must resolve."""
    a = local("a", "calc")
    b = local("b", "calc")
    composite = CompositeRegistry(Source("a", a), Source("b", b, namespace="b"))
    assert isinstance(composite, FastLookup)
    lookup = fast_lookup(composite)
    assert lookup((Kind.TOOL, "calc", None)) is a.resolve(Kind.TOOL, "calc")
    assert lookup((Kind.TOOL, "b.calc", None)) is b.resolve(Kind.TOOL, "calc")
    assert lookup((Kind.TOOL, "nothing", None)) is None

    b.add(lambda: "new", name="calc", replace=True)  # a source changed: ask resolve()
    assert lookup((Kind.TOOL, "b.calc", None)) is None
    assert composite.resolve(Kind.TOOL, "b.calc").function() == "new"
    assert lookup((Kind.TOOL, "b.calc", None)) is b.resolve(Kind.TOOL, "calc")


def test_sources_without_a_fast_lookup_are_resolved() -> None:
    """A source with no lookup gets no route; the composite's lookup says "ask"."""
    remote = FailingCatalogue(RuntimeError())
    entry = local("r", "x").resolve(Kind.TOOL, "x")

    class Listed(FailingCatalogue):
        def list(self) -> tuple[EntryDescription, ...]:
            return (entry.description,)

        def resolve(self, kind: Kind, name: str, action: str | None = None) -> Entry:
            return entry

    composite = CompositeRegistry(Listed(remote.error))
    assert composite.lookup((Kind.TOOL, "x", None)) is None
    assert composite.resolve(Kind.TOOL, "x") is entry


def test_plugin_collision_is_a_registry_collision_naming_the_action() -> None:
    """Two sources with the same plugin action collide with the canonical name."""

    class Notes:
        def add(self, text: str) -> str:
            return text

    a, b = LocalRegistry("a"), LocalRegistry("b")
    a.plugin(Notes)
    b.plugin(Notes)
    with pytest.raises(
        RegistryCollisionError, match=r"plugin 'notes\.add' is exposed by 'a' and 'b'"
    ):
        CompositeRegistry(a, b)


async def test_three_way_collision_names_every_owner_in_order() -> None:
    """A name in three sources names all three, in precedence order."""
    with pytest.raises(RegistryCollisionError, match="'x' is exposed by 'a' and 'b' and 'c'"):
        CompositeRegistry(local("a", "x"), local("b", "x"), local("c", "x"))

    a, b, c = local("a", "x"), local("b"), local("c")
    composite = CompositeRegistry(a, b, c)
    c.add(lambda: 1, name="x")
    b.add(lambda: 1, name="x")
    with pytest.raises(UnavailableError, match="'x' is ambiguous: exposed by 'a' and 'b' and 'c'"):
        composite.resolve(Kind.TOOL, "x")
    assert (await composite.health()).problems == {"collision:x": "exposed by a, b, c"}


def test_revision_moves_when_any_source_changes() -> None:
    """The composite's revision changes when a source behind a busier one changes."""
    busy, quiet = local("busy", *[f"t{i}" for i in range(5)]), local("quiet")
    composite = CompositeRegistry(busy, quiet)
    before = composite.revision
    quiet.add(lambda: 1, name="new")
    assert composite.revision > before


def test_fast_lookup_of_a_registry_without_one_always_says_ask() -> None:
    """fast_lookup() of a registry with no lookup answers None: resolve() decides."""
    remote = FailingCatalogue(RuntimeError())
    assert not isinstance(remote, FastLookup)
    assert fast_lookup(remote)((Kind.TOOL, "x", None)) is None


async def test_plugin_action_behind_a_composite_runs_through_the_default_pipeline() -> None:
    """A plugin action is found through the composite's lookup, with its own options."""

    class Notes:
        def add(self, text: str) -> str:
            return f"added {text}"

    inner = LocalRegistry("inner")
    inner.plugin(Notes, timeout=2.0, idempotent=True)
    composite = CompositeRegistry(local("tools", "calc"), inner)
    entry = composite.lookup((Kind.PLUGIN, "notes", "add"))
    assert entry is not None
    assert (entry.description.timeout, entry.description.idempotent) == (2.0, True)
    response = await default_pipeline(composite).invoke(
        "notes", {"text": "x"}, kind=Kind.PLUGIN, action="add"
    )
    assert response.unwrap() == "added x"
    missing = await default_pipeline(composite).invoke("notes", kind=Kind.PLUGIN, action="ad")
    assert missing.error is not None
    assert missing.error.category is ErrorCategory.NOT_FOUND
