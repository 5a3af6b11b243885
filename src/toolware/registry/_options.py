"""Registration options and naming helpers shared by :class:`~toolware.registry.LocalRegistry`."""

from __future__ import annotations

import importlib
import inspect
import math
from typing import Any

import msgspec

from toolware.errors import RegistrationError
from toolware.registry.base import CachePolicy

__all__ = [
    "MAX_READ_AHEAD",
    "STREAM_OPTIONS",
    "EntryOptions",
    "import_object",
    "name_of",
    "snake",
    "split_path",
]

# A read-ahead buffer holds chunks in memory; past this a slow consumer is a leak, not a buffer.
MAX_READ_AHEAD = 1024
# The options that only mean something for a streaming entry (a generator function).
STREAM_OPTIONS = ("first_chunk_timeout", "idle_timeout", "read_ahead")


class EntryOptions(msgspec.Struct, frozen=True, kw_only=True):
    """Registration options shared by tools, plugins and retrievers.

    ``first_chunk_timeout``, ``idle_timeout`` and ``read_ahead`` apply to streaming entries
    only (see :class:`~toolware.registry.base.EntryDescription` and
    :class:`~toolware.registry.base.Entry`); registration refuses them on any other entry.
    """

    name: str | None = None
    description: str | None = None
    tags: frozenset[str] = frozenset()
    version: str = "0"
    idempotent: bool = False
    timeout: float | None = None
    retryable_on: tuple[type[BaseException], ...] = ()
    check_result: bool = False
    first_chunk_timeout: float | None = None
    idle_timeout: float | None = None
    read_ahead: int = 0
    retry: bool | None = None
    cache: CachePolicy | bool | None = None

    def __post_init__(self) -> None:
        # msgspec does not check types at construction, and a wrong type here would be stored
        # and misread later (idempotent="no" is truthy and would make timeouts retryable).
        for field, value in (("name", self.name), ("description", self.description)):
            if value is not None and not isinstance(value, str):
                raise RegistrationError(f"{field} must be a string, got {value!r}")
        if not isinstance(self.idempotent, bool):
            raise RegistrationError(f"idempotent must be True or False, got {self.idempotent!r}")
        if not isinstance(self.check_result, bool):
            raise RegistrationError(
                f"check_result must be True or False, got {self.check_result!r}"
            )
        if not isinstance(self.version, str):
            raise RegistrationError(f"version must be a string such as '1.2', got {self.version!r}")
        for field, seconds in (
            ("timeout", self.timeout),
            ("first_chunk_timeout", self.first_chunk_timeout),
            ("idle_timeout", self.idle_timeout),
        ):
            _check_seconds(field, seconds)
        if (
            isinstance(self.read_ahead, bool)
            or not isinstance(self.read_ahead, int)
            or not 0 <= self.read_ahead <= MAX_READ_AHEAD
        ):
            raise RegistrationError(
                f"read_ahead must be a whole number of chunks from 0 to {MAX_READ_AHEAD} "
                f"(0: fetch only when asked), got {self.read_ahead!r}"
            )
        if self.retry is not None and not isinstance(self.retry, bool):
            raise RegistrationError(
                f"retry must be True, False or None (follow idempotent), got {self.retry!r}"
            )
        cache = self.cache
        if cache is True:
            msgspec.structs.force_setattr(self, "cache", CachePolicy())
        elif cache is False:
            msgspec.structs.force_setattr(self, "cache", None)
        elif cache is not None and not isinstance(cache, CachePolicy):
            raise RegistrationError(
                f"cache takes True, a CachePolicy(ttl=..., scope=...) or None, got {cache!r}"
            )
        if not isinstance(self.retryable_on, tuple):
            raise RegistrationError(
                f"retryable_on takes a tuple of exception classes, e.g. (ConnectionError,), "
                f"got {self.retryable_on!r}"
            )
        for cls in self.retryable_on:
            if not (isinstance(cls, type) and issubclass(cls, BaseException)):
                raise RegistrationError(
                    f"retryable_on takes exception classes, got {cls!r}; e.g. (ConnectionError,)"
                )

    @property
    def cache_policy(self) -> CachePolicy | None:
        """``cache`` as given, with ``True`` already turned into ``CachePolicy()``."""
        return self.cache if isinstance(self.cache, CachePolicy) else None


def _check_seconds(field: str, seconds: object) -> None:
    if seconds is not None and (
        isinstance(seconds, bool)
        or not isinstance(seconds, int | float)
        or not (math.isfinite(seconds) and seconds > 0)
    ):
        raise RegistrationError(
            f"{field} must be a finite number of seconds > 0, or None, got {seconds!r}"
        )


def split_path(path: str) -> tuple[str, str]:
    module_name, _, attribute = path.partition(":") if isinstance(path, str) else ("", "", "")
    if not module_name or not attribute:
        raise RegistrationError(f"import path {path!r} must look like 'package.module:object'")
    return module_name, attribute


def import_object(path: str) -> Any:
    """Import ``"package.module:attribute.path"`` and return the attribute."""
    module_name, attribute = split_path(path)
    obj: Any = importlib.import_module(module_name)
    for part in attribute.split("."):
        obj = getattr(obj, part)
    return obj


def name_of(obj: Any) -> str:
    name = getattr(obj, "__name__", None) or type(obj).__name__
    return snake(name) if inspect.isclass(obj) or not hasattr(obj, "__name__") else str(name)


def snake(name: str) -> str:
    out = [("_" + c.lower()) if c.isupper() and i else c.lower() for i, c in enumerate(name)]
    return "".join(out)
