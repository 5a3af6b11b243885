"""Tests for toolware.conditions: compiling when= into a Condition."""

from __future__ import annotations

import functools
from typing import Any

import pytest

from toolware.conditions import Condition, compile_condition
from toolware.context import Kind, RequestContext


def _request(target: str = "search", kind: Kind = Kind.TOOL) -> RequestContext:
    return RequestContext.create(target, kind=kind, id="r")


def test_set_of_kinds_compiles_to_kinds() -> None:
    """A set of Kind becomes a kinds condition matching only those kinds."""
    condition = compile_condition({Kind.RAG, Kind.PLUGIN})
    assert condition == Condition(kinds=frozenset({Kind.RAG, Kind.PLUGIN}))
    assert condition.matches(_request(kind=Kind.RAG))
    assert condition.matches(_request(kind=Kind.PLUGIN))
    assert not condition.matches(_request(kind=Kind.TOOL))
    assert condition.describe() == "kind in {plugin, rag}"


def test_set_of_names_compiles_to_targets() -> None:
    """A set of strings becomes a targets condition matching only those targets."""
    condition = compile_condition(frozenset({"search", "fetch"}))
    assert condition.targets == frozenset({"search", "fetch"})
    assert condition.kinds is None
    assert condition.matches(_request("fetch"))
    assert not condition.matches(_request("other"))
    assert condition.describe() == "target in {fetch, search}"


def test_predicate_compiles_to_predicate() -> None:
    """A callable becomes a predicate condition; its result is taken as a bool."""

    def has_query(request: RequestContext) -> Any:
        return request.arguments.get("query")

    condition = compile_condition(has_query)
    assert condition.predicate is has_query
    assert condition.matches(RequestContext.create("s", {"query": "tea"}))
    assert condition.matches(RequestContext.create("s", {"query": ""})) is False
    assert condition.describe().endswith("has_query(request)")


def test_callable_object_and_partial_predicates() -> None:
    """Callable objects and partials are accepted as predicates."""

    class TargetIs:
        def __init__(self, name: str) -> None:
            self.name = name

        def __call__(self, request: RequestContext) -> bool:
            return request.target == self.name

    def target_is(name: str, request: RequestContext) -> bool:
        return request.target == name

    for predicate in (TargetIs("search"), functools.partial(target_is, "search")):
        condition = compile_condition(predicate)
        assert condition.matches(_request("search"))
        assert not condition.matches(_request("other"))
        assert condition.describe().endswith("(request)")


def test_empty_set_is_refused() -> None:
    """An empty set would never match and is refused."""
    with pytest.raises(ValueError, match="empty set"):
        compile_condition(set())


def test_mixed_set_is_refused() -> None:
    """A set mixing Kind values and names is refused with the accepted forms."""
    with pytest.raises(TypeError, match="mixing Kind values and target names"):
        compile_condition({Kind.TOOL, "search"})


def test_set_of_other_things_is_refused() -> None:
    """A set of neither kinds nor strings is refused."""
    with pytest.raises(TypeError, match="mixing"):
        compile_condition({1, 2})  # type: ignore[arg-type]


@pytest.mark.parametrize("when", [["search"], "search", 3, None])
def test_other_types_are_refused(when: Any) -> None:
    """A list, a string or another non-callable is refused, naming its type."""
    with pytest.raises(TypeError, match=f"got {type(when).__name__}"):
        compile_condition(when)


def test_async_predicate_is_refused() -> None:
    """An async predicate would always be truthy, so it is refused."""

    async def is_admin(request: RequestContext) -> bool:
        return False

    with pytest.raises(TypeError, match=r"async function .*is_admin"):
        compile_condition(is_admin)  # type: ignore[arg-type]


def test_object_with_async_call_is_refused() -> None:
    """A callable object whose __call__ is async is refused too."""

    class AsyncCheck:
        async def __call__(self, request: RequestContext) -> bool:
            return True

    with pytest.raises(TypeError, match="async"):
        compile_condition(AsyncCheck())  # type: ignore[arg-type]


def test_predicate_with_wrong_arity_is_refused() -> None:
    """A predicate that cannot take the request as its one argument is refused."""

    def two(request: RequestContext, other: int) -> bool:
        return True

    with pytest.raises(TypeError, match="must accept 1 positional argument"):
        compile_condition(two)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="must accept 1 positional argument"):
        compile_condition(lambda: True)  # type: ignore[arg-type,misc]


def test_builtin_predicate_without_signature_is_trusted() -> None:
    """A builtin callable whose signature cannot be read is accepted."""
    condition = compile_condition(bool)  # type: ignore[arg-type]
    assert condition.matches(_request())


def test_kind_names_given_as_strings_are_refused() -> None:
    """when={'tool'} would match no target; it is refused with the Kind spelling to use."""
    with pytest.raises(TypeError, match=r"names kinds as strings; use Kind values"):
        compile_condition({"tool", "rag"})
    assert compile_condition({"tool", "search"}).targets == frozenset({"tool", "search"})
