"""The registry protocol shared by tools, plugins and RAG retrievers, and its data types."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

import msgspec

from toolware.context import Kind
from toolware.errors import UnknownEntryError
from toolware.registry.names import (
    function_name,
    parse_function_name,
    qualified_name,
    split_qualified,
)

__all__ = [
    "ArgumentValidator",
    "Entry",
    "EntryDescription",
    "EntryKey",
    "FastLookup",
    "HealthStatus",
    "PendingImports",
    "Registry",
    "RegistryHealth",
    "close_matches",
    "fast_lookup",
    "function_name",
    "parse_function_name",
    "split_qualified",
    "unknown_entry",
]


class EntryDescription(msgspec.Struct, frozen=True, kw_only=True):
    """What an entry is, for listings, function-calling schemas and interceptors.

    ``args_schema`` and ``result_schema`` are JSON Schema documents inferred from type hints;
    ``timeout`` is the entry's default time limit in seconds (``None``: the pipeline's).
    ``loaded`` is ``False`` for a lazy entry not imported yet (or whose import failed): its
    kind, name and registration options are known, but its schemas are empty and a plugin's
    actions unknown until the first resolve imports it.
    """

    name: str
    kind: Kind
    action: str | None = None
    description: str = ""
    args_schema: Mapping[str, Any] = msgspec.field(default_factory=dict)
    result_schema: Mapping[str, Any] = msgspec.field(default_factory=dict)
    tags: frozenset[str] = frozenset()
    version: str = "0"
    idempotent: bool = False
    timeout: float | None = None
    loaded: bool = True

    @property
    def qualified_name(self) -> str:
        """The canonical, addressable name: ``notes.add`` for the action ``add`` of the
        plugin ``notes`` (see :mod:`toolware.registry.names`)."""
        return qualified_name(self.name, self.action)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (tags sorted)."""
        data: dict[str, Any] = msgspec.to_builtins(self)
        data["tags"] = sorted(self.tags)
        return data


class ArgumentValidator(Protocol):
    """Checks and converts an entry's arguments before its handler runs."""

    def validate(self, arguments: Mapping[str, Any], *, strict: bool = False) -> Mapping[str, Any]:
        """Return the converted arguments, or raise :class:`InvalidRequestError` naming each
        bad field. ``strict`` refuses conversions such as ``"3"`` to ``3``."""
        ...


class Entry(msgspec.Struct, frozen=True, kw_only=True):
    """A resolved registry entry: its description and how to run it.

    ``function`` is called with the arguments as keywords; it is awaited when ``is_async`` and
    run in the router's worker threads otherwise. ``context_parameter`` names a parameter that
    receives the :class:`~toolware.context.RequestContext` itself. An exception from the
    function is retryable only if it is an instance of one of ``retryable_on``.
    """

    description: EntryDescription
    function: Callable[..., Any]
    is_async: bool
    validator: ArgumentValidator
    context_parameter: str | None = None
    retryable_on: tuple[type[BaseException], ...] = ()


class HealthStatus(StrEnum):
    OK = "ok"
    DEGRADED = "degraded"
    DOWN = "down"


class RegistryHealth(msgspec.Struct, frozen=True, kw_only=True):
    """A registry's health: overall status, entry count, and problems by source or entry."""

    status: HealthStatus
    entries: int
    problems: Mapping[str, str] = msgspec.field(default_factory=dict)


@runtime_checkable
class Registry(Protocol):
    """One protocol for every source of entries.

    ``resolve`` is synchronous because it sits on every call's path; sources that live
    elsewhere keep a local catalogue and refresh it in the background. ``revision`` changes
    whenever the set of entries changes, so composites and caches know when to re-index.
    """

    @property
    def revision(self) -> int: ...

    def resolve(self, kind: Kind, name: str, action: str | None = None) -> Entry:
        """The entry, or raise :class:`~toolware.errors.NotFoundError` with close matches."""
        ...

    def list(self) -> tuple[EntryDescription, ...]:
        """Every entry's description, in registration order."""
        ...

    async def health(self) -> RegistryHealth: ...


