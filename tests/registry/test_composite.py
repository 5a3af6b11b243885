"""Tests for toolware.registry.composite: precedence, collisions, namespaces and health."""

from typing import Any

import pytest

from toolware import (
    CompositeRegistry,
    Entry,
    EntryDescription,
    ErrorCategory,
    Kind,
    LocalRegistry,
    NotFoundError,
    RegistryCollisionError,
    Source,
    UnavailableError,
    default_pipeline,
)
from toolware.registry import HealthStatus, RegistryHealth


def registry_with(name: str, *tools: str) -> LocalRegistry:
    """A local registry whose tools return '<registry>:<tool>'."""
    registry = LocalRegistry(name)
    for tool in tools:

        def handler(_tool: str = tool) -> str:
            return f"{name}:{_tool}"

        registry.add(handler, name=tool)
    return registry


class StubRegistry:
    """A registry with no entries whose health is scripted (a report or an exception)."""

    def __init__(self, health: RegistryHealth | Exception) -> None:
        self._health = health

    @property
    def revision(self) -> int:
        return 0

    def resolve(self, kind: Kind, name: str, action: str | None = None) -> Entry:
        raise NotFoundError(f"no {kind.value} named {name!r}")

    def list(self) -> tuple[EntryDescription, ...]:
        return ()

    async def health(self) -> RegistryHealth:
        if isinstance(self._health, Exception):
            raise self._health
        return self._health


def call(registry: Any, name: str) -> Any:
    return registry.resolve(Kind.TOOL, name).function()


def test_resolves_each_name_from_its_source() -> None:
    """Names from different sources are all reachable."""
    composite = CompositeRegistry(
        Source("a", registry_with("a", "one")), Source("b", registry_with("b", "two"))
    )
    assert (call(composite, "one"), call(composite, "two")) == ("a:one", "b:two")


def test_collision_is_refused_at_construction_naming_both_sources() -> None:
    """Two sources exposing the same tool is an error that names both and the fixes."""
    with pytest.raises(RegistryCollisionError) as caught:
        CompositeRegistry(
            Source("primary", registry_with("p", "search")),
            Source("backup", registry_with("b", "search", "other")),
        )
    message = str(caught.value)
    assert "tool 'search' is exposed by 'primary' and 'backup'" in message
    assert "namespace=" in message
    assert "on_collision='first'" in message


def test_first_wins_when_asked_and_precedence_is_source_order() -> None:
    """on_collision='first' lets the earlier source win; list() shows the name once."""
    composite = CompositeRegistry(
        Source("primary", registry_with("p", "search")),
        Source("backup", registry_with("b", "search", "extra")),
        on_collision="first",
    )
    assert call(composite, "search") == "p:search"
    assert [d.name for d in composite.list()] == ["search", "extra"]

    swapped = CompositeRegistry(
        Source("backup", registry_with("b", "search")),
        Source("primary", registry_with("p", "search")),
        on_collision="first",
    )
    assert call(swapped, "search") == "b:search"


def test_namespace_prefixes_names_and_avoids_collisions() -> None:
    """A namespaced source exposes '<ns>.<name>'; list() shows the exposed names."""
    composite = CompositeRegistry(
        Source("local", registry_with("local", "search")),
        Source("remote", registry_with("remote", "search"), namespace="remote"),
    )
    assert call(composite, "search") == "local:search"
    assert call(composite, "remote.search") == "remote:search"
    assert [d.name for d in composite.list()] == ["search", "remote.search"]


def test_custom_separator() -> None:
    """separator= changes how namespace and name are joined."""
    composite = CompositeRegistry(
        Source("remote", registry_with("remote", "search"), namespace="remote"), separator="/"
    )
    assert call(composite, "remote/search") == "remote:search"


