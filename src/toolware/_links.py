"""How ``build()`` links each interceptor to the next one.

Each link returns the next interceptor's coroutine without an extra coroutine frame, so
``await call_next(request)`` stays a plain await (``ContextVar`` values flow as in a direct
call) and an interceptor hop costs what a hand-written closure hop costs (the figures are in
docs/benchmarks.md).

The trick, and what it changes: for an interceptor written as a plain function or a method
taking exactly ``(request, call_next)``, the link is a *copy* of that function whose
``call_next`` parameter defaults to the next link. The copy shares the original's code,
globals, closure and keyword-only defaults, so behaviour, tracebacks and crash attribution are
the same. It is taken at build time: replacing the function's ``__code__``, ``__defaults__`` or
``__kwdefaults__`` on the original afterwards does not reach a pipeline already built (a
monkeypatch of the *module attribute* or of the instance's attributes does, as usual). Every
other shape (extra optional parameters, ``*args``, partials, builtins) gets a lambda link.
"""

from __future__ import annotations

import inspect
import types
from typing import Any

from toolware._callables import call_target
from toolware.conditions import Condition
from toolware.context import ResponseContext
from toolware.types import CallNext, Interceptor

__all__ = ["answered", "link", "prebind"]


def prebind(interceptor: Interceptor, call_next: CallNext) -> CallNext | None:
    """A copy of ``interceptor`` whose ``call_next`` parameter defaults to ``call_next``, or
    ``None`` for shapes this cannot express."""
    target = call_target(interceptor)
    if target is None:
        return None
    function, owner = target
    code = function.__code__
    if (
        code.co_argcount != (3 if owner is not None else 2)
        or code.co_flags & inspect.CO_VARARGS
        or code.co_kwonlyargcount != len(function.__kwdefaults__ or ())
    ):
        return None
    copy = types.FunctionType(
        code, function.__globals__, function.__name__, (call_next,), function.__closure__
    )
    copy.__kwdefaults__ = function.__kwdefaults__
    copy.__qualname__ = function.__qualname__
    copy.__module__ = function.__module__
    copy.__doc__ = function.__doc__
    if owner is None:
        bound: CallNext = copy
        return bound
    method: CallNext = types.MethodType(copy, owner)
    return method


def link(interceptor: Interceptor, condition: Condition | None, call_next: CallNext) -> CallNext:
    """The callable that runs ``interceptor`` (when ``condition`` matches) before ``call_next``."""
    bound = prebind(interceptor, call_next)
    if bound is None:
        target: Any = interceptor
        if not inspect.isfunction(target) and inspect.ismethod(
            getattr(target, "__call__", None)  # noqa: B004 - we want the bound method
        ):
            target = target.__call__  # a bound method call skips the type slot
        bound = lambda request: target(request, call_next)  # noqa: E731
    if condition is None:
        return bound
    run = bound
    if condition.kinds is not None:
        kinds = condition.kinds
        return lambda request: run(request) if request.kind in kinds else call_next(request)
    if condition.targets is not None:
        targets = condition.targets
        # A plugin action matches by its canonical name ("notes.add") as well as by "notes".
        return lambda request: (
            run(request)
            if request.target in targets
            or (request.action is not None and request.qualified_name in targets)
            else call_next(request)
        )
    matches = condition.matches
    return lambda request: run(request) if matches(request) else call_next(request)


async def answered(response: ResponseContext) -> ResponseContext:
    """An awaitable of ``response``: what an interceptor written as a plain function (one that
    hands back ``call_next``'s awaitable instead of awaiting it) returns when it answers."""
    return response