EntryKey = tuple[Kind, str, str | None]
"""How entries are keyed: ``(kind, name, action)``; ``action`` is ``None`` but for plugins."""


@runtime_checkable
class FastLookup(Protocol):
    """A registry that can answer hot-path lookups from memory.

    ``lookup(key)`` returns the loaded entry, or ``None`` meaning "not loaded here (lazy,
    unknown, ambiguous...): ask ``resolve()``", which imports, re-indexes and explains misses.
    It must be safe to call from any thread and must not block.
    """

    @property
    def lookup(self) -> Callable[[EntryKey], Entry | None]: ...


@runtime_checkable
class PendingImports(Protocol):
    """A registry that can say whether resolving a name would do slow work (an import).

    A pipeline asks before resolving on the event loop: when ``is_pending`` is true it
    resolves in a worker thread instead. Cheap, lock-free, safe from any thread.
    """

    def is_pending(self, kind: Kind, name: str) -> bool: ...


_NOTHING_LOADED: dict[EntryKey, Entry] = {}


def fast_lookup(registry: Registry) -> Callable[[EntryKey], Entry | None]:
    """The registry's in-memory ``lookup`` if it has one (:class:`FastLookup`), else one
    that always says "ask".

    Hot paths call ``lookup(key) or registry.resolve(...)``: registries that keep their
    entries in a dict (``LocalRegistry.lookup``) answer with one C call; composites route to
    their sources' lookups; the others are asked through ``resolve`` as usual.
    """
    if isinstance(registry, FastLookup):
        return registry.lookup
    return _NOTHING_LOADED.get


def unknown_entry(
    registry: str, kind: Kind, name: str, action: str | None, keys: Iterable[EntryKey]
) -> UnknownEntryError:
    """The error for a miss, given every key the registry has: a plugin lists its actions, a
    name that exists as another kind says so, and close names are suggested."""
    keys = tuple(keys)
    same_kind = [key_name for key_kind, key_name, _ in keys if key_kind is kind]
    actions = sorted(
        str(key_action)
        for key_kind, key_name, key_action in keys
        if key_kind is kind and key_name == name and key_action is not None
    )
    if actions and kind is Kind.PLUGIN:
        wanted = "needs an action" if action is None else f"has no action {action!r}"
        return UnknownEntryError(
            f"plugin {name!r} {wanted}; it has: {', '.join(actions)}",
            candidates=close_matches(action, actions) if action else tuple(actions[:3]),
        )
    if action is not None and name in same_kind:
        return UnknownEntryError(
            f"{kind.value} {name!r} has no actions; call it without action={action!r}"
        )
    message = f"no {kind.value} named {name!r} in registry {registry!r}"
    candidates = close_matches(name, same_kind)
    other = sorted({k.value for k, n, _ in keys if n == name and k is not kind})
    if other:
        hint = f"{name!r} exists as kind {other[0]!r}; call it with kind={other[0]!r}"
        return UnknownEntryError(message, candidates=candidates, hint=hint)
    return UnknownEntryError(message, candidates=candidates)


def close_matches(name: str, candidates: Iterable[str], limit: int = 3) -> tuple[str, ...]:
    """Names from ``candidates`` that look like ``name`` (typos, case, separators, prefixes)."""
    pool = sorted(set(candidates))
    found = difflib.get_close_matches(name, pool, n=limit, cutoff=0.6)
    lowered = name.lower().replace("-", "_")
    for candidate in pool:
        folded = candidate.lower().replace("-", "_")
        same = folded == lowered
        # "calc" for "calculator": agents often shorten names; three letters avoid noise.
        prefix = len(lowered) >= 3 and folded.startswith(lowered)
        if (same or prefix) and candidate not in found:
            found.append(candidate)
    return tuple(found[:limit])
