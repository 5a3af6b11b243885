"""The one JSON encoder: how toolware turns any tool result into JSON.

Everything that writes a value as JSON (the CLI, the demo's tool messages, later the HTTP
gateway and the MCP server) goes through :func:`to_jsonable` or :func:`to_json`, so a value
looks the same wherever it is shown. The rules, checked in this order:

==========================================  ==============================================
value                                       JSON
==========================================  ==============================================
``None``, ``bool``, ``int``, ``str``        itself (subclasses become the plain type)
``Enum`` member                             its ``value``, encoded by these rules
``float``                                   itself; NaN, ``inf`` and ``-inf`` become ``null``
                                            (JSON has no NaN: ``NaN`` would break parsers)
``Decimal``                                 a string, ``"1.10"``: exact, where a float
                                            would round; a NaN or infinite one is ``null``
``datetime``, ``date``, ``time``            ISO 8601 text (``isoformat()``)
``timedelta``                               seconds, as a number
``UUID``                                    its canonical text
``bytes``, ``bytearray``, ``memoryview``    standard base64 text (RFC 4648, with padding)
mapping                                     an object; keys that are not strings become
                                            text: their JSON (``1`` → ``"1"``, ``None`` →
                                            ``"null"``), an enum's value, a string as is
list, tuple, other sequences                an array
``set``, ``frozenset``                      a sorted array; when the items cannot be
                                            compared (mixed types), ordered by type name,
                                            then ``repr``, so the output is stable
dataclass instance (``Document`` too),      an object of its fields, in declaration order
``msgspec.Struct``
pydantic model                              an object of ``model_dump()``
anything else                               ``str(value)`` if its type defines ``__str__``
                                            (``Path`` → ``"/tmp/x"``); otherwise
                                            ``"<module.Type>"``, never an address-bearing
                                            ``repr``
==========================================  ==============================================

Nesting is bounded: a container that contains itself becomes ``"<cycle>"`` where it recurs,
and anything deeper than :data:`MAX_DEPTH` levels becomes ``"<too deep>"``; so encoding never
recurses forever and never raises for a value it cannot carry. Iterators and generators are
not consumed (one could be infinite): they fall under "anything else".
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import decimal
import enum
import json
import math
import uuid
from collections.abc import Mapping, Sequence, Set
from typing import Any, Final, TypeAlias

import msgspec
import pydantic

__all__ = ["CYCLE", "MAX_DEPTH", "TOO_DEEP", "JSONValue", "to_json", "to_jsonable"]

JSONValue: TypeAlias = "bool | int | float | str | list[JSONValue] | dict[str, JSONValue] | None"

MAX_DEPTH: Final = 100
"""Containers nested deeper than this are replaced by :data:`TOO_DEEP`."""
CYCLE: Final = "<cycle>"
TOO_DEEP: Final = "<too deep>"

_TEXT_TYPES = (bytes, bytearray, memoryview)


def to_jsonable(value: Any) -> JSONValue:
    """``value`` as plain JSON data (dicts, lists, str, int, float, bool, None); see the module
    docstring for each type. Never raises, never returns NaN or infinity."""
    return _encode(value, 0, set())


def to_json(value: Any, *, indent: int | None = None) -> str:
    """``value`` as JSON text (non-ASCII kept as is), through :func:`to_jsonable`."""
    # allow_nan=False is a guard: to_jsonable already turned every NaN into null.
    return json.dumps(to_jsonable(value), indent=indent, ensure_ascii=False, allow_nan=False)


def _encode(value: Any, depth: int, active: set[int]) -> JSONValue:
    # Scalars first: they are most values, and they need no cycle bookkeeping.
    if value is None or value is True or value is False:
        return value
    if isinstance(value, enum.Enum):
        return _encode(value.value, depth, active)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        return str(value)
    if isinstance(value, decimal.Decimal):
        return str(value) if value.is_finite() else None
    if isinstance(value, datetime.date | datetime.time):  # datetime is a date
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, _TEXT_TYPES):
        return base64.b64encode(bytes(value)).decode("ascii")
    fields = _fields(value)
    if fields is None and not isinstance(value, Mapping | Sequence | Set):
        return _fallback(value)
    if depth >= MAX_DEPTH:
        return TOO_DEEP
    if id(value) in active:
        return CYCLE
    active.add(id(value))
    try:
        if fields is not None:
            return {name: _encode(item, depth + 1, active) for name, item in fields.items()}
        if isinstance(value, Mapping):
            return {_key(k): _encode(v, depth + 1, active) for k, v in value.items()}
        if isinstance(value, Set):
            return [_encode(item, depth + 1, active) for item in _sorted(value)]
        return [_encode(item, depth + 1, active) for item in value]
    finally:
        active.discard(id(value))


def _fields(value: Any) -> Mapping[str, Any] | None:
    """The fields of a dataclass instance, a msgspec Struct or a pydantic model; else None."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        # Not dataclasses.asdict(): it deep-copies, and recurses without a bound.
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, msgspec.Struct):
        return msgspec.structs.asdict(value)
    if isinstance(value, pydantic.BaseModel):
        return value.model_dump()
    return None


def _key(key: Any) -> str:
    if isinstance(key, str):
        return str(key)
    encoded = _encode(key, MAX_DEPTH - 1, set())
    if isinstance(encoded, str):
        return encoded
    return json.dumps(encoded, ensure_ascii=False, separators=(",", ":"))


def _sorted(items: Set[Any]) -> list[Any]:
    try:
        return sorted(items)
    except TypeError:  # mixed types (1 and "a") or unorderable ones (dicts)
        return sorted(items, key=lambda item: (type(item).__qualname__, repr(item)))


def _fallback(value: Any) -> str:
    kind = type(value)
    name = f"<{kind.__module__}.{kind.__qualname__}>"
    if getattr(kind, "__str__", None) is object.__str__:
        return name  # the default str() is repr() with a memory address: useless, unstable
    try:
        return str(value)
    except Exception:  # a broken __str__ must not lose the whole result
        return name