def test_collision_appearing_later_makes_only_that_name_unavailable() -> None:
    """A source adding a clashing entry breaks that name, not the others, until fixed."""
    a = registry_with("a", "search", "keep")
    b = registry_with("b", "other")
    composite = CompositeRegistry(Source("a", a), Source("b", b))
    b.add(lambda: "b:search", name="search")

    with pytest.raises(UnavailableError) as caught:
        composite.resolve(Kind.TOOL, "search")
    assert "exposed by 'a' and 'b'" in caught.value.message
    assert caught.value.retryable is False
    assert (call(composite, "keep"), call(composite, "other")) == ("a:keep", "b:other")
    assert sorted(d.name for d in composite.list()) == ["keep", "other"]

    b.remove(Kind.TOOL, "search")
    assert call(composite, "search") == "a:search"


async def test_late_collision_is_an_unavailable_response() -> None:
    """Through a pipeline, an ambiguous name is an 'unavailable' response bound to the call."""
    a = registry_with("a", "search")
    b = LocalRegistry("b")
    composite = CompositeRegistry(Source("a", a), Source("b", b))
    b.add(lambda: "b", name="search")
    response = await default_pipeline(composite).invoke("search")
    assert response.error is not None
    assert response.error.category is ErrorCategory.UNAVAILABLE
    assert response.error.target == "search"


def test_reindexes_when_a_source_changes() -> None:
    """Entries added or removed in a source after construction are seen; revision moves."""
    a = registry_with("a", "one")
    composite = CompositeRegistry(Source("a", a))
    before = composite.revision
    a.add(lambda: "a:new", name="new")
    assert composite.revision > before
    assert call(composite, "new") == "a:new"
    assert [d.name for d in composite.list()] == ["one", "new"]
    a.remove(Kind.TOOL, "new")
    with pytest.raises(NotFoundError):
        composite.resolve(Kind.TOOL, "new")


def test_not_found_lists_close_matches_across_sources() -> None:
    """A typo is matched against every source's names."""
    composite = CompositeRegistry(
        Source("a", registry_with("a", "search_docs")),
        Source("b", registry_with("b", "translate")),
        name="all",
    )
    with pytest.raises(NotFoundError) as caught:
        composite.resolve(Kind.TOOL, "serch_docs")
    assert caught.value.candidates == ("search_docs",)
    assert "in registry 'all'" in caught.value.message


class Notes:
    def add(self, text: str) -> int:
        return len(text)

    def show(self) -> list[str]:
        return []


def test_not_found_for_a_plugin_lists_its_actions() -> None:
    """A plugin's missing or wrong action is explained as in a LocalRegistry."""
    local = LocalRegistry()
    local.plugin(Notes)
    composite = CompositeRegistry(Source("local", local))
    with pytest.raises(NotFoundError, match="needs an action; it has: add, show"):
        composite.resolve(Kind.PLUGIN, "notes")
    with pytest.raises(NotFoundError, match="has no action 'ad'") as caught:
        composite.resolve(Kind.PLUGIN, "notes", "ad")
    assert caught.value.candidates == ("add",)
    assert composite.resolve(Kind.PLUGIN, "notes", "add").function(text="abc") == 3


def test_not_found_says_when_the_name_exists_as_another_kind() -> None:
    """Calling a plugin as a tool points at kind 'plugin'."""
    local = LocalRegistry()
    local.plugin(Notes)
    composite = CompositeRegistry(Source("local", local))
    with pytest.raises(NotFoundError) as caught:
        composite.resolve(Kind.TOOL, "notes")
    assert "exists as kind 'plugin'" in caught.value.hint


def test_not_found_for_an_action_on_a_tool() -> None:
    """A tool called with an action says tools have none."""
    composite = CompositeRegistry(Source("a", registry_with("a", "ping")))
    with pytest.raises(NotFoundError, match="has no actions"):
        composite.resolve(Kind.TOOL, "ping", "now")


def test_sources_returns_registries_by_name() -> None:
    """sources() maps source names to their registries."""
    a, b = registry_with("a", "x"), registry_with("b", "y")
    assert CompositeRegistry(Source("a", a), Source("b", b)).sources() == {"a": a, "b": b}


