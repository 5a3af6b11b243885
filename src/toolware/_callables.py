"""The shapes a callable comes in, worked out in one place.

A handler, an interceptor or a ``when=`` predicate may be a function, a bound method, a
``functools.partial``, or an object with ``__call__``. The pipeline's links, crash attribution,
argument schemas and conditions all need to know which code runs when it is called; this
module answers that once.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

__all__ = [
    "call_target",
    "check_arity",
    "display_name",
    "is_async_callable",
    "is_async_generator_callable",
    "is_generator_callable",
    "signature_source",
]


def display_name(obj: object) -> str:
    """A readable name for an interceptor or handler: its ``name``, function or class name."""
    explicit = getattr(obj, "name", None)
    if isinstance(explicit, str) and explicit:
        return explicit
    if isinstance(obj, functools.partial):
        return display_name(obj.func)
    qualname = getattr(obj, "__qualname__", None)
    if isinstance(qualname, str) and not inspect.isclass(obj):
        return qualname
    return type(obj).__name__


def signature_source(obj: Callable[..., Any]) -> Callable[..., Any]:
    """What carries ``obj``'s signature, type hints and docstring: itself, a partial's
    function, or the bound ``__call__`` of a callable object."""
    while isinstance(obj, functools.partial):
        obj = obj.func
    if inspect.isfunction(obj) or inspect.ismethod(obj):
        return obj
    call = getattr(obj, "__call__", None)  # noqa: B004 - the bound method, for its hints
    return call if inspect.ismethod(call) else obj


def call_target(obj: object) -> tuple[Any, object | None] | None:
    """The plain Python function that runs when ``obj`` is called, and the ``self`` it gets.

    ``None`` for shapes with no single Python function behind them (builtins, partials).
    """
    if inspect.isfunction(obj):
        return obj, None
    if inspect.ismethod(obj):
        function = obj.__func__
        return (function, obj.__self__) if inspect.isfunction(function) else None
    method = getattr(type(obj), "__call__", None)  # noqa: B004 - the class's own
    if inspect.isfunction(method):
        return method, obj
    return None


def is_async_callable(obj: Callable[..., Any]) -> bool:
    """Whether calling ``obj`` returns a coroutine (functions, methods, partials, objects)."""
    # unwrap(): a functools.wraps decorator that returns the wrapped coroutine is async work.
    source = signature_source(obj)
    return any(
        inspect.iscoroutinefunction(candidate)
        for candidate in (obj, source, inspect.unwrap(source))
    )


def is_async_generator_callable(obj: Callable[..., Any]) -> bool:
    """Whether calling ``obj`` returns an async generator (functions, methods, partials,
    objects, and ``functools.wraps`` wrappers around an ``async def`` that yields)."""
    return _code_kind(obj) == "async generator"


def is_generator_callable(obj: Callable[..., Any]) -> bool:
    """Whether calling ``obj`` returns a sync generator (same shapes as
    :func:`is_async_generator_callable`); calling it runs none of the body."""
    return _code_kind(obj) == "generator"


def _code_kind(obj: Callable[..., Any]) -> str | None:
    """What the outermost function with a telling code flag makes when called.

    The outermost wins: an ``async def`` wrapper that collects a generator's chunks returns
    a coroutine, whatever it wraps; a plain ``functools.wraps`` wrapper says nothing itself
    (it returns what the wrapped function returns), so the wrapped one decides.
    """
    source = signature_source(obj)
    for candidate in (obj, source, inspect.unwrap(source)):
        if inspect.iscoroutinefunction(candidate):
            return "coroutine"
        if inspect.isasyncgenfunction(candidate):
            return "async generator"
        if inspect.isgeneratorfunction(candidate):
            return "generator"
    return None


def check_arity(obj: object, arity: int, what: str, example: str, *, classes: bool = False) -> None:
    """Refuse ``obj`` unless it can be called with ``arity`` positionals; a class is refused
    (the caller meant an instance) unless ``classes`` allows it (``bool`` as a predicate)."""
    if inspect.isclass(obj) and not classes:
        raise TypeError(f"{what} got the class {obj.__name__}; pass an instance: {example}")
    if not callable(obj):
        raise TypeError(f"{what} must be callable, got {type(obj).__name__}; e.g. {example}")
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):  # builtins without signatures: trust the caller
        return
    try:
        signature.bind(*([None] * arity))
    except TypeError:
        raise TypeError(
            f"{what} must accept {arity} positional argument(s), but "
            f"{display_name(obj)}{signature} does not; e.g. {example}"
        ) from None
