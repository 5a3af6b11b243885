"""A registry over several sources, with explicit precedence and collision handling.

    registry = CompositeRegistry(
        Source("local", local),
        Source("search", search_service, namespace="search"),  # exposed as "search.<name>"
        on_collision="refuse",                                 # or "first": earlier source wins
    )

Sources are listed in precedence order. With ``on_collision="refuse"`` (the default) two
sources exposing the same kind and name is an error: at construction a
:class:`~toolware.errors.RegistryCollisionError` naming both, and if a source adds a colliding
entry later, calls to that name fail with ``unavailable`` until it is fixed, while every other
name keeps working.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Literal

import msgspec

from toolware.context import Kind
from toolware.errors import RegistryCollisionError, UnavailableError, UnknownEntryError
from toolware.registry.base import (
    Entry,
    EntryDescription,
    HealthStatus,
    Registry,
    RegistryHealth,
    unknown_entry,
)

__all__ = ["CompositeRegistry", "Source"]

_Key = tuple[Kind, str, str | None]


class Source(msgspec.Struct, frozen=True):
    """A registry in a composite: a name for messages, and an optional namespace prefix."""

    name: str
    registry: Registry
    namespace: str | None = None

    def exposed(self, name: str, separator: str) -> str:
        return name if self.namespace is None else f"{self.namespace}{separator}{name}"


class CompositeRegistry:
    """Resolves through an index of all sources, rebuilt whenever a source's revision moves."""

    def __init__(
        self,
        *sources: Source,
        on_collision: Literal["refuse", "first"] = "refuse",
        separator: str = ".",
        name: str = "composite",
    ) -> None:
        if not sources:
            raise ValueError("CompositeRegistry needs at least one Source(name, registry)")
        if on_collision not in ("refuse", "first"):
            raise ValueError(f"on_collision must be 'refuse' or 'first', got {on_collision!r}")
        names = [source.name for source in sources]
        if len(set(names)) != len(names):
            raise ValueError(f"source names must be unique, got {names}")
        self.name = name
        self._sources = sources
        self._on_collision = on_collision
        self._separator = separator
        self._index: dict[_Key, tuple[Source, str]] = {}
        self._collisions: dict[_Key, tuple[str, ...]] = {}
        self._revisions: tuple[int, ...] = ()
        self._reindex()
        if self._collisions:
            raise RegistryCollisionError(self._collision_message())

    @property
    def revision(self) -> int:
        return sum(source.registry.revision for source in self._sources)

    def _collision_message(self) -> str:
        lines = [
            f"{kind.value} {name if action is None else name + '.' + action!r} is exposed by "
            f"{' and '.join(map(repr, owners))}"
            for (kind, name, action), owners in sorted(self._collisions.items(), key=str)
        ]
        return (
            "registry sources collide: " + "; ".join(lines) + ". Give one source a namespace= "
            "(Source('name', registry, namespace='ns')) or pass on_collision='first' to let "
            "the earlier source win"
        )

    def _reindex(self) -> None:
        index: dict[_Key, tuple[Source, str]] = {}
        collisions: dict[_Key, tuple[str, ...]] = {}
        for source in self._sources:
            for description in source.registry.list():
                key = (
                    description.kind,
                    source.exposed(description.name, self._separator),
                    description.action,
                )
                if key in index:
                    if self._on_collision == "refuse":
                        owners = collisions.get(key, (index[key][0].name,))
                        collisions[key] = (*owners, source.name)
                    continue
                index[key] = (source, description.name)
        self._index = index
        self._collisions = collisions
        self._revisions = tuple(source.registry.revision for source in self._sources)

    def _fresh(self) -> None:
        if self._revisions != tuple(source.registry.revision for source in self._sources):
            self._reindex()

    def resolve(self, kind: Kind, name: str, action: str | None = None) -> Entry:
        self._fresh()
        key = (kind, name, action)
        if key in self._collisions:
            raise UnavailableError(
                f"{kind.value} {name!r} is ambiguous: exposed by "
                f"{' and '.join(map(repr, self._collisions[key]))}",
                hint="give one source a namespace or remove the duplicate",
                retryable=False,
            )
        found = self._index.get(key)
        if found is None:
            raise self._not_found(kind, name, action)
        source, original = found
        return source.registry.resolve(kind, original, action)

    def _not_found(self, kind: Kind, name: str, action: str | None) -> UnknownEntryError:
        return unknown_entry(self.name, kind, name, action, self._index)

    def list(self) -> tuple[EntryDescription, ...]:
        self._fresh()
        result = []
        for source in self._sources:
            for description in source.registry.list():
                exposed = source.exposed(description.name, self._separator)
                key = (description.kind, exposed, description.action)
                owner = self._index.get(key)
                # An ambiguous name is not offered: calling it would fail with 'unavailable'.
                if owner is not None and owner[0] is source and key not in self._collisions:
                    if source.namespace is not None:
                        description = msgspec.structs.replace(description, name=exposed)
                    result.append(description)
        return tuple(result)

    async def health(self) -> RegistryHealth:
        problems: dict[str, str] = {}
        try:
            self._fresh()  # a collision added since the last call must show up here
        except Exception as exc:
            problems["(index)"] = f"re-indexing raised {type(exc).__name__}: {exc}"
        reports = await asyncio.gather(
            *(source.registry.health() for source in self._sources), return_exceptions=True
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
        for key, owners in self._collisions.items():
            problems[f"collision:{key[1]}"] = "exposed by " + ", ".join(owners)
        if all(status is HealthStatus.DOWN for status in statuses):
            status = HealthStatus.DOWN
        elif problems or any(status is not HealthStatus.OK for status in statuses):
            status = HealthStatus.DEGRADED
        else:
            status = HealthStatus.OK
        return RegistryHealth(status=status, entries=entries, problems=problems)

    def sources(self) -> Mapping[str, Registry]:
        return {source.name: source.registry for source in self._sources}
