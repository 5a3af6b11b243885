"""A registry over several sources, with explicit precedence and collision handling.

    registry = CompositeRegistry(
        Source("local", local),
        Source("search", search_service, namespace="search"),  # exposed as "search.<name>"
        on_collision="refuse",                                 # or "first": earlier source wins
    )
    registry = CompositeRegistry(local, remote)  # registries, each named by its .name

Sources are listed in precedence order. With ``on_collision="refuse"`` (the default) two
sources exposing the same kind and name is an error: at construction a
:class:`~toolware.errors.RegistryCollisionError` naming both, and if a source adds a colliding
entry later, calls to that name fail with ``unavailable`` until it is fixed, while every other
name keeps working.

A source whose ``list()`` raises does not take the others down: its entries cannot be indexed,
so a name the healthy sources do not have is asked of it directly, and answers ``unavailable``
naming the source if that fails too; :meth:`CompositeRegistry.health` names it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any, Literal

import msgspec

from toolware.context import Kind
from toolware.errors import (
    RegistryCollisionError,
    ToolwareError,
    UnavailableError,
    UnknownEntryError,
)
from toolware.registry._misses import MissIndex
from toolware.registry.base import (
    Entry,
    EntryDescription,
    EntryKey,
    FastLookup,
    HealthStatus,
    PendingImports,
    Registry,
    RegistryHealth,
)
from toolware.registry.names import qualified_name

__all__ = ["CompositeRegistry", "Source"]

logger = logging.getLogger("toolware.registry")


class Source(msgspec.Struct, frozen=True):
    """A registry in a composite: a name for messages, and an optional namespace prefix."""

    name: str
    registry: Registry
    namespace: str | None = None

    def exposed(self, name: str, separator: str) -> str:
        return name if self.namespace is None else f"{self.namespace}{separator}{name}"


class _Owner(msgspec.Struct, frozen=True):
    """Who answers for an exposed key: the source, the name there, and whether it is loaded."""

    source: Source
    name: str
    loaded: bool


def _as_source(source: Any) -> Source:
    """A :class:`Source` as given, or one made from a registry and its ``name``."""
    if isinstance(source, Source):
        return source
    name = getattr(source, "name", None)
    if isinstance(source, Registry) and isinstance(name, str) and name:
        return Source(name, source)
    raise TypeError(
        f"CompositeRegistry takes Source(name, registry) objects or registries with a .name, "
        f"got {type(source).__name__}; wrap it: Source('name', registry)"
    )


class CompositeRegistry:
    """Resolves through an index of all sources, rebuilt whenever a source's revision moves."""

    def __init__(
        self,
        *sources: Source | Registry,
        on_collision: Literal["refuse", "first"] = "refuse",
        separator: str = ".",
        name: str = "composite",
    ) -> None:
        if not sources:
            raise ValueError("CompositeRegistry needs at least one Source(name, registry)")
        if on_collision not in ("refuse", "first"):
            raise ValueError(f"on_collision must be 'refuse' or 'first', got {on_collision!r}")
        wrapped = tuple(_as_source(source) for source in sources)
        names = [source.name for source in wrapped]
        if len(set(names)) != len(names):
            duplicate = next(n for n in names if names.count(n) > 1)
            raise ValueError(
                f"source names must be unique, got {names}: give each its own name, e.g. "
                f"Source({duplicate + '_2'!r}, registry) or LocalRegistry({duplicate + '_2'!r})"
            )
        self.name = name
        self._sources = wrapped
        self._registries = tuple(source.registry for source in wrapped)
        self._on_collision = on_collision
        self._separator = separator
        self._index: dict[EntryKey, _Owner] = {}
        self._routes: dict[EntryKey, tuple[Callable[[EntryKey], Entry | None], EntryKey]] = {}
        self._collisions: dict[EntryKey, tuple[str, ...]] = {}
        self._broken: dict[str, str] = {}
        self._listing: tuple[EntryDescription, ...] = ()
        self._revisions: tuple[int, ...] = ()
        self._reindex()
        if self._collisions:
            raise RegistryCollisionError(self._collision_message())

    @property
    def revision(self) -> int:
        # A sum, not a max: a change in any source moves it, whichever source is ahead.
        return sum(registry.revision for registry in self._registries)

    @property
    def lookup(self) -> Callable[[EntryKey], Entry | None]:
        """The sources' own fast lookups through the index, namespaced names translated.

        ``None`` means "ask :meth:`resolve`": the key is unknown, lazy, ambiguous, owned by a
        source without a fast lookup, or a source changed since the last index.
        """
        return self._lookup

    def _lookup(self, key: EntryKey) -> Entry | None:
        route = self._routes.get(key)
        if route is None or self._stale():
            return None
        return route[0](route[1])

    def _stale(self) -> bool:
        for registry, revision in zip(self._registries, self._revisions, strict=True):
            if registry.revision != revision:
                return True
        return False

    def is_pending(self, kind: Kind, name: str) -> bool:
        """Whether resolving ``kind``/``name`` may import or re-index (worth a worker thread):
        the owning source's :meth:`is_pending`, or ``True`` when a source changed since the
        last index (re-indexing lists every source)."""
        if self._stale():
            return True
        owner = self._index.get((kind, name, None))
        if owner is None or not isinstance(owner.source.registry, PendingImports):
            return False
        return owner.source.registry.is_pending(kind, owner.name)

    def _collision_message(self) -> str:
        lines = [
            f"{kind.value} {qualified_name(name, action)!r} is exposed by "
            f"{' and '.join(map(repr, owners))}"
            for (kind, name, action), owners in sorted(self._collisions.items(), key=str)
        ]
        return (
            "registry sources collide: " + "; ".join(lines) + ". Give one source a namespace= "
            "(Source('name', registry, namespace='ns')) or pass on_collision='first' to let "
            "the earlier source win"
        )

    def _reindex(self) -> None:
        revisions = tuple(registry.revision for registry in self._registries)
        index: dict[EntryKey, _Owner] = {}
        collisions: dict[EntryKey, tuple[str, ...]] = {}
        broken: dict[str, str] = {}
        listing: list[tuple[EntryKey, EntryDescription]] = []
        for source in self._sources:
            try:
                descriptions = source.registry.list()
            except Exception as exc:
                # One source's catalogue failing must not fail every call through the others.
                broken[source.name] = f"cannot list its entries ({type(exc).__name__})"
                logger.warning(
                    "registry.source_failed source=%s error=%s",
                    source.name,
                    type(exc).__name__,
                    exc_info=exc,
                    extra={"source": source.name, "error": type(exc).__name__},
                )
                continue
            for description in descriptions:
                exposed = source.exposed(description.name, self._separator)
                key = (description.kind, exposed, description.action)
                if key in index:
                    if self._on_collision == "refuse":
                        owners = collisions.get(key, (index[key].source.name,))
                        collisions[key] = (*owners, source.name)
                    continue
                index[key] = _Owner(source, description.name, description.loaded)
                if exposed != description.name:
                    description = msgspec.structs.replace(description, name=exposed)
                listing.append((key, description))
        routes = {}
        for key, owner in index.items():
            registry = owner.source.registry
            if owner.loaded and key not in collisions and isinstance(registry, FastLookup):
                routes[key] = (registry.lookup, (key[0], owner.name, key[2]))
        # An ambiguous name is not offered: calling it would fail with 'unavailable'.
        self._listing = tuple(d for key, d in listing if key not in collisions)
        self._index = index
        self._routes = routes
        self._collisions = collisions
        self._broken = broken
        self._revisions = revisions
        self._misses: MissIndex | None = None

    def _fresh(self) -> None:
        if self._stale():
            self._reindex()

    def resolve(self, kind: Kind, name: str, action: str | None = None) -> Entry:
        self._fresh()
        key = (kind, name, action)
        if key in self._collisions:
            raise UnavailableError(
                f"{kind.value} {qualified_name(name, action)!r} is ambiguous: exposed by "
                f"{' and '.join(map(repr, self._collisions[key]))}",
                hint="give one source a namespace or remove the duplicate",
                retryable=False,
            )
        owner = self._index.get(key)
        if owner is None:
            # A lazy plugin's actions are unknown until it is imported: its source decides.
            lazy = self._index.get((kind, name, None))
            owner = lazy if lazy is not None and not lazy.loaded else None
        if owner is not None:
            return self._ask(owner.source, kind, owner.name, action)
        for source in self._sources:
            if source.name in self._broken:
                found = self._ask_broken(source, kind, name, action)
                if found is not None:
                    return found
        raise self._not_found(kind, name, action)

    def _ask(self, source: Source, kind: Kind, name: str, action: str | None) -> Entry:
        try:
            return source.registry.resolve(kind, name, action)
        except ToolwareError:
            raise
        except Exception as exc:
            raise self._source_failed(source, kind, name, action, exc) from exc

    def _ask_broken(
        self, source: Source, kind: Kind, name: str, action: str | None
    ) -> Entry | None:
        """Ask a source that cannot list its entries for a name the index does not have."""
        if source.namespace is not None:
            prefix = source.namespace + self._separator
            if not name.startswith(prefix):
                return None
            name = name[len(prefix) :]
        try:
            return self._ask(source, kind, name, action)
        except UnknownEntryError:
            return None

    def _source_failed(
        self, source: Source, kind: Kind, name: str, action: str | None, exc: Exception
    ) -> UnavailableError:
        logger.warning(
            "registry.source_failed source=%s target=%s error=%s",
            source.name,
            qualified_name(name, action),
            type(exc).__name__,
            exc_info=exc,
            extra={"source": source.name, "target": qualified_name(name, action)},
        )
        return UnavailableError(
            f"{kind.value} {qualified_name(name, action)!r} is unavailable: registry source "
            f"{source.name!r} failed ({type(exc).__name__}); see the 'registry.source_failed' "
            "log record",
            hint=f"check source {source.name!r} (health() names its problem)",
        )

    def _not_found(self, kind: Kind, name: str, action: str | None) -> UnknownEntryError:
        index = self._misses
        if index is None:  # built on the first miss after each re-index, not per miss
            index = self._misses = MissIndex(self._index)
        return index.error(self.name, kind, name, action)

    def list(self) -> tuple[EntryDescription, ...]:
        """Every source's descriptions, exposed names, precedence order; sources that cannot
        list their entries are left out (see :meth:`health`)."""
        self._fresh()
        return self._listing

    async def health(self) -> RegistryHealth:
        problems: dict[str, str] = {}
        self._fresh()  # a collision or a broken source appearing since the last call shows
        reports = await asyncio.gather(
            *(registry.health() for registry in self._registries), return_exceptions=True
        )
        statuses: list[HealthStatus] = []
        entries = 0
        for source, report in zip(self._sources, reports, strict=True):
            if isinstance(report, BaseException):
                problems[source.name] = f"health check raised {type(report).__name__}: {report}"
                statuses.append(HealthStatus.DOWN)
                continue
            statuses.append(report.status)
            entries += report.entries
            problems.update({f"{source.name}/{k}": v for k, v in report.problems.items()})
            if report.status is not HealthStatus.OK and not report.problems:
                problems[source.name] = report.status.value
        problems.update(self._broken)
        for key, owners in self._collisions.items():
            problems[f"collision:{qualified_name(key[1], key[2])}"] = "exposed by " + ", ".join(
                owners
            )
        if all(status is HealthStatus.DOWN for status in statuses):
            status = HealthStatus.DOWN
        elif problems or any(status is not HealthStatus.OK for status in statuses):
            status = HealthStatus.DEGRADED
        else:
            status = HealthStatus.OK
        return RegistryHealth(status=status, entries=entries, problems=problems)

    def sources(self) -> Mapping[str, Registry]:
        return {source.name: source.registry for source in self._sources}
