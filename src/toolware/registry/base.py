"""The registry protocol shared by tools, plugins and RAG retrievers, and its data types."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

import msgspec

from toolware.context import Kind
from toolware.registry._misses import close_matches, unknown_entry
from toolware.registry.names import (
    function_name,
    parse_function_name,
    qualified_name,
    split_qualified,
)

__all__ = [
    "ArgumentValidator",
    "CachePolicy",
    "CacheScope",
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


class CacheScope(StrEnum):
    """Who shares an entry's cached results."""

    PRINCIPAL = "principal"
    """Each caller (``request.principal.id``; anonymous calls share one scope) has its own
    results: the safe default, since a tool may answer differently per caller."""
    SHARED = "shared"
    """Every caller gets the same cached result: only for answers that do not depend on who
    asks (public data, pure functions)."""


class CachePolicy(msgspec.Struct, frozen=True, kw_only=True):
    """An entry's opt-in to result caching (``@registry.tool(cache=CachePolicy(...))``;
    ``cache=True`` is ``CachePolicy()``).

    ``ttl`` is how many seconds a result stays fresh (``None``: the cache interceptor's own
    ``ttl``); ``scope`` says who shares results. Only the cache interceptor reads it: without
    one in the pipeline nothing is cached.
    """

    ttl: float | None = None
    scope: CacheScope = CacheScope.PRINCIPAL

    def __post_init__(self) -> None:
        ttl = self.ttl
        if ttl is not None and (
            isinstance(ttl, bool)
            or not isinstance(ttl, int | float)
            or not (math.isfinite(ttl) and ttl > 0)
        ):
            raise ValueError(
                f"CachePolicy ttl must be a finite number of seconds > 0, or None for the cache "
                f"interceptor's ttl, got {ttl!r}"
            )
        if not isinstance(self.scope, CacheScope):
            try:
                scope = CacheScope(self.scope)
            except ValueError:
                raise ValueError(
                    f"CachePolicy scope must be 'principal' or 'shared', got {self.scope!r}"
                ) from None
            msgspec.structs.force_setattr(self, "scope", scope)


class EntryDescription(msgspec.Struct, frozen=True, kw_only=True):
    """What an entry is, for listings, function-calling schemas and interceptors.

    ``args_schema`` and ``result_schema`` are JSON Schema documents inferred from type hints;
    ``timeout`` is the entry's default time limit in seconds (``None``: the pipeline's).
    ``loaded`` is ``False`` for a lazy entry not imported yet (or whose import failed): its
    kind, name and registration options are known, but its schemas are empty and a plugin's
    actions unknown until the first resolve imports it.

    A *streaming* entry (an async or sync generator function) answers with a stream of chunks:
    ``chunk_schema`` is the JSON Schema of one chunk, ``result_schema`` that of the list
    ``response.collect()`` gives. ``first_chunk_timeout`` bounds the wait for the first chunk
    and ``idle_timeout`` the wait for each later one (``None``: only the call's deadline).
    A lazy entry not loaded yet carries its streaming options but says ``streaming=False``:
    only the import tells whether its object is a generator function.

    ``retry`` says whether the retry and hedging interceptors may run the entry again after it
    started: ``None`` (the default) follows ``idempotent``; ``True`` allows it for an entry
    that is not idempotent (its effect is deduplicated downstream, say); ``False`` never.
    ``cache`` is the entry's opt-in to result caching (:class:`CachePolicy`), ``None`` for none.
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
    streaming: bool = False
    chunk_schema: Mapping[str, Any] = msgspec.field(default_factory=dict)
    first_chunk_timeout: float | None = None
    idle_timeout: float | None = None
    retry: bool | None = None
    cache: CachePolicy | None = None

    @property
    def may_repeat(self) -> bool:
        """Whether running this entry twice for one call is allowed (``retry``, else
        ``idempotent``): what retry and hedging check before they run it again."""
        return self.idempotent if self.retry is None else self.retry

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
    ``result_validator`` (set when registered with ``check_result=True``) takes the value the
    function returned and gives back the value to answer with, or raises
    :class:`~toolware.errors.ToolFailedError` when it does not fit the declared return type.

    A streaming entry (``streaming``) has a generator function: calling it returns an async
    generator when ``is_async``, a sync generator (stepped one chunk at a time in the worker
    threads) otherwise; its ``result_validator`` checks each chunk. ``read_ahead`` is how many
    chunks a background task may fetch before the consumer asks for them (0: none, the
    producer runs only while the consumer pulls).
    """

    description: EntryDescription
    function: Callable[..., Any]
    is_async: bool
    validator: ArgumentValidator
    context_parameter: str | None = None
    retryable_on: tuple[type[BaseException], ...] = ()
    result_validator: Callable[[Any], Any] | None = None
    streaming: bool = False
    read_ahead: int = 0


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
