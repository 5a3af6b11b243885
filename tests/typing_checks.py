"""Static checks of the public types, run by mypy --strict (see [tool.mypy] files).

Nothing here runs under pytest; a mistake shows up as a mypy error in `make test`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, assert_type

from toolware import (
    CallNext,
    CallTimeoutError,
    ExtraKey,
    FieldError,
    Handler,
    Interceptor,
    InvalidRequestError,
    LocalRegistry,
    NotFoundError,
    Pipeline,
    PipelineBuilder,
    RateLimitedError,
    RequestContext,
    ResponseContext,
    ResponseStream,
    StatsInterceptor,
    StreamEnd,
    TimeoutInterceptor,
    ValidationInterceptor,
)

TENANT = ExtraKey("tenant", str)
registry = LocalRegistry()


@registry.tool
def add(a: int, b: int) -> int:
    return a + b


@registry.tool(idempotent=True, timeout=2.0)
async def search(query: str) -> list[str]:
    return [query]


@registry.tool(idle_timeout=1.0, first_chunk_timeout=5.0, read_ahead=2, check_result=True)
async def report(topic: str) -> AsyncIterator[str]:
    yield topic


async def tag_tenant(request: RequestContext, call_next: CallNext) -> ResponseContext:
    return await call_next(request.with_extra(TENANT, "acme"))


async def echo(request: RequestContext) -> ResponseContext:
    return ResponseContext.success(request.get(TENANT))


async def check_types(request: RequestContext) -> None:
    assert_type(add(1, 2), int)  # the decorators return the function unchanged
    assert_type(await search("tea"), list[str])
    assert_type(request.get(TENANT), str | None)
    interceptors: list[Interceptor] = [
        tag_tenant,
        StatsInterceptor(),
        TimeoutInterceptor(timeout=1.0),
        ValidationInterceptor(registry),
    ]
    handler: Handler = echo
    builder = PipelineBuilder()
    for interceptor in interceptors:
        builder = builder.use(interceptor)
    pipeline = builder.route(registry).build()
    assert_type(pipeline, Pipeline)
    nested: Handler = pipeline  # a pipeline is a handler, so it can be a terminal
    outer = PipelineBuilder().route(nested).build()
    assert_type(await outer(request), ResponseContext)
    assert_type(await PipelineBuilder().route(handler).build().invoke("add"), ResponseContext)
    response = await pipeline.invoke("report", {"topic": "tea"})
    stream = response.stream
    if stream is not None:
        assert_type(stream, ResponseStream)
        wrapped = stream.map(str.upper).filter(bool).take(3).observe(on_end=_ended)
        assert_type(wrapped, ResponseStream)
        async with wrapped as chunks:
            async for chunk in chunks:
                assert_type(chunk, Any)
        assert_type(response.with_stream(wrapped), ResponseContext)
    assert_type(await response.collect(max_chunks=10), ResponseContext)


def _ended(end: StreamEnd) -> None:
    assert_type(end.chunks, int)


def check_error_constructors() -> None:
    # Every keyword is typed: a misspelling such as hnt= or retry_afer= is a mypy error.
    InvalidRequestError("bad", fields=(FieldError("a", "missing"),), hint="h", target="t")
    NotFoundError("no tool 'x'", candidates=("y",), request_id="r1")
    RateLimitedError("slow down", retry_after=1.5, retryable=False)
    CallTimeoutError("waited for a worker", limit=2.0, started=False)
    InvalidRequestError("bad", hnt="x")  # type: ignore[call-arg]
    CallTimeoutError("slow", limit="2")  # type: ignore[arg-type]