@pytest.mark.parametrize(
    ("sources", "options", "message"),
    [
        ((), {}, "at least one Source"),
        ((Source("a", LocalRegistry()),), {"on_collision": "last"}, "on_collision"),
        ((Source("a", LocalRegistry()), Source("a", LocalRegistry())), {}, "unique"),
    ],
)
def test_bad_construction_is_refused(
    sources: tuple[Source, ...], options: dict[str, Any], message: str
) -> None:
    """No sources, an unknown collision policy or duplicate source names are refused."""
    with pytest.raises(ValueError, match=message):
        CompositeRegistry(*sources, **options)


async def test_health_ok_sums_entries() -> None:
    """All sources healthy: ok, with their entry counts added up."""
    composite = CompositeRegistry(
        Source("a", registry_with("a", "x", "y")), Source("b", registry_with("b", "z"))
    )
    health = await composite.health()
    assert (health.status, health.entries, health.problems) == (HealthStatus.OK, 3, {})


async def test_health_degraded_prefixes_source_problems() -> None:
    """A source's problems are reported under '<source>/<problem>'."""
    broken = LocalRegistry()
    broken.add_lazy("toolware_no_such_module_y:gone")
    with pytest.raises(UnavailableError):
        broken.resolve(Kind.TOOL, "gone")
    composite = CompositeRegistry(
        Source("ok", registry_with("ok", "x")), Source("broken", broken), on_collision="first"
    )
    health = await composite.health()
    assert health.status is HealthStatus.DEGRADED
    assert list(health.problems) == ["broken/tool:gone"]


async def test_health_source_that_raises_is_down_and_named() -> None:
    """A health check that raises counts that source as down; the others keep it degraded."""
    composite = CompositeRegistry(
        Source("ok", registry_with("ok", "x")),
        Source("flaky", StubRegistry(ConnectionError("refused"))),
    )
    health = await composite.health()
    assert health.status is HealthStatus.DEGRADED
    assert health.problems == {"flaky": "health check raised ConnectionError: refused"}
    assert health.entries == 1


async def test_health_non_ok_source_without_details_is_named() -> None:
    """A source reporting degraded without problems is still named."""
    composite = CompositeRegistry(
        Source("ok", registry_with("ok", "x")),
        Source("slow", StubRegistry(RegistryHealth(status=HealthStatus.DEGRADED, entries=0))),
    )
    health = await composite.health()
    assert health.status is HealthStatus.DEGRADED
    assert health.problems == {"slow": "degraded"}


async def test_health_all_sources_down_is_down() -> None:
    """Every source down (reported or raising): the composite is down."""
    composite = CompositeRegistry(
        Source("a", StubRegistry(RuntimeError("boom"))),
        Source("b", StubRegistry(RegistryHealth(status=HealthStatus.DOWN, entries=0))),
    )
    health = await composite.health()
    assert health.status is HealthStatus.DOWN
    assert set(health.problems) == {"a", "b"}


async def test_health_reports_a_collision_that_appeared_later() -> None:
    """health() re-indexes first, so a new collision shows without any call in between."""
    a, b = registry_with("a", "search"), LocalRegistry("b")
    composite = CompositeRegistry(Source("a", a), Source("b", b))
    b.add(lambda: "b", name="search")
    health = await composite.health()
    assert health.status is HealthStatus.DEGRADED
    assert health.problems == {"collision:search": "exposed by a, b"}


class BrokenCatalogue(StubRegistry):
    """A source whose catalogue changes and then cannot be listed."""

    def __init__(self) -> None:
        super().__init__(RegistryHealth(status=HealthStatus.OK, entries=0))
        self.broken = False

    @property
    def revision(self) -> int:
        return 1 if self.broken else 0

    def list(self) -> tuple[EntryDescription, ...]:
        if self.broken:
            raise ConnectionError("catalogue unreachable")
        return ()


async def test_health_reports_a_source_that_cannot_be_indexed() -> None:
    """If re-indexing fails, health() still answers, degraded, saying why."""
    source = BrokenCatalogue()
    composite = CompositeRegistry(Source("ok", registry_with("ok", "x")), Source("remote", source))
    source.broken = True
    health = await composite.health()
    assert health.status is HealthStatus.DEGRADED
    assert health.problems == {"remote": "cannot list its entries (ConnectionError)"}
