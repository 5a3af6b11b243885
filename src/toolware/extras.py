"""Typed per-call extras: identity-compared keys, an immutable mapping of values.

An :class:`ExtraKey` is created once, at import, and compares by identity, so two plugins can
both call a key ``"user"`` without clashing; ``request.get(KEY)`` is typed as the key's value
type.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Generic, TypeVar

__all__ = ["EMPTY_EXTRAS", "ExtraKey", "Extras"]

T = TypeVar("T")


class ExtraKey(Generic[T]):
    """A typed key for per-call extras. Keys compare by identity: create each once, at import.

    >>> TENANT = ExtraKey("tenant", str)
    >>> request.with_extra(TENANT, "acme").get(TENANT)
    'acme'
    """

    __slots__ = ("default", "name", "type")

    def __init__(self, name: str, type: type[T], *, default: T | None = None) -> None:
        if not name:
            raise ValueError(
                "ExtraKey name must be a non-empty string, e.g. ExtraKey('tenant', str)"
            )
        self.name = name
        self.type = type
        self.default = default

    def __repr__(self) -> str:
        return f"ExtraKey({self.name!r}, {getattr(self.type, '__name__', self.type)!s})"


class Extras:
    """An immutable mapping from :class:`ExtraKey` to values; ``with_value`` returns a copy."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[ExtraKey[Any], Any] | None = None) -> None:
        self._data: dict[ExtraKey[Any], Any] = dict(data) if data else {}

    def get(self, key: ExtraKey[T]) -> T | None:
        value: T | None = self._data.get(key, key.default)
        return value

    def with_value(self, key: ExtraKey[T], value: T) -> Extras:
        expected = key.type
        if isinstance(expected, type) and not isinstance(value, expected):
            raise TypeError(
                f"extra {key.name!r} takes {expected.__name__}, got {type(value).__name__}"
            )
        copy = Extras.__new__(Extras)
        copy._data = {**self._data, key: value}
        return copy

    def without(self, key: ExtraKey[Any]) -> Extras:
        copy = Extras.__new__(Extras)
        copy._data = {k: v for k, v in self._data.items() if k is not key}
        return copy

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __iter__(self) -> Iterator[ExtraKey[Any]]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Extras) and other._data == self._data

    def __hash__(self) -> int:
        return hash(tuple(self._data.items()))

    def __repr__(self) -> str:
        inner = ", ".join(f"{key.name}={value!r}" for key, value in self._data.items())
        return f"Extras({inner})"


EMPTY_EXTRAS = Extras()
