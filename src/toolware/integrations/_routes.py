"""Function names mapped back to registry entries (``notes__add`` → plugin ``notes``,
action ``add``), from a registry's listing, kept per listing."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import NamedTuple

from toolware.context import Kind
from toolware.pipeline import Pipeline
from toolware.registry.base import EntryDescription, Registry
from toolware.registry.names import function_name, parse_function_name
from toolware.router import Router

__all__ = ["Route", "registry_of", "route_for", "routes"]


class Route(NamedTuple):
    """Where a function name goes: kind, entry name, plugin action, and the entry's
    description when the registry lists it."""

    kind: Kind
    name: str
    action: str | None = None
    description: EntryDescription | None = None


def registry_of(source: object) -> Registry:
    """The registry behind ``source``: a registry itself, or a pipeline routed to one."""
    if isinstance(source, Pipeline):
        terminal = source.terminal
        if isinstance(terminal, Router):
            return terminal.registry
        raise TypeError(
            f"pipeline {source.name!r} does not route to a registry (its terminal is "
            f"{type(terminal).__name__}), so its tools are unknown; pass registry= as well"
        )
    if isinstance(source, Registry):
        return source
    raise TypeError(f"expected a Registry or a Pipeline routed to one, got {type(source).__name__}")


_ROUTES: dict[int, tuple[tuple[EntryDescription, ...], dict[str, Route]]] = {}
_ROUTES_KEPT = 16
_ROUTES_LOCK = threading.Lock()


def routes(registry: Registry) -> dict[str, Route]:
    """Function name → route, for every entry ``registry.list()`` gives (kept per listing)."""
    listing = registry.list()
    kept = _ROUTES.get(id(listing))
    if kept is not None and kept[0] is listing:
        return kept[1]
    found = {function_name(d): Route(d.kind, d.name, d.action, d) for d in listing}
    with _ROUTES_LOCK:  # event loops in several threads may share a registry
        while len(_ROUTES) >= _ROUTES_KEPT:  # listings change rarely: forget the oldest
            del _ROUTES[next(iter(_ROUTES))]
        _ROUTES[id(listing)] = (listing, found)
    return found


def route_for(name: str, known: Mapping[str, Route]) -> Route:
    """The route for a function name; an unknown name is tried as a tool (as a plugin action
    when it has ``__``), so that the registry answers ``not_found`` with close matches."""
    found = known.get(name)
    if found is not None:
        return found
    entry, action = parse_function_name(name)
    if action is not None and entry:
        return Route(Kind.PLUGIN, entry, action)
    return Route(Kind.TOOL, name)
