"""Lazy entries: what is known before the import, and what is remembered when it fails.

A lazy entry is registered by import path. Until it is imported its kind, name and options are
known, so listings describe it (``loaded=False``, empty schemas) without importing anything.

An import that fails is remembered: resolving the entry again during the retry interval
answers ``unavailable`` at once instead of re-executing a module that raised (the adversarial
run measured a failing import re-executed on every call). The exception's text can hold a
secret (a connection string), so it goes to the ``registry.import_failed`` log record only;
the error a caller sees names the path and the exception's type.
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec

from toolware.context import Kind
from toolware.errors import UnavailableError
from toolware.registry._options import EntryOptions, import_object
from toolware.registry.base import EntryDescription
from toolware.registry.plugins import PluginOptions

__all__ = ["ImportFailure", "LazyRecord", "import_lazy", "unavailable"]

logger = logging.getLogger("toolware.registry")


class LazyRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A lazy entry before its import: the path and the options to register it with."""

    path: str
    options: EntryOptions
    default_k: int
    max_k: int
    plugin: PluginOptions

    def describe(self, kind: Kind, name: str) -> EntryDescription:
        """The description known without importing (``loaded=False``, no schemas).

        The streaming options are carried, but ``streaming`` is ``False`` and
        ``chunk_schema`` empty until the import: only the imported object says whether it is
        a generator function (a non-streaming one given those options fails to load).
        """
        options = self.options
        return EntryDescription(
            name=name,
            kind=kind,
            description=options.description or "",
            tags=options.tags,
            version=options.version,
            idempotent=options.idempotent,
            timeout=options.timeout,
            first_chunk_timeout=options.first_chunk_timeout,
            idle_timeout=options.idle_timeout,
            retry=options.retry,
            cache=options.cache_policy,
            loaded=False,
        )


class ImportFailure(msgspec.Struct, frozen=True, kw_only=True):
    """A failed import: the exception's type name (never its text) and when to try again."""

    path: str
    error_type: str
    retry_at: float
    # Set only for toolware's own RegistrationError, whose text is ours and safe to show.
    detail: str = ""

    def problem(self) -> str:
        if self.detail:
            return f"was imported from {self.path!r} but cannot be registered: {self.detail}"
        return f"could not be imported from {self.path!r} ({self.error_type})"


def import_lazy(kind: Kind, name: str, path: str) -> tuple[Any, None] | tuple[None, BaseException]:
    """Import ``path``; return ``(object, None)`` or ``(None, the exception)``, logged.

    Every ``BaseException`` is caught, ``SystemExit`` and ``KeyboardInterrupt`` included: an
    import is synchronous, so no cancellation or interrupt meant for the caller can arrive in
    the middle of it through this code path except one the module raised itself (a module
    calling ``sys.exit()`` at import killed ``asyncio.run()`` with calls in flight). Such a
    module is a broken entry, not a reason to stop the process.
    """
    try:
        return import_object(path), None
    except BaseException as exc:
        log_failure(kind, name, path, exc)
        return None, exc


def log_failure(kind: Kind, name: str, path: str, exc: BaseException) -> None:
    """The one place the failure's text goes: a log record with its traceback."""
    logger.warning(
        "registry.import_failed kind=%s name=%s path=%s error=%s",
        kind.value,
        name,
        path,
        type(exc).__name__,
        exc_info=exc,
        extra={"kind": kind.value, "target": name, "path": path, "error": type(exc).__name__},
    )


def unavailable(kind: Kind, name: str, failure: ImportFailure, now: float) -> UnavailableError:
    """The caller's error for a failed import: the path and the type, never the text."""
    wait = max(0.0, failure.retry_at - now)
    return UnavailableError(
        f"{kind.value} {name!r} {failure.problem()}; see the 'registry.import_failed' log "
        f"record (next attempt in {wait:.1f} s)",
        hint="install the package that provides it or fix the import path; "
        "registry.retry_imports() tries again at once",
        retryable=False,
    )
