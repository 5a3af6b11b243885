"""Find which interceptor an escaped exception came from, without wrapping each one.

Wrapping every interceptor in its own ``try`` would cost one extra coroutine per interceptor per
call. Instead the build step records the code object of each interceptor, and when an exception
reaches the pipeline boundary we walk its traceback: the deepest frame running an interceptor's
code is where the exception escaped. This costs nothing unless something crashed.
"""

from __future__ import annotations

import functools
import inspect
from types import CodeType, FrameType, TracebackType

from toolware._callables import call_target, display_name

__all__ = ["Attribution", "display_name"]


def _codes_of(obj: object) -> list[tuple[CodeType, object | None]]:
    """The code objects that run when ``obj`` is called, each with its ``self`` if a method.

    A decorated function (``functools.wraps``) contributes both the wrapper's code and the
    wrapped function's: a crash in either belongs to the stage.
    """
    if isinstance(obj, functools.partial):
        return _codes_of(obj.func)
    target = call_target(obj)
    if target is None:
        return []
    function, owner = target
    codes = {function.__code__, getattr(inspect.unwrap(function), "__code__", function.__code__)}
    return [(code, owner) for code in codes if isinstance(code, CodeType)]


class Attribution:
    """Maps code objects back to the stages that run them."""

    __slots__ = ("_by_code",)

    def __init__(self, stages: list[tuple[object, str]]) -> None:
        self._by_code: dict[CodeType, list[tuple[object | None, str]]] = {}
        for obj, name in stages:
            for code, owner in _codes_of(obj):
                self._by_code.setdefault(code, []).append((owner, name))

    def culprit(self, tb: TracebackType | None) -> str | None:
        """The name of the deepest stage in ``tb``, or ``None`` if no stage is in it."""
        found: str | None = None
        while tb is not None:
            candidates = self._by_code.get(tb.tb_frame.f_code)
            if candidates:
                found = self._pick(candidates, tb.tb_frame) or found
            tb = tb.tb_next
        return found

    @staticmethod
    def _pick(candidates: list[tuple[object | None, str]], frame: FrameType) -> str | None:
        # A method's code is shared by every instance of its class, so a frame only belongs
        # to a stage whose own instance is running in it: the outer pipeline's __call__ frame
        # is not its terminal sub-pipeline, though both run Pipeline.__call__.
        code = frame.f_code
        owner = frame.f_locals.get(code.co_varnames[0]) if code.co_argcount else None
        unowned: set[str] = set()
        for candidate_owner, name in candidates:
            if candidate_owner is None:
                unowned.add(name)
            elif candidate_owner is owner:
                return name
        return " or ".join(sorted(unowned)) if unowned else None
