"""Tests for toolware.registry.composite: registries as sources, a failing source, lazy
entries behind a composite, the fast lookup, and collision reports."""

import logging
import sys
from pathlib import Path

import pytest

from tests.registry.registry_support import Notes
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


class Jobs:
    def run(self) -> str:
        return "ran"


def test_construction_refusals_name_the_problem_and_the_fix() -> None:
    """No sources, a duplicate name (the duplicated one), a registry without a usable name,
    and a named non-registry are refused with exact messages; the default name is
    'composite'."""
    with pytest.raises(ValueError, match="at least one") as empty:
        CompositeRegistry()
    assert str(empty.value) == "CompositeRegistry needs at least one Source(name, registry)"
    with pytest.raises(ValueError, match="unique") as duplicate:
        CompositeRegistry(local("a"), local("b"), local("b"))
    assert str(duplicate.value) == (
        "source names must be unique, got ['a', 'b', 'b']: give each its own name, e.g. "
        "Source('b_2', registry) or LocalRegistry('b_2')"
    )
    nameless = FailingCatalogue(RuntimeError())
    nameless.name = ""  # type: ignore[misc]
    named_thing = type("Thing", (), {"name": "thing"})()
    for wrong, shown in ((nameless, "FailingCatalogue"), (named_thing, "Thing")):
        with pytest.raises(TypeError, match="wrap it") as refused:
            CompositeRegistry(wrong)
        assert str(refused.value) == (
            "CompositeRegistry takes Source(name, registry) objects or registries with a "
            f".name, got {shown}; wrap it: Source('name', registry)"
        )
    assert CompositeRegistry(local("a")).name == "composite"


def test_a_collision_message_lists_every_name_and_the_two_fixes() -> None:
    """Each colliding name with its owners, sorted, then the namespace and 'first' fixes."""
    with pytest.raises(RegistryCollisionError) as caught:
        CompositeRegistry(local("a", "y", "x"), local("b", "x", "y"))
    assert str(caught.value) == (
        "registry sources collide: tool 'x' is exposed by 'a' and 'b'; tool 'y' is exposed by "
        "'a' and 'b'. Give one source a namespace= (Source('name', registry, namespace='ns')) "
        "or pass on_collision='first' to let the earlier source win"
    )


async def test_a_plugin_action_that_became_ambiguous_is_unavailable_and_reported() -> None:
    """A collision appearing after construction: resolve() names the action and the fix,
    health() reports it under the canonical name."""
    a, b = LocalRegistry("a"), LocalRegistry("b")
    composite = CompositeRegistry(a, b)
    a.plugin(Jobs)
    b.plugin(Jobs)
    with pytest.raises(UnavailableError) as caught:
        composite.resolve(Kind.PLUGIN, "jobs", "run")
    assert caught.value.message == "plugin 'jobs.run' is ambiguous: exposed by 'a' and 'b'"
    assert caught.value.hint == "give one source a namespace or remove the duplicate"
    assert caught.value.retryable is False
    assert (await composite.health()).problems == {"collision:jobs.run": "exposed by a, b"}


def test_an_action_on_a_loaded_tool_is_refused_under_its_exposed_name() -> None:
    """resolve('ns.x', action=...) on a loaded tool: the composite answers, with the name the
    caller used, rather than asking the source about its own name 'x'."""
    composite = CompositeRegistry(Source("a", local("a", "x"), namespace="ns"))
    with pytest.raises(UnknownEntryError) as caught:
        composite.resolve(Kind.TOOL, "ns.x", "foo")
    assert caught.value.message == "tool 'ns.x' has no actions; call it without action='foo'"


def test_a_source_that_cannot_list_still_serves_plugin_actions() -> None:
    """A broken catalogue's resolve() gets the action too."""
    entry = LocalRegistry("r")
    entry.plugin(Jobs)
    run = entry.resolve(Kind.PLUGIN, "jobs", "run")

    class ListBroken(FailingCatalogue):
        def resolve(self, kind: Kind, name: str, action: str | None = None) -> Entry:
            if (kind, name, action) == (Kind.PLUGIN, "jobs", "run"):
                return run
            return super().resolve(kind, name, action)

    composite = CompositeRegistry(local("ok", "calc"), ListBroken(RuntimeError()))
    assert composite.resolve(Kind.PLUGIN, "jobs", "run") is run


def test_a_failing_catalogue_is_logged_and_does_not_hide_later_sources(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A source whose list() raises first: later sources are indexed; the warning names the
    source and the exception type, with the traceback."""
    with caplog.at_level(logging.WARNING, logger="toolware.registry"):
        composite = CompositeRegistry(FailingCatalogue(RuntimeError()), local("ok", "calc"))
    assert [d.name for d in composite.list()] == ["calc"]
    (record,) = caplog.records
    assert record.getMessage() == "registry.source_failed source=remote error=ConnectionError"
    assert (record.source, record.error) == ("remote", "ConnectionError")  # type: ignore[attr-defined]
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], ConnectionError)


def test_a_source_whose_resolve_crashes_is_unavailable_with_the_action_named(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The message, hint and log record name the source and the canonical action name."""
    remote = FailingCatalogue(RuntimeError("secret"), frozenset({"jobs"}))
    composite = CompositeRegistry(local("ok", "calc"), remote)
    with caplog.at_level(logging.WARNING, logger="toolware.registry"):
        caplog.clear()
        with pytest.raises(UnavailableError) as caught:
            composite.resolve(Kind.PLUGIN, "jobs", "run")
    assert caught.value.message == (
        "plugin 'jobs.run' is unavailable: registry source 'remote' failed (RuntimeError); see "
        "the 'registry.source_failed' log record"
    )
    assert caught.value.hint == "check source 'remote' (health() names its problem)"
    (record,) = [r for r in caplog.records if "target=" in r.getMessage()]
    assert record.getMessage() == (
        "registry.source_failed source=remote target=jobs.run error=RuntimeError"
    )
    assert (record.source, record.target) == ("remote", "jobs.run")  # type: ignore[attr-defined]
    assert record.exc_info is not None


def test_collisions_of_a_lazy_plugin_and_its_loaded_actions_are_all_reported() -> None:
    """Lazy 'notes' in two sources and loaded 'notes.add' in two others: one collision error
    listing all of them (the plugin-level and action-level names sort together)."""

    def lazy(name: str) -> LocalRegistry:
        registry = LocalRegistry(name)
        registry.add_lazy("tests.registry.registry_support:Notes", kind=Kind.PLUGIN)
        return registry

    def loaded(name: str) -> LocalRegistry:
        registry = LocalRegistry(name)
        registry.plugin(Notes)
        return registry

    with pytest.raises(RegistryCollisionError) as caught:
        CompositeRegistry(lazy("a"), lazy("b"), loaded("c"), loaded("d"))
    message = str(caught.value)
    assert "plugin 'notes' is exposed by 'a' and 'b'" in message
    assert "plugin 'notes.add' is exposed by 'c' and 'd'" in message
