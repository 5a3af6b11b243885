"""V1 registries as toolware registry sources.

A V1 registry is a plain ``dict`` mapping id → handler, or an object with ``get_tool(name)`` /
``get_rag(name)`` / ``get_plugin(name)`` (returning the handler or ``None``), usually exposing
its dict as ``.tools`` / ``.rags`` / ``.plugins``. :class:`V1Source` makes one a toolware
:class:`~toolware.registry.base.Registry`, so it can sit in a
:class:`~toolware.registry.composite.CompositeRegistry` next to native entries::

    registry = CompositeRegistry(Source("native", local), Source("v1", V1Source(tool_registry)))
    await pipeline.invoke("calculator.add", {"a": 1})  # handler.run({"method": "add", ...})

**How V1 handlers appear.** A handler is a plugin whose actions are its methods (``run``
dispatches on ``payload["method"]``): the call ``calculator.add`` runs
``handler.run({"method": "add", "params": arguments})``. V1 handlers do not declare their
methods, so a handler is listed once, by its id, with ``loaded=False`` (the marker toolware
uses for "actions not known until resolved"; a composite then asks this source for any
action of that name), an open arguments schema (``{"type": "object"}``), the tag ``"v1"``,
and its ``description`` / ``brief`` / ``instruction`` as the description. The source's
``kind`` is :attr:`Kind.PLUGIN` by default; the V1 mixin makes one source per V1 registry
with the kind it stands for (``Kind.RAG``, ``Kind.TOOL``, ``Kind.PLUGIN``): toolware's
requests, router and validation accept an ``action`` for every kind, and a source answers
only for its own kind.

Handlers whose ``type`` starts with ``"mcp"`` run as V1 ran them: their runner (the mixin's MCP
calls, by default :class:`~toolware.compat.v1.mcp.McpCalls` with its default transport) gets
the input string ``"Tool use input: <method> and <params>"``.

A registry with neither a dict nor ``.tools``-style dict cannot be listed: its entries resolve
by name, but a composite does not know their names (its ``health()`` says so).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from toolware.context import Kind
from toolware.errors import NotFoundError, UnknownEntryError
from toolware.registry.base import Entry, EntryDescription, EntryKey, HealthStatus, RegistryHealth
from toolware.registry.names import qualified_name

from ._entries import (
    OPEN_SCHEMA,
    HandlerCall,
    McpActionCall,
    McpRunner,
    handler_description,
    is_mcp_handler,
    make_entry,
)

__all__ = ["GETTERS", "LISTINGS", "V1Source", "find_handler", "registry_ids", "registry_shape"]

logger = logging.getLogger("toolware.compat.v1")

GETTERS: Mapping[Kind, str] = {
    Kind.TOOL: "get_tool",
    Kind.RAG: "get_rag",
    Kind.PLUGIN: "get_plugin",
}
"""The lookup method of a V1 registry object, by the kind it holds."""
LISTINGS: Mapping[Kind, str] = {Kind.TOOL: "tools", Kind.RAG: "rags", Kind.PLUGIN: "plugins"}
"""The dict attribute a V1 registry object usually exposes, by kind."""

_MAX_CACHED = 1024  # entries kept per source; invented method names must not grow it forever


def find_handler(registry: object, kind: Kind, action_id: str) -> object | None:
    """V1's lookup: ``registry.get(id)`` for a dict, else ``registry.get_<kind>(id)``.

    Raises ``TypeError`` for a registry of neither shape; whatever the registry's own lookup
    raises propagates (the caller decides how to answer).
    """
    if isinstance(registry, dict):
        return registry.get(action_id)
    getter = getattr(registry, GETTERS[kind], None)
    if not callable(getter):
        raise TypeError(
            f"a V1 {kind.value} registry must be a dict or have {GETTERS[kind]}(name), got "
            f"{type(registry).__name__}"
        )
    handler: object | None = getter(action_id)
    return handler


def registry_ids(registry: object, kind: Kind) -> list[str] | None:
    """The ids a V1 registry holds (its dict, or its ``.tools``-style dict), or ``None`` when
    it has no listing."""
    listing = registry if isinstance(registry, dict) else getattr(registry, LISTINGS[kind], None)
    if not isinstance(listing, dict):
        return None
    return [key for key in list(listing) if isinstance(key, str)]


def registry_shape(registry: object, kind: Kind) -> Kind | None:
    """Which V1 registry shape ``registry`` has: ``kind`` for a dict or when it has that
    kind's getter, else the kind of the getter it has (a ``ToolRegistry`` addressed as
    plugins), ``None`` when it has none."""
    if isinstance(registry, dict) or callable(getattr(registry, GETTERS[kind], None)):
        return kind
    for other in (Kind.TOOL, Kind.RAG, Kind.PLUGIN):
        if callable(getattr(registry, GETTERS[other], None)):
            return other
    return None


def _default_mcp_runner(action_id: str, handler: object, text: str) -> Any:
    from toolware.compat.v1.mcp import McpCalls

    def log(message: str, level: str) -> None:
        logger.log(
            logging.ERROR if level == "error" else logging.INFO,
            "compat.v1.mcp %s",
            message,
            extra={"level": level},
        )

    calls = McpCalls(
        lookup=lambda tool_id: handler if tool_id == action_id else None,
        available=lambda: [action_id],
        log=log,
    )
    return calls.intent(action_id, text)


class V1Source:
    """A toolware registry over one V1 registry (see the module docstring)."""

    __slots__ = ("_cache", "_mcp_runner", "_shape", "kind", "name", "registry")

    def __init__(
        self,
        registry: object,
        kind: Kind = Kind.PLUGIN,
        *,
        name: str = "v1",
        mcp_runner: McpRunner | None = None,
    ) -> None:
        """``kind`` is how this registry's handlers are addressed (any V1 registry can be
        addressed as any kind: a ``ToolRegistry`` as plugins uses its ``get_tool``);
        ``mcp_runner`` runs MCP-type handlers (default:
        :class:`~toolware.compat.v1.mcp.McpCalls` intents)."""
        if not isinstance(kind, Kind):
            raise TypeError(f"kind must be a toolware Kind (Kind.PLUGIN...), got {kind!r}")
        shape = registry_shape(registry, kind)
        if shape is None:
            raise TypeError(
                f"V1Source takes a dict of id -> handler or an object with get_tool(name), "
                f"get_rag(name) or get_plugin(name), got {type(registry).__name__}"
            )
        self._shape = shape
        if not isinstance(name, str) or not name:
            raise ValueError(f"name must be a non-empty string, got {name!r}")
        self.registry = registry
        self.kind = kind
        self.name = name
        self._mcp_runner = mcp_runner or _default_mcp_runner
        self._cache: dict[EntryKey, tuple[object, Entry]] = {}

    @property
    def revision(self) -> int:
        """Moves when the set of ids changes (a cheap fingerprint of them)."""
        ids = registry_ids(self.registry, self._shape)
        return 0 if ids is None else hash(frozenset(ids)) & 0x7FFFFFFFFFFFFFFF

    @property
    def lookup(self) -> Callable[[EntryKey], Entry | None]:
        """The in-memory path: the entry for ``(kind, id, method)``, or ``None`` ("ask
        :meth:`resolve`"). Never raises: a registry whose lookup fails is explained by
        :meth:`resolve`."""
        return self._lookup

    def _lookup(self, key: EntryKey) -> Entry | None:
        kind, name, action = key
        if kind is not self.kind or action is None:
            return None
        try:
            handler = find_handler(self.registry, self._shape, name)
        except Exception:
            return None
        if handler is None:
            return None
        return self.entry(handler, name, action)

    def entry(self, handler: object, name: str, action: str) -> Entry:
        """The entry running ``handler``'s method ``action`` (cached per handler object)."""
        key = (self.kind, name, action)
        cached = self._cache.get(key)
        if cached is not None and cached[0] is handler:
            return cached[1]
        function: Callable[..., Any]
        if is_mcp_handler(handler):
            function = McpActionCall(self._mcp_runner, name, handler, action)
        else:
            function = HandlerCall(handler, action)
        entry = make_entry(self.kind, name, action, function, handler_description(handler))
        if len(self._cache) >= _MAX_CACHED:
            self._cache.clear()
        self._cache[key] = (handler, entry)
        return entry

    def resolve(self, kind: Kind, name: str, action: str | None = None) -> Entry:
        if kind is not self.kind:
            raise UnknownEntryError(
                f"{kind.value} {qualified_name(name, action)!r} not found: V1 source "
                f"{self.name!r} holds {self.kind.value} entries",
                hint=f"address its handlers as kind {self.kind.value!r}",
            )
        handler = find_handler(self.registry, self._shape, name)
        if handler is None:
            raise UnknownEntryError(
                f"{kind.value} {qualified_name(name, action)!r} not found in V1 source "
                f"{self.name!r}",
                hint="list the entries with registry.list()",
            )
        if action is None:
            raise NotFoundError(
                f"V1 handler {name!r} needs a method: call '{name}.<method>' (its run() "
                "dispatches on the method)",
                hint=f"e.g. invoke({name + '.search'!r}, params)",
            )
        return self.entry(handler, name, action)

    def list(self) -> tuple[EntryDescription, ...]:
        ids = registry_ids(self.registry, self._shape)
        if ids is None:
            return ()
        descriptions = []
        for action_id in ids:
            try:
                handler = find_handler(self.registry, self._shape, action_id)
            except Exception:
                handler = None
            descriptions.append(
                EntryDescription(
                    name=action_id,
                    kind=self.kind,
                    description="" if handler is None else handler_description(handler),
                    args_schema=OPEN_SCHEMA,
                    tags=frozenset({"v1"}),
                    loaded=False,
                )
            )
        return tuple(descriptions)

    async def health(self) -> RegistryHealth:
        ids = registry_ids(self.registry, self._shape)
        if ids is None:
            return RegistryHealth(
                status=HealthStatus.DEGRADED,
                entries=0,
                problems={
                    self.name: f"cannot list its handlers: no dict and no "
                    f".{LISTINGS[self._shape]} dict (they resolve by name only)"
                },
            )
        return RegistryHealth(status=HealthStatus.OK, entries=len(ids))

    def __repr__(self) -> str:
        return f"V1Source({self.name!r}, kind={self.kind.value})"
