"""The in-process registry: decorators for functions, classes and retrievers; lazy entries.

registry = LocalRegistry()

@registry.tool(idempotent=True, tags={"math"})
def add(a: float, b: float) -> float:
    "Add two numbers."
    return a + b

@registry.plugin
class Notes:                      # each public method of the class is an action: notes.add
    def add(self, text: str) -> int: ...

registry.retriever(BM25Index(docs), name="docs")   # (query, k) -> ranked documents
registry.add_lazy("myapp.tools:translate")          # imported on first use, not by list()

Names follow :mod:`toolware.registry.names` (what LLM function-calling APIs accept);
which methods are actions, :mod:`toolware.registry.plugins`; what a lazy entry looks like
before and after a failed import, :mod:`toolware.registry._lazy`.
"""

from __future__ import annotations

import builtins
import math
import threading
from collections.abc import Callable, Iterable
from typing import Any

import msgspec

from toolware.clock import Clock, system_clock
from toolware.context import Kind
from toolware.errors import RegistrationError, UnknownEntryError
from toolware.registry._decorators import RegistrationDecorators
from toolware.registry._entries import build_entries
from toolware.registry._lazy import (
    ImportFailure,
    LazyRecord,
    import_lazy,
    log_failure,
    unavailable,
)
from toolware.registry._misses import MissIndex
from toolware.registry._options import EntryOptions, import_object, snake, split_path
from toolware.registry.base import (
    Entry,
    EntryDescription,
    EntryKey,
    HealthStatus,
    RegistryHealth,
)
from toolware.registry.names import check_name
from toolware.registry.plugins import plugin_options

__all__ = ["EntryOptions", "LocalRegistry", "import_object"]

_Name = tuple[Kind, str]
# What a registered name holds: the keys of its loaded entries, or its lazy record.
_Slot = tuple[EntryKey, ...] | LazyRecord


