"""The in-process registry: decorators for functions, classes and retrievers; lazy entries.

registry = LocalRegistry()

@registry.tool(idempotent=True, tags={"math"})
def add(a: float, b: float) -> float:
    "Add two numbers."
    return a + b

@registry.plugin
class Notes:                      # each public method becomes an action: notes.add, ...
    def add(self, text: str) -> int: ...

registry.retriever(BM25Index(docs), name="docs")   # (query, k) -> ranked documents
registry.add_lazy("myapp.tools:translate")          # imported on first use
"""

from __future__ import annotations

import builtins
import inspect
import threading
from collections.abc import Callable, Iterable
from typing import Any, TypeVar, overload

import msgspec

from toolware.context import Kind
from toolware.errors import RegistrationError, UnavailableError, UnknownEntryError
from toolware.registry._options import (
    EntryOptions,
    first_line,
    import_object,
    name_of,
    snake,
    split_path,
)
from toolware.registry.base import (
    Entry,
    EntryDescription,
    HealthStatus,
    RegistryHealth,
    unknown_entry,
)
from toolware.registry.names import check_action_name, check_name, qualified_name
from toolware.registry.rag import retriever_function
from toolware.registry.schema import inspect_signature, is_async_callable

__all__ = ["EntryOptions", "LocalRegistry", "import_object"]

F = TypeVar("F", bound=Callable[..., Any])
_Key = tuple[Kind, str, str | None]


