"""Tests for toolware._attribution: naming interceptors and finding the culprit of a crash."""

from __future__ import annotations

import functools
import sys
from types import TracebackType
from typing import Any

from toolware import (
    CallNext,
    InternalError,
    PipelineBuilder,
    RequestContext,
    ResponseContext,
)
from toolware._attribution import Attribution, display_name
from toolware.testing import FakeHandler


class Named:
    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, fail: bool) -> None:
        if fail:
            raise ValueError(self.name)


class Anonymous:
    def __call__(self) -> None:
        raise ValueError("x")

    def method(self) -> None:
        raise ValueError("m")


def plain(fail: bool = True) -> None:
    if fail:
        raise ValueError("plain")


def _traceback_of(call: Any, *args: Any) -> TracebackType | None:
    try:
        call(*args)
    except ValueError:
        return sys.exc_info()[2]
    raise AssertionError("expected a ValueError")


def test_display_name_prefers_an_explicit_name() -> None:
    """An object's `name` attribute wins."""
    assert display_name(Named("auth")) == "auth"


def test_display_name_falls_back_to_qualname_then_class() -> None:
    """Functions show their qualified name, objects their class name."""
    assert display_name(plain) == "plain"
    assert display_name(Anonymous()) == "Anonymous"
    assert display_name(Anonymous().method) == "Anonymous.method"
    assert display_name(Named("")) == "Named"


def test_display_name_of_a_partial_is_its_function() -> None:
    """A functools.partial is named after the function it wraps."""
    assert display_name(functools.partial(plain, True)) == "plain"


def test_culprit_of_a_function() -> None:
    """A function's frame in the traceback names its stage."""
    attribution = Attribution([(plain, "plain-stage")])
    assert attribution.culprit(_traceback_of(plain)) == "plain-stage"


def test_culprit_tells_instances_of_one_class_apart() -> None:
    """Two stages sharing a class are told apart by the instance running in the frame."""
    first, second = Named("first"), Named("second")
    attribution = Attribution([(first, "first"), (second, "second")])
    assert attribution.culprit(_traceback_of(second, True)) == "second"
    assert attribution.culprit(_traceback_of(first, True)) == "first"


def test_culprit_ignores_an_instance_that_is_not_a_stage() -> None:
    """A frame of the same class but another instance is not blamed on the stage."""
    attribution = Attribution([(Named("stage"), "stage")])
    assert attribution.culprit(_traceback_of(Named("stranger"), True)) is None


def test_culprit_of_a_bound_method_and_a_partial() -> None:
    """Bound methods and partials are traced to the code they run."""
    obj = Anonymous()
    attribution = Attribution([(obj.method, "method"), (functools.partial(plain), "partial")])
    assert attribution.culprit(_traceback_of(obj.method)) == "method"
    assert attribution.culprit(_traceback_of(plain)) == "partial"


def test_culprit_is_the_deepest_stage() -> None:
    """When one stage calls another, the deeper one is blamed."""
    inner = Named("inner")

    def outer() -> None:
        inner(True)

    attribution = Attribution([(outer, "outer"), (inner, "inner")])
    assert attribution.culprit(_traceback_of(outer)) == "inner"


def test_shared_function_names_every_stage_using_it() -> None:
    """One function used by two stages cannot be told apart; both names are given."""
    attribution = Attribution([(plain, "b"), (plain, "a")])
    assert attribution.culprit(_traceback_of(plain)) == "a or b"


def test_no_stage_in_the_traceback() -> None:
    """Without a stage frame there is no culprit; an empty traceback too."""
    attribution = Attribution([(Named("n"), "n")])
    assert attribution.culprit(_traceback_of(plain)) is None
    assert attribution.culprit(None) is None


def test_objects_without_python_code_are_skipped() -> None:
    """Builtins have no code object to trace and are ignored."""
    attribution = Attribution([(len, "len")])
    assert attribution.culprit(_traceback_of(plain)) is None


async def test_a_crash_in_a_decorators_own_code_names_the_stage() -> None:
    """A functools.wraps wrapper that raises before calling the interceptor is still named."""

    def metered(function: Any) -> Any:
        @functools.wraps(function)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("metrics backend down")

        return wrapper

    @metered
    async def audit(request: RequestContext, call_next: CallNext) -> ResponseContext:
        return await call_next(request)

    pipeline = PipelineBuilder().use(audit, name="audit").route(FakeHandler(["ok"])).build()
    error = (await pipeline.invoke("search")).error
    assert isinstance(error, InternalError)
    assert error.interceptor == "audit"
