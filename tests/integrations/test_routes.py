"""Tests for toolware.integrations._routes: function names mapped back to entries."""

from __future__ import annotations

import pytest

from tests.integrations.tool_call_support import build_registry
from toolware import Kind, LocalRegistry, PipelineBuilder, RequestContext, ResponseContext
from toolware.integrations._routes import Route, registry_of, route_for, routes


def test_routes_are_kept_per_listing() -> None:
    """The same listing gives the same routes; a registration makes new ones."""
    registry = build_registry()
    first = routes(registry)
    assert routes(registry) is first
    assert first["notes__add"][:3] == (Kind.PLUGIN, "notes", "add")

    @registry.tool
    def extra() -> int:
        return 1

    second = routes(registry)
    assert second is not first
    assert "extra" in second
    assert "extra" not in first


def _size(text: str) -> int:
    return len(text)


def test_routes_forget_old_listings() -> None:
    """At most 16 listings are kept: the oldest goes first."""
    registries = [LocalRegistry(f"r{n}") for n in range(18)]
    for registry in registries:  # an empty listing is the one empty tuple: give each its own
        registry.add(_size, name="size")
    kept = [routes(r) for r in registries]
    assert routes(registries[-1]) is kept[-1]
    assert routes(registries[0]) is not kept[0]


def test_route_for_unknown_names() -> None:
    """An invented name is tried as a tool, or as a plugin action when it has __."""
    assert route_for("calc", {}) == Route(Kind.TOOL, "calc")
    assert route_for("notes__del", {}) == Route(Kind.PLUGIN, "notes", "del")
    assert route_for("__x", {}) == Route(Kind.TOOL, "__x")


def test_routes_keep_the_sixteen_newest_listings() -> None:
    """Of 17 new listings the oldest is forgotten, the second oldest kept."""
    registries = [LocalRegistry(f"k{n}") for n in range(17)]
    for registry in registries:
        registry.add(_size, name="size")
    kept = [routes(r) for r in registries]
    assert routes(registries[1]) is kept[1]
    assert routes(registries[0]) is not kept[0]


def test_registry_of_names_what_it_got() -> None:
    """A pipeline to a plain handler, or something else entirely, is refused by type name."""

    async def handler(request: RequestContext) -> ResponseContext:
        return ResponseContext.success(None)

    pipeline = PipelineBuilder(name="plain").route(handler).build()
    with pytest.raises(TypeError) as caught:
        registry_of(pipeline)
    assert str(caught.value) == (
        "pipeline 'plain' does not route to a registry (its terminal is function), so its "
        "tools are unknown; pass registry= as well"
    )
    with pytest.raises(
        TypeError, match=r"^expected a Registry or a Pipeline routed to one, got int$"
    ):
        registry_of(5)