class LocalRegistry:
    """Entries that live in this process.

    Register from one thread (typically at import time); ``resolve`` may be called from any
    thread, including the first resolve of a lazy entry, which imports it under a lock.
    """

    def __init__(self, name: str = "local") -> None:
        self.name = name
        self._entries: dict[_Key, Entry] = {}
        self._lazy: dict[tuple[Kind, str], tuple[str, EntryOptions, int, int]] = {}
        self._failures: dict[str, str] = {}
        self._revision = 0
        self._loading = threading.RLock()

    @property
    def revision(self) -> int:
        return self._revision

    @property
    def lookup(self) -> Callable[[tuple[Kind, str, str | None]], Entry | None]:
        """``dict.get`` over the loaded entries, keyed ``(kind, name, action)``.

        For hot paths (the router): a C-level lookup instead of a method call. ``None`` means
        "not loaded": ask :meth:`resolve`, which imports lazy entries and explains misses.
        """
        return self._entries.get

    # -- registration ----------------------------------------------------------------------

    @overload
    def tool(
        self,
        function: F,
        /,
        *,
        name: str | None = None,
        description: str | None = None,
        tags: Iterable[str] = (),
        version: str = "0",
        idempotent: bool = False,
        timeout: float | None = None,
        retryable_on: tuple[type[BaseException], ...] = (),
    ) -> F: ...
    @overload
    def tool(
        self,
        *,
        name: str | None = None,
        description: str | None = None,
        tags: Iterable[str] = (),
        version: str = "0",
        idempotent: bool = False,
        timeout: float | None = None,
        retryable_on: tuple[type[BaseException], ...] = (),
    ) -> Callable[[F], F]: ...
    def tool(  # type: ignore[misc] # options are checked by EntryOptions
        self, function: F | None = None, /, **options: Any
    ) -> F | Callable[[F], F]:
        """Register a function or async function as a tool.

        Usable bare (``@registry.tool``), with options (``@registry.tool(idempotent=True)``) or
        as a call (``registry.tool(function, idempotent=True)``).
        """

        def register(fn: F) -> F:
            self.add(fn, kind=Kind.TOOL, **options)
            return fn

        return register(function) if function is not None else register

    def plugin(self, target: Any = None, /, **options: Any) -> Any:
        """Register a class (instantiated with no arguments) or an instance as a plugin.

        Each public method becomes an action, called as kind ``plugin``, name, action.
        """

        def register(obj: Any) -> Any:
            self.add(obj, kind=Kind.PLUGIN, **options)
            return obj

        return register(target) if target is not None else register

    def retriever(
        self, source: Any = None, /, *, default_k: int = 5, max_k: int = 50, **options: Any
    ) -> Any:
        """Register a :class:`Retriever` object or a ``(query, k)`` function as a RAG entry."""

        def register(obj: Any) -> Any:
            self.add(obj, kind=Kind.RAG, default_k=default_k, max_k=max_k, **options)
            return obj

        return register(source) if source is not None else register

    def add(
        self,
        obj: Any,
        *,
        kind: Kind = Kind.TOOL,
        replace: bool = False,
        default_k: int = 5,
        max_k: int = 50,
        tags: Iterable[str] = (),
        **options: Any,
    ) -> tuple[EntryDescription, ...]:
        """Register ``obj`` as ``kind``; returns the descriptions of the new entries.

        Registering a name twice is refused unless ``replace=True``.
        """
        if isinstance(tags, str) or not all(isinstance(tag, str) for tag in tags):
            raise RegistrationError(
                f"tags takes a collection of strings, e.g. tags={{'math'}}, got {tags!r}"
            )
        entry_options = EntryOptions(tags=frozenset(tags), **options)
        kind = Kind(kind)
        if kind is Kind.PLUGIN:
            entries = self._plugin_entries(obj, entry_options)
        elif kind is Kind.RAG:
            if not 1 <= default_k <= max_k:
                raise RegistrationError(f"need 1 <= default_k <= max_k, got {default_k}, {max_k}")
            name = check_name(_given(entry_options.name, obj), "retriever name")
            function, is_async = retriever_function(obj, default_k=default_k, max_k=max_k)
            entries = [self._entry(function, kind, name, None, entry_options, is_async)]
        else:
            name = check_name(_given(entry_options.name, obj), f"{kind.value} name")
            entries = [self._entry(obj, kind, name, None, entry_options, None)]
        # Names are taken per kind and name, not per action: a second plugin under the same
        # name must not merge its actions into the first, and a lazy entry counts as taken.
        names = {(entry.description.kind, entry.description.name) for entry in entries}
        for key in names:
            if not replace and self._taken(*key):
                raise RegistrationError(
                    f"a {key[0].value} named {key[1]!r} is already registered in "
                    f"{self.name!r}; pick another name= or pass replace=True"
                )
        for key in names:
            self._drop(*key)
        for entry in entries:
            d = entry.description
            self._entries[(d.kind, d.name, d.action)] = entry
        self._revision += 1
        return tuple(entry.description for entry in entries)

    def add_lazy(
        self,
        path: str,
        *,
        kind: Kind = Kind.TOOL,
        replace: bool = False,
        default_k: int = 5,
        max_k: int = 50,
        **options: Any,
    ) -> None:
        """Register ``"package.module:object"`` to be imported the first time it is needed.

        The name defaults to the object's name in the path, in snake case for a class (as
        :meth:`plugin` names classes): ``"app.plugins:Notes"`` becomes ``"notes"``.
        """
        _, attribute = split_path(path)
        entry_options = EntryOptions(**options)
        kind = Kind(kind)
        last = attribute.rpartition(".")[2]
        default = snake(last) if last[:1].isupper() else last
        name = default if entry_options.name is None else entry_options.name
        check_name(name, f"{kind.value} name")
        if not replace and self._taken(kind, name):
            raise RegistrationError(
                f"a {kind.value} named {name!r} is already registered in {self.name!r}; "
                "pick another name= or pass replace=True"
            )
        self._drop(kind, name)
        self._lazy[(kind, name)] = (path, entry_options, default_k, max_k)
        self._revision += 1

    def _taken(self, kind: Kind, name: str) -> bool:
        return (kind, name) in self._lazy or any(
            key[0] is kind and key[1] == name for key in self._entries
        )

    def _drop(self, kind: Kind, name: str) -> None:
        """Forget every entry, lazy entry and import failure of that kind and name."""
        for key in [k for k in self._entries if k[0] is kind and k[1] == name]:
            del self._entries[key]
        self._lazy.pop((kind, name), None)
        self._failures.pop(f"{kind.value}:{name}", None)

    def remove(self, kind: Kind, name: str) -> None:
        """Remove every entry of that kind and name (all actions of a plugin)."""
        kind = Kind(kind)
        if not self._taken(kind, name):
            raise self._not_found(kind, name, None)
        self._drop(kind, name)
        self._revision += 1

    def _entry(
        self,
        function: Callable[..., Any],
        kind: Kind,
        name: str,
        action: str | None,
        options: EntryOptions,
        is_async: bool | None,
    ) -> Entry:
        if inspect.isasyncgenfunction(function):
            raise RegistrationError(
                f"{name!r} is an async generator; streaming handlers are not supported yet, "
                "return a list instead"
            )
        if inspect.isclass(function):
            raise RegistrationError(
                f"{name!r} is a class; register classes with registry.plugin(...)"
            )
        if not callable(function):
            raise RegistrationError(f"{name!r} is not callable: {type(function).__name__}")
        signature = inspect_signature(function, qualified_name(name, action))
        description = EntryDescription(
            name=name,
            kind=kind,
            action=action,
            description=options.description or signature.description,
            args_schema=signature.args_schema,
            result_schema=signature.result_schema,
            tags=options.tags,
            version=options.version,
            idempotent=options.idempotent,
            timeout=options.timeout,
        )
        return Entry(
            description=description,
            function=function,
            is_async=is_async_callable(function) if is_async is None else is_async,
            validator=signature.validator,
            context_parameter=signature.context_parameter,
            retryable_on=options.retryable_on,
        )

    def _plugin_entries(self, obj: Any, options: EntryOptions) -> builtins.list[Entry]:
        if inspect.isclass(obj):
            try:
                instance = obj()
            except Exception as exc:
                raise RegistrationError(
                    f"plugin class {obj.__name__} cannot be instantiated with no arguments "
                    f"({type(exc).__name__}: {exc}); register an instance instead: "
                    f"registry.plugin({obj.__name__}(...))"
                ) from exc
        else:
            instance = obj
        cls = type(instance)
        name = check_name(_given(options.name, cls), "plugin name")
        actions = [
            attribute
            for attribute, value in inspect.getmembers(cls)
            if not attribute.startswith("_") and callable(value) and not inspect.isclass(value)
        ]
        if not actions:
            raise RegistrationError(
                f"plugin {name!r} has no public methods; each public method becomes an action"
            )
        # Each action is described by its own docstring; the plugin's description (or class
        # docstring) stands in for methods that have none.
        fallback = options.description or first_line(inspect.getdoc(cls))
        entries = []
        for action in actions:
            check_action_name(name, action)
            method = getattr(instance, action)
            own = first_line(inspect.getdoc(method))
            action_options = msgspec.structs.replace(options, description=own or fallback)
            entries.append(self._entry(method, Kind.PLUGIN, name, action, action_options, None))
        return entries

    # -- lookup ----------------------------------------------------------------------------

    def resolve(self, kind: Kind, name: str, action: str | None = None) -> Entry:
        entry = self._entries.get((kind, name, action))
        if entry is not None:
            return entry
        if (kind, name) in self._lazy:
            with self._loading:
                if (kind, name) in self._lazy:  # another thread may have loaded it meanwhile
                    self._load(kind, name)
            entry = self._entries.get((kind, name, action))
            if entry is not None:
                return entry
        raise self._not_found(kind, name, action)

    def _load(self, kind: Kind, name: str) -> None:
        path, options, default_k, max_k = self._lazy[(kind, name)]
        option_values = {f: getattr(options, f) for f in options.__struct_fields__}
        option_values["name"] = name
        try:
            obj = import_object(path)
            # Registration can fail too (e.g. the object is not callable): same report.
            self.add(
                obj, kind=kind, replace=True, default_k=default_k, max_k=max_k, **option_values
            )
        except Exception as exc:
            self._failures[f"{kind.value}:{name}"] = f"{type(exc).__name__}: {exc}"
            raise UnavailableError(
                f"{kind.value} {name!r} could not be imported from {path!r}: "
                f"{type(exc).__name__}: {exc}",
                hint="install the package that provides it or fix the import path",
                retryable=False,
            ) from exc
        self._failures.pop(f"{kind.value}:{name}", None)

    def _not_found(self, kind: Kind, name: str, action: str | None) -> UnknownEntryError:
        lazy = ((key_kind, key_name, None) for key_kind, key_name in self._lazy)
        return unknown_entry(self.name, kind, name, action, [*self._entries, *lazy])

    def list(self) -> tuple[EntryDescription, ...]:
        """All descriptions; lazy entries are imported (their schemas are needed)."""
        with self._loading:
            for kind, name in builtins.list(self._lazy):
                try:
                    self._load(kind, name)
                except UnavailableError:
                    continue  # reported by health(); listing the others still works
        return tuple(entry.description for entry in self._entries.values())

    async def health(self) -> RegistryHealth:
        return RegistryHealth(
            status=HealthStatus.DEGRADED if self._failures else HealthStatus.OK,
            entries=len(self._entries) + len(self._lazy),
            problems=dict(self._failures),
        )

    def __repr__(self) -> str:
        return f"LocalRegistry({self.name!r}, entries={len(self._entries)}, lazy={len(self._lazy)})"


def _given(name: str | None, obj: Any) -> str:
    """The name passed (even ``""``, which is then refused), else the object's own."""
    return name_of(obj) if name is None else name
