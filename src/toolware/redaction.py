"""Secret-free, size-bounded copies of call data, for logs and debug dumps.

:func:`redact` (or a :class:`Redactor` built once and called many times) returns a *new*,
JSON-like copy of a value: dicts, lists and tuples, dataclasses, msgspec structs and call
``Arguments`` are copied recursively (a dataclass or struct becomes a dict of its fields);
numbers, booleans and ``None`` are kept; any other object becomes its ``repr``. The input is
never mutated.

- A key that contains one of ``keys`` (case-insensitive, ``-`` read as ``_``: ``"x-api-key"``,
  ``"Authorization"``, ``"session_cookie"`` all match) has its value replaced by
  ``REDACTED``, whatever that value is. The match is on substrings, so ``"max_tokens"``
  matches ``"token"``: a dump errs on the side of hiding.
- Each part of a string that matches one of ``patterns`` (regular expressions; see
  :data:`SECRET_VALUE_PATTERNS` for bearer tokens, AWS keys, JWTs) is replaced by ``REDACTED``.
- A string longer than ``max_chars`` is cut, with a marker saying how much was dropped; a
  container longer than ``max_items`` keeps its first items and a marker; past ``max_depth``
  levels, or on a cycle, a container becomes a marker.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

__all__ = [
    "DEFAULT_SECRET_KEYS",
    "REDACTED",
    "SECRET_VALUE_PATTERNS",
    "Redactor",
    "redact",
]

REDACTED = "[REDACTED]"

DEFAULT_SECRET_KEYS: tuple[str, ...] = (
    "password",
    "passwd",
    "token",
    "secret",
    "api_key",
    "apikey",
    "authorization",
    "cookie",
    "credential",
    "private_key",
)
"""Key fragments whose values are always hidden (matched lower-case, ``-`` read as ``_``)."""

SECRET_VALUE_PATTERNS: tuple[str, ...] = (
    r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+",  # an Authorization header value
    r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b",  # an AWS access key id
    r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*",  # a JWT
)
"""Common secret shapes inside string values; pass them as ``patterns=`` (debug mode does)."""

_ATOMS = (bool, int, float, type(None))


class Redactor:
    """:func:`redact` with its options checked and its patterns compiled once."""

    __slots__ = ("_keys", "_max_chars", "_max_depth", "_max_items", "_patterns")

    def __init__(
        self,
        *,
        keys: Iterable[str] = DEFAULT_SECRET_KEYS,
        patterns: Iterable[str | re.Pattern[str]] = (),
        max_chars: int = 1000,
        max_items: int = 100,
        max_depth: int = 8,
    ) -> None:
        if isinstance(keys, str):
            raise TypeError(f"keys= takes a collection of key fragments, not one str: {keys!r}")
        key_list = tuple(keys)
        for key in key_list:
            if not isinstance(key, str) or not key:
                raise TypeError(f"keys= takes non-empty strings, got {key!r} in {key_list!r}")
        self._keys = tuple(key.lower().replace("-", "_") for key in key_list)
        if isinstance(patterns, str | re.Pattern):
            raise TypeError(f"patterns= takes a collection of regexes, not one: {patterns!r}")
        compiled: list[re.Pattern[str]] = []
        for pattern in patterns:
            if isinstance(pattern, re.Pattern):
                compiled.append(pattern)
            elif isinstance(pattern, str):
                try:
                    compiled.append(re.compile(pattern))
                except re.error as exc:
                    raise ValueError(f"patterns= has an invalid regex {pattern!r}: {exc}") from None
            else:
                raise TypeError(f"patterns= takes str or re.Pattern items, got {pattern!r}")
        self._patterns = tuple(compiled)
        self._max_chars = _count("max_chars", max_chars, 1)
        self._max_items = _count("max_items", max_items, 1)
        self._max_depth = _count("max_depth", max_depth, 0)

    def __call__(self, value: Any) -> Any:
        return self._copy(value, 0, set())

    def secret_key(self, key: object) -> bool:
        """Whether values under ``key`` are hidden."""
        text = str(key).lower().replace("-", "_")
        return any(fragment in text for fragment in self._keys)

    def _text(self, text: str) -> str:
        for pattern in self._patterns:
            text = pattern.sub(REDACTED, text)
        if len(text) > self._max_chars:
            dropped = len(text) - self._max_chars
            text = f"{text[: self._max_chars]}...[+{dropped} chars]"
        return text

    def _copy(self, value: Any, depth: int, path: set[int]) -> Any:
        if isinstance(value, _ATOMS):
            return value
        if isinstance(value, str):
            return self._text(value)
        if isinstance(value, bytes | bytearray):
            return f"<{len(value)} bytes>"
        fields = _fields(value)
        if fields is None and not isinstance(value, list | tuple | set | frozenset):
            return self._text(repr(value))
        if id(value) in path:
            return "[cycle]"
        if depth >= self._max_depth:
            return f"[{type(value).__name__} deeper than max_depth={self._max_depth}]"
        path.add(id(value))
        try:
            if fields is not None:
                return self._mapping(fields, depth, path)
            items = list(value)
            copied = [self._copy(item, depth + 1, path) for item in items[: self._max_items]]
            if len(items) > self._max_items:
                copied.append(f"[+{len(items) - self._max_items} items]")
            return tuple(copied) if isinstance(value, tuple) else copied
        finally:
            path.discard(id(value))

    def _mapping(self, fields: Mapping[Any, Any], depth: int, path: set[int]) -> dict[str, Any]:
        copied: dict[str, Any] = {}
        for index, (key, item) in enumerate(fields.items()):
            if index == self._max_items:
                copied["..."] = f"[+{len(fields) - self._max_items} items]"
                break
            name = key if isinstance(key, str) else repr(key)
            copied[name] = REDACTED if self.secret_key(name) else self._copy(item, depth + 1, path)
        return copied


def redact(
    value: Any,
    *,
    keys: Iterable[str] = DEFAULT_SECRET_KEYS,
    patterns: Iterable[str | re.Pattern[str]] = (),
    max_chars: int = 1000,
    max_items: int = 100,
    max_depth: int = 8,
) -> Any:
    """A copy of ``value`` with secrets hidden and sizes bounded (see the module docstring).

    Compiles its options on every call; build a :class:`Redactor` once for repeated use.
    """
    redactor = Redactor(
        keys=keys,
        patterns=patterns,
        max_chars=max_chars,
        max_items=max_items,
        max_depth=max_depth,
    )
    return redactor(value)


def _fields(value: Any) -> Mapping[Any, Any] | None:
    """The named fields of a mapping, a dataclass instance or a msgspec struct, else None."""
    if isinstance(value, Mapping):
        return value
    if isinstance(value, msgspec.Struct):
        return {name: getattr(value, name) for name in value.__struct_fields__}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: getattr(value, field.name) for field in dataclasses.fields(value)}
    return None


def _count(option: str, value: object, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{option}= takes an int >= {least}, got {value!r}")
    if value < least:
        raise ValueError(f"{option}= must be >= {least}, got {value!r}; raise it")
    return value
