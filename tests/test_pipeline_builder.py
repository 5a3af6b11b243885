"""Tests for toolware.pipeline: the builder's rules and what it refuses."""

from __future__ import annotations

import operator

import pytest

from tests.pipeline_support import Recorder, echo, passthrough
from toolware.context import RequestContext, ResponseContext
from toolware.errors import BuilderFrozenError, InternalError
from toolware.pipeline import PipelineBuilder
from toolware.registry import LocalRegistry
from toolware.testing import FakeHandler
from toolware.types import CallNext

# --- builder rules ---------------------------------------------------------------------------


def test_builder_refuses_changes_after_build() -> None:
    """use(), route() and build() after build() raise BuilderFrozenError saying what to do."""
    builder = PipelineBuilder().use(passthrough).route(echo)
    builder.build()
    with pytest.raises(BuilderFrozenError, match=r"use\(\) called .* start a new PipelineBuilder"):
        builder.use(passthrough)
    with pytest.raises(BuilderFrozenError, match=r"route\(\) called"):
        builder.route(echo)
    with pytest.raises(BuilderFrozenError, match=r"build\(\) called"):
        builder.build()


def test_built_pipeline_is_not_changed_by_a_refused_use() -> None:
    """A refused use() after build() leaves the built pipeline's stages as they were."""
    builder = PipelineBuilder().use(passthrough).route(echo)
    pipeline = builder.build()
    with pytest.raises(BuilderFrozenError):
        builder.use(Recorder("late", []))
    assert [stage.name for stage in pipeline.stages] == ["passthrough"]


def test_build_needs_a_route() -> None:
    """build() without a terminal says to call route()."""
    with pytest.raises(ValueError, match=r"call \.route\(registry\) or \.route\(handler\)"):
        PipelineBuilder().use(passthrough).build()


def test_route_only_once() -> None:
    """A second route() is refused: a pipeline has one terminal."""
    builder = PipelineBuilder().route(echo)
    with pytest.raises(ValueError, match="route\\(\\) was already called"):
        builder.route(echo)


def test_use_refuses_a_class() -> None:
    """Passing the interceptor class instead of an instance says to pass an instance."""
    with pytest.raises(TypeError, match="got the class Recorder; pass an instance"):
        PipelineBuilder().use(Recorder)  # type: ignore[arg-type]


def test_route_refuses_a_class() -> None:
    """Passing a handler class to route() says to pass an instance."""
    with pytest.raises(TypeError, match="got the class FakeHandler; pass an instance"):
        PipelineBuilder().route(FakeHandler)  # type: ignore[arg-type]


def test_use_refuses_wrong_arity() -> None:
    """An interceptor that cannot take (request, call_next) is refused with its signature."""

    async def one(request: RequestContext) -> ResponseContext:
        return ResponseContext()

    with pytest.raises(TypeError, match=r"must accept 2 positional argument\(s\), but .*one"):
        PipelineBuilder().use(one)  # type: ignore[arg-type]


def test_route_refuses_wrong_arity() -> None:
    """A handler that cannot take (request) is refused."""

    async def two(request: RequestContext, call_next: CallNext) -> ResponseContext:
        return ResponseContext()

    with pytest.raises(TypeError, match=r"must accept 1 positional argument"):
        PipelineBuilder().route(two)  # type: ignore[arg-type]


def test_use_refuses_non_callables() -> None:
    """A non-callable interceptor is refused with its type."""
    with pytest.raises(TypeError, match="must be callable, got str"):
        PipelineBuilder().use("auth")  # type: ignore[arg-type]


async def test_callable_without_a_signature_is_trusted_at_build_time() -> None:
    """A builtin whose signature cannot be read is accepted; if it misbehaves, the call fails."""
    pipeline = PipelineBuilder(name="p").use(operator.itemgetter(0)).route(echo).build()
    assert pipeline.describe() == ("itemgetter", "echo")
    error = (await pipeline.invoke("search")).error
    assert isinstance(error, InternalError)
    assert "TypeError" in error.message


def test_route_refuses_workers_for_a_handler() -> None:
    """workers= only makes sense for a registry."""
    with pytest.raises(ValueError, match="workers= and max_queued= only apply"):
        PipelineBuilder().route(echo, workers=2)


def test_use_refuses_a_bad_condition() -> None:
    """A bad when= is refused at use() time, before anything is built."""
    with pytest.raises(TypeError, match="when= must be"):
        PipelineBuilder().use(passthrough, when=3)  # type: ignore[arg-type]


async def test_route_to_a_registry() -> None:
    """Routing to a registry sends calls to its entries, with a bounded worker pool."""
    registry = LocalRegistry()

    def add(a: int, b: int) -> int:
        return a + b

    registry.tool(add)
    pipeline = PipelineBuilder().route(registry, workers=2).build()
    try:
        assert (await pipeline.invoke("add", {"a": 2, "b": 3})).value == 5
        assert pipeline.terminal.workers == 2  # type: ignore[attr-defined]
    finally:
        pipeline.terminal.close()  # type: ignore[attr-defined]


def test_route_refuses_a_registry_class() -> None:
    """Passing the LocalRegistry class instead of an instance says to pass an instance."""
    with pytest.raises(TypeError, match="got the class LocalRegistry; pass an instance"):
        PipelineBuilder().route(LocalRegistry)  # type: ignore[arg-type]
