"""Tests for toolware._links: the build-time copy of plain interceptors, and what it changes."""

from __future__ import annotations

from tests.pipeline_support import echo
from toolware import PipelineBuilder, RequestContext, ResponseContext
from toolware.types import CallNext


async def replacement(request: RequestContext, call_next: CallNext) -> ResponseContext:
    return ResponseContext.success("replaced")


async def test_replacing_a_functions_code_after_build_does_not_reach_the_pipeline() -> None:
    """A plain (request, call_next) function is linked as a copy taken at build time."""

    async def stage(request: RequestContext, call_next: CallNext) -> ResponseContext:
        return ResponseContext.success("original")

    pipeline = PipelineBuilder().use(stage).route(echo).build()
    stage.__code__ = replacement.__code__
    assert (await pipeline.invoke("x")).unwrap() == "original"


async def test_replacing_a_methods_code_after_build_does_not_reach_the_pipeline() -> None:
    """The same for a callable object whose __call__ takes (self, request, call_next)."""

    class Stage:
        async def __call__(self, request: RequestContext, call_next: CallNext) -> ResponseContext:
            return ResponseContext.success("original")

    pipeline = PipelineBuilder().use(Stage()).route(echo).build()
    Stage.__call__.__code__ = replacement.__code__
    assert (await pipeline.invoke("x")).unwrap() == "original"


async def test_other_shapes_are_called_as_they_are_at_call_time() -> None:
    """An interceptor with *args or an extra optional parameter is not copied: replacing its
    code after build does reach the pipeline, and both shapes run."""

    async def with_args(
        request: RequestContext, call_next: CallNext, *extra: object
    ) -> ResponseContext:
        return await call_next(request)

    async def with_option(
        request: RequestContext, call_next: CallNext, extra: int = 1
    ) -> ResponseContext:
        return await call_next(request)

    for stage in (with_args, with_option):
        pipeline = PipelineBuilder().use(stage).route(echo).build()
        assert (await pipeline.invoke("x", {"a": 1})).unwrap() == {"a": 1}
        stage.__code__ = replacement.__code__
        assert (await pipeline.invoke("x")).unwrap() == "replaced"