class LocalRegistry(RegistrationDecorators):
    """Entries that live in this process.

    Register from one thread (typically at import time); ``resolve`` may be called from any
    thread, including the first resolve of a lazy entry, which imports it under a lock.

    A lazy entry whose import failed answers ``unavailable`` without importing again until
    ``import_retry`` seconds (on ``clock``) have passed; :meth:`retry_imports` and
    :meth:`reload` try again at once.
    """

    def __init__(
        self, name: str = "local", *, clock: Clock = system_clock, import_retry: float = 30.0
    ) -> None:
        if (
            isinstance(import_retry, bool)
            or not isinstance(import_retry, int | float)
            or math.isnan(import_retry)
            or import_retry < 0
        ):
            raise ValueError(
                f"import_retry must be a number of seconds >= 0 (inf: never retry on its own), "
                f"got {import_retry!r}"
            )
        self.name = name
        self._clock = clock
        self._import_retry = float(import_retry)
        self._entries: dict[EntryKey, Entry] = {}
        self._slots: dict[_Name, _Slot] = {}  # in registration order
        self._failures: dict[_Name, ImportFailure] = {}
        self._revision = 0
        self._listing: tuple[int, tuple[EntryDescription, ...]] = (-1, ())
        self._misses: tuple[int, MissIndex | None] = (-1, None)
        self._loading = threading.RLock()  # guards changes to the dicts above
        self._import_locks: dict[_Name, threading.RLock] = {}

    @property
    def revision(self) -> int:
        return self._revision

    @property
    def lookup(self) -> Callable[[EntryKey], Entry | None]:
        """``dict.get`` over the loaded entries, keyed ``(kind, name, action)``.

        For hot paths (the router): a C-level lookup instead of a method call. ``None`` means
        "not loaded": ask :meth:`resolve`, which imports lazy entries and explains misses.
        """
        return self._entries.get

    def is_pending(self, kind: Kind, name: str) -> bool:
        """Whether resolving ``kind``/``name`` would import: a lazy entry not loaded yet and
        not waiting out a failed import. Two dict reads, no lock: safe from any thread, so a
        caller can decide to resolve in a worker thread and keep imports off the event loop."""
        if not isinstance(self._slots.get((kind, name)), LazyRecord):
            return False
        failure = self._failures.get((kind, name))
        return failure is None or self._clock.monotonic() >= failure.retry_at

    # -- registration (decorators: toolware.registry._decorators) -------------------------

    def add(
        self,
        obj: Any,
        *,
        kind: Kind = Kind.TOOL,
        replace: bool = False,
        default_k: int = 5,
        max_k: int = 50,
        tags: Iterable[str] = (),
        include: Iterable[str] | None = None,
        exclude: Iterable[str] = (),
        inherited: bool = False,
        **options: Any,
    ) -> tuple[EntryDescription, ...]:
        """Register ``obj`` as ``kind``; returns the descriptions of the new entries.

        Registering a name twice is refused unless ``replace=True``. ``include``, ``exclude``
        and ``inherited`` choose a plugin's actions (:mod:`toolware.registry.plugins`).
        """
        if isinstance(tags, str) or not all(isinstance(tag, str) for tag in tags):
            raise RegistrationError(
                f"tags takes a collection of strings, e.g. tags={{'math'}}, got {tags!r}"
            )
        entry_options = EntryOptions(tags=frozenset(tags), **options)
        kind = Kind(kind)
        plugin = plugin_options(kind, include, exclude, inherited)
        entries = build_entries(
            obj, kind, entry_options, default_k=default_k, max_k=max_k, plugin=plugin
        )
        name = entries[0].description.name
        with self._loading:
            self._refuse_taken(kind, name, replace)
            self._install(kind, name, entries)
        return tuple(entry.description for entry in entries)

    def add_lazy(
        self,
        path: str,
        *,
        kind: Kind = Kind.TOOL,
        replace: bool = False,
        default_k: int = 5,
        max_k: int = 50,
        include: Iterable[str] | None = None,
        exclude: Iterable[str] = (),
        inherited: bool = False,
        **options: Any,
    ) -> None:
        """Register ``"package.module:object"`` to be imported the first time it is needed.

        The name defaults to the object's name in the path, in snake case for a class (as
        :meth:`plugin` names classes): ``"app.plugins:Notes"`` becomes ``"notes"``. Until the
        import, :meth:`list` describes the entry with ``loaded=False``.
        """
        _, attribute = split_path(path)
        entry_options = EntryOptions(**options)
        kind = Kind(kind)
        if kind is Kind.RAG and not 1 <= default_k <= max_k:
            raise RegistrationError(f"need 1 <= default_k <= max_k, got {default_k}, {max_k}")
        last = attribute.rpartition(".")[2]
        default = snake(last) if last[:1].isupper() else last
        name = check_name(
            default if entry_options.name is None else entry_options.name, f"{kind.value} name"
        )
        record = LazyRecord(
            path=path,
            options=entry_options,
            default_k=default_k,
            max_k=max_k,
            plugin=plugin_options(kind, include, exclude, inherited),
        )
        with self._loading:
            self._refuse_taken(kind, name, replace)
            self._drop(kind, name)
            self._slots[(kind, name)] = record
            self._revision += 1

    def _refuse_taken(self, kind: Kind, name: str, replace: bool) -> None:
        # Names are taken per kind and name, not per action: a second plugin under the same
        # name must not merge its actions into the first, and a lazy entry counts as taken.
        if not replace and (kind, name) in self._slots:
            raise RegistrationError(
                f"a {kind.value} named {name!r} is already registered in {self.name!r}; "
                "pick another name= or pass replace=True"
            )

    def _install(self, kind: Kind, name: str, entries: builtins.list[Entry]) -> None:
        """Put ``entries`` in place of whatever ``kind``/``name`` held (under the lock).

        The new entries go in before the old slot is replaced: a thread reading without the
        lock sees either the old state or the new entries, never a gap where neither is
        present (the race that made 4 in 8,000 first lazy resolves answer not_found).
        """
        keys = tuple((kind, name, entry.description.action) for entry in entries)
        old = self._slots.get((kind, name))
        for key, entry in zip(keys, entries, strict=True):
            self._entries[key] = entry
        self._slots[(kind, name)] = keys
        if isinstance(old, tuple):
            for key in set(old) - set(keys):
                del self._entries[key]
        self._failures.pop((kind, name), None)
        self._revision += 1

    def _drop(self, kind: Kind, name: str) -> None:
        """Forget every entry, lazy entry and import failure of that kind and name."""
        old = self._slots.pop((kind, name), None)
        if isinstance(old, tuple):
            for key in old:
                del self._entries[key]
        self._failures.pop((kind, name), None)

    def remove(self, kind: Kind, name: str) -> None:
        """Remove every entry of that kind and name (all actions of a plugin)."""
        kind = Kind(kind)
        with self._loading:
            if (kind, name) not in self._slots:
                raise self._not_found(kind, name, None)
            self._drop(kind, name)
            self._revision += 1

    # -- lookup ----------------------------------------------------------------------------

    def resolve(self, kind: Kind, name: str, action: str | None = None) -> Entry:
        key = (kind, name, action)
        entry = self._entries.get(key)
        if entry is not None:
            return entry
        if isinstance(self._slots.get((kind, name)), LazyRecord):
            with self._import_lock(kind, name):
                # Another thread may have loaded it (or it may have failed) meanwhile.
                slot = self._slots.get((kind, name))
                if isinstance(slot, LazyRecord):
                    self._load(kind, name, slot, force=False)
        # Read again: entries are installed before their lazy record goes, so a load that
        # finished after the first read is seen here.
        entry = self._entries.get(key)
        if entry is not None:
            return entry
        raise self._not_found(kind, name, action)

    def _import_lock(self, kind: Kind, name: str) -> threading.RLock:
        """The lock one lazy entry is imported under: one per name, so a slow import holds
        up only the callers of that entry, not every other lazy entry's first call."""
        lock = self._import_locks.get((kind, name))
        if lock is None:
            with self._loading:
                lock = self._import_locks.setdefault((kind, name), threading.RLock())
        return lock

    def _load(self, kind: Kind, name: str, record: LazyRecord, *, force: bool) -> None:
        """Import a lazy entry and install it, or record the failure (under its import
        lock; the registry's own lock only around the change, not the import)."""
        now = self._clock.monotonic()
        failure = self._failures.get((kind, name))
        if failure is not None and not force and now < failure.retry_at:
            raise unavailable(kind, name, failure, now)
        obj, error = import_lazy(kind, name, record.path)
        if error is None:
            options = msgspec.structs.replace(record.options, name=name)
            try:
                entries = build_entries(
                    obj,
                    kind,
                    options,
                    default_k=record.default_k,
                    max_k=record.max_k,
                    plugin=record.plugin,
                )
            except BaseException as exc:
                log_failure(kind, name, record.path, exc)
                error = exc
            else:
                with self._loading:
                    # Replaced or removed while importing: the newer registration stands.
                    if self._slots.get((kind, name)) is record:
                        self._install(kind, name, entries)
                return
        failure = ImportFailure(
            path=record.path,
            error_type=type(error).__name__,
            retry_at=now + self._import_retry,
            detail=str(error) if isinstance(error, RegistrationError) else "",
        )
        with self._loading:
            if self._slots.get((kind, name)) is record:
                self._failures[(kind, name)] = failure
        raise unavailable(kind, name, failure, now) from error

    def reload(self, kind: Kind, name: str) -> None:
        """Import a lazy entry now, even while a failed import waits for its retry.

        Raises :class:`~toolware.errors.UnavailableError` if the import fails again; does
        nothing for an entry that is already loaded.
        """
        kind = Kind(kind)
        with self._import_lock(kind, name):
            slot = self._slots.get((kind, name))
            if slot is None:
                raise self._not_found(kind, name, None)
            if isinstance(slot, LazyRecord):
                self._load(kind, name, slot, force=True)

    def retry_imports(self) -> int:
        """Let every failed lazy import be tried again on its next resolve; returns how many.

        The failures stay in :meth:`health` until an import succeeds.
        """
        with self._loading:
            for key, failure in self._failures.items():
                self._failures[key] = msgspec.structs.replace(failure, retry_at=-math.inf)
            return len(self._failures)

    def _not_found(self, kind: Kind, name: str, action: str | None) -> UnknownEntryError:
        revision, index = self._misses
        if revision != self._revision or index is None:
            revision = self._revision
            lazy = [
                (key_kind, key_name, None)
                for (key_kind, key_name), slot in tuple(self._slots.items())
                if isinstance(slot, LazyRecord)
            ]
            index = MissIndex([*tuple(self._entries), *lazy])
            self._misses = (revision, index)
        return index.error(self.name, kind, name, action)

    def list(self) -> tuple[EntryDescription, ...]:
        """Every description, in registration order; nothing is imported.

        A lazy entry not loaded yet (or whose import failed: see :meth:`health`) is described
        from its registration with ``loaded=False`` and empty schemas.
        """
        revision, listing = self._listing
        if revision == self._revision:
            return listing
        # No lock: a slow import in another thread must not hold up a listing. Slots are
        # replaced after their entries are installed and removed before their entries go,
        # so a snapshot of the slots finds every entry it names (or skips one being removed).
        revision = self._revision
        entries = self._entries
        result: builtins.list[EntryDescription] = []
        for (kind, name), slot in tuple(self._slots.items()):
            if isinstance(slot, LazyRecord):
                result.append(slot.describe(kind, name))
                continue
            for key in slot:
                entry = entries.get(key)
                if entry is not None:
                    result.append(entry.description)
        listing = tuple(result)
        self._listing = (revision, listing)
        return listing

    async def health(self) -> RegistryHealth:
        """``degraded`` while a lazy import fails, each failure named ``kind:name``."""
        failures = dict(self._failures)
        slots = tuple(self._slots.values())
        return RegistryHealth(
            status=HealthStatus.DEGRADED if failures else HealthStatus.OK,
            entries=sum(len(slot) if isinstance(slot, tuple) else 1 for slot in slots),
            problems={f"{k.value}:{n}": failure.problem() for (k, n), failure in failures.items()},
        )

    def __repr__(self) -> str:
        lazy = sum(isinstance(slot, LazyRecord) for slot in tuple(self._slots.values()))
        return f"LocalRegistry({self.name!r}, entries={len(self._entries)}, lazy={lazy})"
