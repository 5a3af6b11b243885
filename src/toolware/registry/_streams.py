"""Streaming entries: which handlers stream, the chunk type they declare, and their options.

A handler streams when it is a generator function: ``async def`` with ``yield`` (an async
generator) or ``def`` with ``yield`` (a sync generator, stepped in the router's worker
threads). Its return annotation declares the type of one chunk, in any of these forms
(``collections.abc`` or ``typing``)::

    async def f(...) -> AsyncIterator[T]    # or AsyncIterable[T], AsyncGenerator[T, None]
    def g(...) -> Iterator[T]               # or Iterable[T], Generator[T, None, None]

``chunk_schema`` is the JSON Schema of ``T``; ``result_schema`` that of the list
``response.collect()`` gives, ``{"type": "array", "items": chunk_schema}``. Both are ``{}``
when the handler is unannotated, the form is bare (``-> Iterator``) or ``T`` is an opaque
Python type. Any other annotation (``-> list[int]``, or a sync form on an async generator) is
refused: it would be a schema that lies about what the tool sends.
"""

from __future__ import annotations

import collections.abc
import typing
from collections.abc import Callable, Mapping
from typing import Any

import msgspec

from toolware._callables import is_async_generator_callable, is_generator_callable
from toolware.errors import RegistrationError
from toolware.registry._options import STREAM_OPTIONS, EntryOptions
from toolware.registry.results import type_label
from toolware.registry.schema import type_schema

__all__ = [
    "chunk_annotation",
    "is_streaming",
    "refuse_stream_options",
    "stream_options_given",
    "stream_schemas",
    "without_stream_options",
]

_ASYNC_FORMS: frozenset[Any] = frozenset(
    {collections.abc.AsyncIterator, collections.abc.AsyncIterable, collections.abc.AsyncGenerator}
)
_SYNC_FORMS: frozenset[Any] = frozenset(
    {collections.abc.Iterator, collections.abc.Iterable, collections.abc.Generator}
)
_DEFAULTS = EntryOptions()


def is_streaming(function: Callable[..., Any]) -> bool:
    """Whether ``function`` is an async or sync generator function (any callable shape)."""
    return is_async_generator_callable(function) or is_generator_callable(function)


def chunk_annotation(
    declared_return: tuple[Any, ...], target: str, *, is_async: bool
) -> tuple[Any, ...]:
    """``(T,)`` for a generator function annotated with an iterator of ``T``; ``()`` when it is
    unannotated or the form is bare; :class:`RegistrationError` for any other annotation."""
    if not declared_return:
        return ()
    annotation = declared_return[0]
    origin = typing.get_origin(annotation) or annotation
    if origin not in (_ASYNC_FORMS if is_async else _SYNC_FORMS):
        kind, form = ("an async", "AsyncIterator[T]") if is_async else ("a", "Iterator[T]")
        raise RegistrationError(
            f"{target!r} is {kind} generator function annotated '-> {type_label(annotation)}'; "
            f"it yields chunks, so annotate the type of one chunk: '-> {form}' "
            f"(or {'AsyncIterable' if is_async else 'Iterable'}[T], "
            f"{'AsyncGenerator' if is_async else 'Generator'}[T, ...])"
        )
    arguments = typing.get_args(annotation)
    return (arguments[0],) if arguments else ()


def stream_schemas(
    chunk: tuple[Any, ...], target: str
) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    """``(chunk_schema, result_schema)`` for the chunk type ``chunk`` (``()``: unknown)."""
    chunk_schema = type_schema(chunk[0], target, "chunk") if chunk else {}
    if not chunk_schema:
        return {}, {}
    return chunk_schema, {"type": "array", "items": chunk_schema}


def stream_options_given(options: EntryOptions) -> list[str]:
    """The streaming-only options set to something other than their default."""
    return [name for name in STREAM_OPTIONS if getattr(options, name) != getattr(_DEFAULTS, name)]


def refuse_stream_options(options: EntryOptions, why: str) -> None:
    """Refuse the streaming-only options given in ``options``; ``why`` says what does not
    stream (``"'add' is not one"``)."""
    given = stream_options_given(options)
    if given:
        raise RegistrationError(
            f"{', '.join(given)} only applies to streaming entries (async or sync generator "
            f"functions), and {why}; leave it out, or make the handler yield its chunks"
        )


def without_stream_options(options: EntryOptions) -> EntryOptions:
    """``options`` with the streaming-only ones back at their defaults."""
    reset = {name: getattr(_DEFAULTS, name) for name in STREAM_OPTIONS}
    return msgspec.structs.replace(options, **reset)
