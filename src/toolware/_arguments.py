"""The argument boundary: only JSON-like data of bounded size reaches the validator.

pydantic consumes what it is given: an endless generator passed to a ``list[int]`` parameter
hung the process, 1,000-deep nesting blocked the event loop for 0.68 s, and a mapping whose
``items()`` raised had the exception's text copied into the error. :func:`check_arguments` runs
before pydantic, on every validated call, and refuses such input with ``invalid_request``.

What passes:

- ``dict`` with ``str`` keys (subclasses too, read through ``dict`` itself so an overridden
  ``items()`` never runs), ``list``, ``tuple``, ``set`` and ``frozenset``, walked and counted;
- ``str``, ``int``, ``float``, ``bool``, ``None`` and their subclasses (enums);
- objects pydantic checks against the declared type without iterating them: a ``datetime``, a
  ``UUID``, a ``Decimal``, ``bytes``, an enum member, a dataclass or a pydantic model instance.
  Python callers pass them legitimately, and they cannot grow without bound.

What is refused, naming the field and the fix:

- iterators and generators (one-shot, possibly endless), and any other iterable that is not one
  of the containers above (``range``, ``deque``, dict views, custom iterables, arrays): pass a
  list;
- mappings that are not dicts (their ``items()`` runs the caller's code): pass a dict;
- keys that are not strings, or ``str`` subclasses that override ``__eq__`` or ``__hash__``;
- nesting deeper than :data:`MAX_DEPTH`, and more than :data:`MAX_NODES` values in all (a
  string counts as one value whatever its length).

The limits are module constants read at each call, so an application may change them at start-up.
The walk is iterative (no recursion limit to hit) and costs one type lookup per value in the
flat case; containers are pushed on a stack only when met.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping
from typing import Any

import pydantic

from toolware._limits import safe_name
from toolware.errors import FieldError, InvalidRequestError

__all__ = ["MAX_DEPTH", "MAX_NODES", "check_arguments"]

MAX_DEPTH = 32
"""Deepest nesting accepted; a parameter's own value is at depth 1."""
MAX_NODES = 100_000
"""Most values accepted in one call's arguments, containers and scalars alike."""

_SCALARS = frozenset({str, int, float, bool, type(None)})
_STR_EQ, _STR_HASH = str.__eq__, str.__hash__
_Path = tuple[Any, ...]


def check_arguments(
    arguments: Mapping[str, Any], *, target: str, names: Container[str] = frozenset()
) -> None:
    """Raise :class:`InvalidRequestError` unless ``arguments`` is JSON-like and within limits.

    ``target`` names the call in the message; ``names`` are the property names the schema
    declares, shown in field paths (other dict keys are caller data and shown as ``[key]``).
    """
    if not isinstance(arguments, dict):
        raise _refused(target, (), f"{_type(arguments)} is not a dict", "object", _DICT_HINT)
    # The common case, flat string-keyed scalars, costs one loop and no allocation.
    for key, value in dict.items(arguments):
        if type(key) is not str or type(value) not in _SCALARS:
            break
    else:
        if len(arguments) <= MAX_NODES:
            return
    _walk(arguments, target, names)


def _walk(arguments: dict[Any, Any], target: str, names: Container[str]) -> None:
    """Every container under ``arguments``, depth first, without recursion."""
    scalars, max_depth, max_nodes = _SCALARS, MAX_DEPTH, MAX_NODES
    pending: list[tuple[Any, _Path, int]] = [(arguments, (), 0)]
    nodes = 0
    while pending:
        value, path, depth = pending.pop()
        items = _items(value, path, target, names)
        if items is None:
            continue
        if depth > max_depth:
            problem = f"nested deeper than {max_depth} levels"
            hint = f"flatten the argument; nesting is limited to {max_depth} levels"
            raise _refused(target, path, problem, None, hint, names)
        nodes += len(value)
        if nodes > max_nodes:
            raise _refused(
                target, (), f"more than {max_nodes} values in all", None, _SIZE_HINT, names
            )
        keyed = isinstance(value, dict)
        for key, item in items:
            if keyed and type(key) is not str:
                _check_key(key, path, target, names)
            if type(item) not in scalars:
                pending.append((item, (*path, key), depth + 1))


def _items(
    value: Any, path: _Path, target: str, names: Container[str]
) -> Iterable[tuple[Any, Any]] | None:
    """The (key or index, item) pairs of a container to walk; None for an accepted leaf.

    Containers are read through the built-in type's own methods: a subclass that overrides
    ``items()`` or ``__iter__`` must not run during the check.
    """
    if isinstance(value, dict):
        return dict.items(value)
    if isinstance(value, list | tuple):
        return enumerate(list.__iter__(value) if isinstance(value, list) else tuple.__iter__(value))
    if isinstance(value, set | frozenset):
        return enumerate(
            set.__iter__(value) if isinstance(value, set) else frozenset.__iter__(value)
        )
    if isinstance(value, str | int | float | bytes | bytearray | pydantic.BaseModel):
        return None
    if isinstance(value, Mapping):
        problem = f"{_type(value)} is a mapping but not a dict"
        raise _refused(target, path, problem, "object", _DICT_HINT, names)
    if any("__iter__" in vars(cls) for cls in type(value).__mro__):
        if any("__next__" in vars(cls) for cls in type(value).__mro__):
            problem = f"{_type(value)} is an iterator: it can be read once and may never end"
        else:
            problem = f"{_type(value)} is not a list, tuple, set or dict"
        raise _refused(target, path, problem, "array", _LIST_HINT, names)
    return None  # an object pydantic checks against the declared type without iterating it


def _check_key(key: Any, path: _Path, target: str, names: Container[str] = frozenset()) -> None:
    cls: Any = type(key)
    # A str subclass is safe when hashing and comparing it are str's own: pydantic does both.
    if isinstance(key, str) and cls.__eq__ is _STR_EQ and cls.__hash__ is _STR_HASH:
        return
    problem = f"keys must be plain strings, got {_type(key)}"
    raise _refused(target, (*path, _KEY), problem, "string", _KEY_HINT, names)


def _refused(
    target: str,
    path: _Path,
    problem: str,
    expected: str | None,
    hint: str,
    names: Container[str] = frozenset(),
) -> InvalidRequestError:
    field = _location(path, names)
    return InvalidRequestError(
        f"invalid arguments for {target!r}: {field}: {problem}",
        fields=(FieldError(field, problem, expected),),
        hint=hint,
    )


_KEY = object()  # marks "a key of this dict" in a path
_DICT_HINT = "pass a plain dict (dict(mapping)) of JSON-like values"
_LIST_HINT = "pass a list (list(values)): arguments must be JSON-like data"
_KEY_HINT = "use plain str keys (str(key))"
_SIZE_HINT = "send fewer values, or page through them"


def _location(path: _Path, names: Container[str]) -> str:
    """The dotted path; the parameter name cut and escaped, other unknown keys as ``[key]``."""
    if not path:
        return "(arguments)"
    parts = ["[key]" if path[0] is _KEY else safe_name(path[0])]
    for part in path[1:]:
        if type(part) is int or (type(part) is str and part in names):
            parts.append(str(part))
        else:
            parts.append("[key]")
    return ".".join(parts)


def _type(value: Any) -> str:
    return safe_name(type(value).__name__, 64)
