"""``when=`` conditions: which calls an interceptor applies to.

A condition is a predicate over the request, a set of :class:`~toolware.context.Kind`, or a set
of target names. Sets are compiled into the cheapest test (one ``in`` on a frozenset).
"""

from __future__ import annotations

from collections.abc import Callable, Set
from typing import Union

import msgspec

from toolware._callables import check_arity, is_async_callable
from toolware.context import Kind, RequestContext

__all__ = ["Condition", "When", "compile_condition"]

When = Union[Callable[[RequestContext], bool], Set[Kind], Set[str]]  # noqa: UP007


class Condition(msgspec.Struct, frozen=True):
    """A compiled ``when=``: exactly one of ``kinds``, ``targets`` or ``predicate`` is set."""

    kinds: frozenset[Kind] | None = None
    targets: frozenset[str] | None = None
    predicate: Callable[[RequestContext], bool] | None = None

    def matches(self, request: RequestContext) -> bool:
        if self.kinds is not None:
            return request.kind in self.kinds
        if self.targets is not None:
            return request.target in self.targets or (
                request.action is not None and request.qualified_name in self.targets
            )
        if self.predicate is None:  # unreachable through compile_condition()
            raise ValueError("a Condition needs kinds, targets or a predicate")
        return bool(self.predicate(request))

    def target_names(self) -> frozenset[str]:
        """The target names this condition lists (empty for kinds and predicates)."""
        return self.targets or frozenset()

    def describe(self) -> str:
        if self.kinds is not None:
            return "kind in {" + ", ".join(sorted(k.value for k in self.kinds)) + "}"
        if self.targets is not None:
            return "target in {" + ", ".join(sorted(self.targets)) + "}"
        name = getattr(self.predicate, "__qualname__", None) or repr(self.predicate)
        return f"{name}(request)"


def compile_condition(when: When) -> Condition:
    """Turn a ``when=`` argument into a :class:`Condition`, or explain what is accepted."""
    if isinstance(when, Set) and not isinstance(when, str):
        items = list(when)
        if not items:
            raise ValueError(
                "when= got an empty set, which would never match; drop when= to always apply"
            )
        kinds = [item for item in items if isinstance(item, Kind)]
        if len(kinds) == len(items):
            return Condition(kinds=frozenset(kinds))
        if not kinds and all(isinstance(item, str) for item in items):
            kind_names = {kind.value for kind in Kind}
            if all(item in kind_names for item in items):
                # {"tool"} is almost surely meant as a kind; as target names it would
                # silently match nothing.
                raise TypeError(
                    f"when={sorted(items)!r} names kinds as strings; use Kind values, e.g. "
                    "when={Kind.TOOL}, or a predicate if you mean targets with these names"
                )
            return Condition(targets=frozenset(str(item) for item in items))
        raise TypeError(
            "when= got a set mixing Kind values and target names; use {Kind.TOOL, ...} for "
            "kinds, {'search', ...} for targets, or a predicate for anything else"
        )
    if callable(when):
        _check_predicate(when)
        return Condition(predicate=when)
    raise TypeError(
        f"when= must be a predicate (request) -> bool, a set of Kind or a set of target names, "
        f"got {type(when).__name__}"
    )


def _check_predicate(predicate: Callable[..., object]) -> None:
    # An async predicate returns a coroutine, which is always truthy: the interceptor would
    # apply to every call and the coroutine would never be awaited.
    if is_async_callable(predicate):
        raise TypeError(
            f"when= got the async function {_name(predicate)}; conditions run on every call and "
            "must be plain functions: def predicate(request) -> bool"
        )
    check_arity(predicate, 1, "when= predicate", "def predicate(request) -> bool", classes=True)


def _name(obj: object) -> str:
    return getattr(obj, "__qualname__", None) or type(obj).__name__
